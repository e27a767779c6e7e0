#pragma once
// Takes out of a comment what its readers do not see but a model would read: HTML comments,
// collapsed <details>, invisible and bidi characters, bytes that are not UTF-8; and says what it
// took, so the reply can show it. Pure functions.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace forgehand::commands {

enum class HiddenKind {
  html_comment,       // <!-- ... -->, and an unterminated <!-- to the end
  collapsed_details,  // <details> without `open`, its <summary> included; unterminated: to the end
  tag_character,      // U+E0000..U+E007F: invisible ASCII ("ASCII smuggling")
  bidi_control,       // U+061C, U+200E, U+200F, U+202A..U+202E, U+2066..U+2069
  zero_width,         // other default-ignorable code points: U+200B..U+200D, U+2060..U+2064,
                      // U+FEFF, U+180E, U+00AD, variation selectors, Hangul fillers, ...
  control_character,  // C0 and C1 controls other than tab, line feed and carriage return
  invalid_utf8,       // bytes that are not UTF-8, each replaced by U+FFFD
};

std::string_view to_string(HiddenKind kind);

struct Removal {
  HiddenKind kind = HiddenKind::html_comment;
  std::size_t count = 0;  // comments or blocks; characters; invalid bytes
  // html_comment, collapsed_details: the first few contents; tag_character: the first few runs
  // decoded to the ASCII they hide. Each made by safe_preview.
  std::vector<std::string> previews;
};

struct CleanText {
  std::string text;
  std::vector<Removal> removed;  // one entry per kind found, in HiddenKind order
};

// Removes hidden text. Markup is removed wherever it appears, inside Markdown code too: whether
// `<!--` is code depends on context a renderer sees (raw HTML blocks, list nesting) and a
// mismatch would hand the model text nobody saw; the reply lists each removal instead.
// Kept, because they are part of ordinary writing: ZWJ/ZWNJ between two non-ASCII visible
// characters (emoji sequences, Persian, Indic scripts), one U+FE0E/U+FE0F right after a visible
// character (emoji presentation), and a flag's tag sequence (U+1F3F4, tag letters, U+E007F).
CleanText remove_hidden_text(std::string_view text);

// For parsers: like remove_hidden_text, but every removed piece leaves kHiddenMark on each line
// it touched, and line breaks stay. Line i of the result is line i of `text` up to its first
// mark, so a parser can tell plain text from text where something was hidden.
std::string mark_hidden_text(std::string_view text);
inline constexpr std::string_view kHiddenMark = "\xEF\xBF\xBD";  // U+FFFD

// `text` as one line that is safe inside a Markdown code span in a reply: whitespace runs become
// one space, backticks become ', invisible characters and controls become \u{XXXX}, bytes that
// are not UTF-8 become \x{XX}; cut to `max_chars` code points with "…".
std::string safe_preview(std::string_view text, std::size_t max_chars);

}  // namespace forgehand::commands
