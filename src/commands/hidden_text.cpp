#include "commands/hidden_text.h"

#include <algorithm>
#include <array>
#include <cstdint>

#include "util/utf8.h"

namespace forgehand::commands {
namespace {

constexpr std::size_t kMaxPreviews = 3;
constexpr std::size_t kPreviewChars = 60;
constexpr std::size_t kKinds = static_cast<std::size_t>(HiddenKind::invalid_utf8) + 1;

using utf8::decode;
using utf8::Decoded;

enum class CharClass {
  visible,
  whitespace,
  control,
  bidi,
  tag,
  join_control,           // ZWNJ, ZWJ
  presentation_selector,  // U+FE0E text, U+FE0F emoji
  other_zero_width,
};

CharClass classify(char32_t cp) {
  if (cp == '\t' || cp == '\n' || cp == '\r' || cp == ' ') return CharClass::whitespace;
  if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) return CharClass::control;
  if (cp < 0xAD) return CharClass::visible;
  if (cp == 0x200C || cp == 0x200D) return CharClass::join_control;
  if (cp == 0xFE0E || cp == 0xFE0F) return CharClass::presentation_selector;
  if (cp == 0x061C || cp == 0x200E || cp == 0x200F || (cp >= 0x202A && cp <= 0x202E) ||
      (cp >= 0x2066 && cp <= 0x2069)) {
    return CharClass::bidi;
  }
  if (cp >= 0xE0000 && cp <= 0xE007F) return CharClass::tag;
  // The rest of Unicode's Default_Ignorable_Code_Point: rendered as nothing.
  if (cp == 0xAD || cp == 0x034F || cp == 0x115F || cp == 0x1160 || cp == 0x17B4 || cp == 0x17B5 ||
      (cp >= 0x180B && cp <= 0x180F) || cp == 0x200B || (cp >= 0x2060 && cp <= 0x2065) ||
      (cp >= 0x206A && cp <= 0x206F) || cp == 0x3164 || (cp >= 0xFE00 && cp <= 0xFE0D) ||
      cp == 0xFEFF || cp == 0xFFA0 || (cp >= 0xFFF0 && cp <= 0xFFF8) ||
      (cp >= 0x1BCA0 && cp <= 0x1BCA3) || (cp >= 0x1D173 && cp <= 0x1D17A) ||
      (cp >= 0xE0080 && cp <= 0xE0FFF)) {
    return CharClass::other_zero_width;
  }
  return CharClass::visible;
}

HiddenKind kind_of(CharClass c) {
  switch (c) {
    case CharClass::control:
      return HiddenKind::control_character;
    case CharClass::bidi:
      return HiddenKind::bidi_control;
    case CharClass::tag:
      return HiddenKind::tag_character;
    default:
      return HiddenKind::zero_width;
  }
}

enum class Mode { remove, mark };

// Builds the output and the report as the passes take pieces out.
class Collector {
 public:
  explicit Collector(Mode mode) : mode_(mode) {
    for (std::size_t i = 0; i < kKinds; ++i) removals_[i].kind = static_cast<HiddenKind>(i);
  }

  // `piece` was removed from the text and `out` stands in for it.
  void removed(HiddenKind kind, std::string_view piece, std::string& out) {
    ++removals_[static_cast<std::size_t>(kind)].count;
    if (mode_ == Mode::remove) return;
    out += kHiddenMark;
    for (char c : piece) {
      if (c == '\n') {
        out += '\n';
        out += kHiddenMark;
      }
    }
  }

  // Bytes that are not UTF-8 become U+FFFD in both modes: a visible sign that something was
  // there, and the same mark a parser already treats as not plain.
  void replaced(HiddenKind kind, std::string& out) {
    ++removals_[static_cast<std::size_t>(kind)].count;
    out += kHiddenMark;
  }

  void preview(HiddenKind kind, std::string_view content) {
    auto& previews = removals_[static_cast<std::size_t>(kind)].previews;
    if (previews.size() < kMaxPreviews) previews.push_back(safe_preview(content, kPreviewChars));
  }

  std::vector<Removal> report() && {
    std::vector<Removal> found;
    for (Removal& removal : removals_) {
      if (removal.count > 0) found.push_back(std::move(removal));
    }
    return found;
  }

 private:
  Mode mode_;
  std::array<Removal, kKinds> removals_;
};

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// Finds ASCII `needle` (lower case) in `text` ignoring ASCII case.
std::size_t ifind(std::string_view text, std::string_view needle, std::size_t from) {
  if (needle.size() > text.size()) return std::string_view::npos;
  for (std::size_t i = from; i + needle.size() <= text.size(); ++i) {
    std::size_t k = 0;
    while (k < needle.size() && ascii_lower(text[i + k]) == needle[k]) ++k;
    if (k == needle.size()) return i;
  }
  return std::string_view::npos;
}

bool is_html_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }

std::string remove_comments(std::string_view in, Collector& collector) {
  std::string out;
  out.reserve(in.size());
  std::size_t pos = 0;
  for (std::size_t start; (start = in.find("<!--", pos)) != std::string_view::npos;) {
    out.append(in.substr(pos, start - pos));
    std::size_t inner = start + 4;
    std::size_t inner_end, end;
    // HTML and CommonMark 0.31 also end a comment at <!--> and <!--->.
    if (in.substr(inner).starts_with(">")) {
      inner_end = inner, end = inner + 1;
    } else if (in.substr(inner).starts_with("->")) {
      inner_end = inner, end = inner + 2;
    } else {
      // Only -->, not HTML's --!>: Markdown renderers end a comment at the first -->, and ending
      // earlier than they do would leave hidden text in.
      std::size_t close = in.find("-->", inner);
      inner_end = close == std::string_view::npos ? in.size() : close;
      end = close == std::string_view::npos ? in.size() : close + 3;
    }
    collector.preview(HiddenKind::html_comment, in.substr(inner, inner_end - inner));
    collector.removed(HiddenKind::html_comment, in.substr(start, end - start), out);
    pos = end;
  }
  out.append(in.substr(pos));
  return out;
}

// An opening <details> tag read from just after its name; `end` is past its '>' or npos when
// the tag never closes.
struct DetailsTag {
  bool open = false;
  std::size_t end = std::string_view::npos;
};

DetailsTag read_details_tag(std::string_view s, std::size_t pos) {
  DetailsTag tag;
  while (pos < s.size()) {
    if (s[pos] == '>') {
      tag.end = pos + 1;
      return tag;
    }
    if (is_html_space(s[pos]) || s[pos] == '/' || s[pos] == '=') {
      ++pos;
      continue;
    }
    std::size_t name = pos;
    while (pos < s.size() && !is_html_space(s[pos]) && s[pos] != '/' && s[pos] != '>' &&
           s[pos] != '=') {
      ++pos;
    }
    if (pos - name == 4 && ifind(s.substr(name, 4), "open", 0) == 0) tag.open = true;
    std::size_t next = pos;
    while (next < s.size() && is_html_space(s[next])) ++next;
    if (next >= s.size() || s[next] != '=') continue;
    ++next;
    while (next < s.size() && is_html_space(s[next])) ++next;
    if (next < s.size() && (s[next] == '"' || s[next] == '\'')) {
      // A quoted value may hold '>' and "open".
      std::size_t close = s.find(s[next], next + 1);
      pos = close == std::string_view::npos ? s.size() : close + 1;
    } else {
      while (next < s.size() && !is_html_space(s[next]) && s[next] != '>') ++next;
      pos = next;
    }
  }
  return tag;
}

// Whether a "<details" found at `pos` is the tag and not a longer name like <detailsx>.
bool is_details_tag(std::string_view s, std::size_t pos) {
  std::size_t after = pos + 8;
  return after >= s.size() || is_html_space(s[after]) || s[after] == '>' || s[after] == '/';
}

std::string remove_collapsed_details(std::string_view in, Collector& collector) {
  std::string out;
  out.reserve(in.size());
  std::size_t pos = 0;
  for (std::size_t start; (start = ifind(in, "<details", pos)) != std::string_view::npos;) {
    out.append(in.substr(pos, start - pos));
    if (!is_details_tag(in, start)) {
      out.append(in.substr(start, 8));
      pos = start + 8;
      continue;
    }
    DetailsTag tag = read_details_tag(in, start + 8);
    if (tag.open && tag.end != std::string_view::npos) {
      // Shown expanded; a collapsed <details> nested inside is still found by the loop.
      out.append(in.substr(start, tag.end - start));
      pos = tag.end;
      continue;
    }
    // Everything to the matching </details> is hidden, nested blocks included; a browser
    // hides the rest of the comment when it never closes, and so do we. A tag that never
    // reaches its '>' swallows the rest of the comment in a browser too.
    std::size_t inner = std::min(tag.end, in.size());
    std::size_t inner_end = in.size(), end = in.size();
    // Two cursors that only move forward keep this linear however the tags nest.
    std::size_t open = ifind(in, "<details", inner), close = ifind(in, "</details", inner);
    for (std::size_t depth = 1; close != std::string_view::npos;) {
      if (open < close) {
        if (is_details_tag(in, open)) ++depth;
        open = ifind(in, "<details", open + 8);
        continue;
      }
      if (--depth == 0) {
        inner_end = close;
        std::size_t gt = in.find('>', close + 9);
        end = gt == std::string_view::npos ? in.size() : gt + 1;
        break;
      }
      close = ifind(in, "</details", close + 9);
    }
    collector.preview(HiddenKind::collapsed_details, in.substr(inner, inner_end - inner));
    collector.removed(HiddenKind::collapsed_details, in.substr(start, end - start), out);
    pos = end;
  }
  out.append(in.substr(pos));
  return out;
}

// Bytes of the tag sequence of a subdivision flag (England, Scotland, Wales: U+1F3F4, tag
// digits and lower-case letters, U+E007F) starting at `pos`, or 0 when there is none.
std::size_t flag_tags_length(std::string_view s, std::size_t pos) {
  std::size_t at = pos;
  while (at < s.size()) {
    Decoded d = decode(s, at);
    if (!d.valid) return 0;
    if (d.cp == 0xE007F) return at > pos ? at + d.length - pos : 0;
    bool tag_alnum = (d.cp >= 0xE0030 && d.cp <= 0xE0039) || (d.cp >= 0xE0061 && d.cp <= 0xE007A);
    if (!tag_alnum) return 0;
    at += d.length;
  }
  return 0;
}

std::string remove_characters(std::string_view in, Collector& collector) {
  std::string out;
  out.reserve(in.size());
  // What the last kept character allows next: a presentation selector after a visible one, a
  // joiner between two non-ASCII ones. Anything removed in between resets both, so selectors
  // and joiners cannot be stacked to carry data.
  bool after_visible = false;
  bool after_non_ascii = false;
  std::string tag_run;  // the ASCII a run of tag characters spells
  auto end_tag_run = [&] {
    if (!tag_run.empty()) collector.preview(HiddenKind::tag_character, tag_run);
    tag_run.clear();
  };

  for (std::size_t pos = 0; pos < in.size();) {
    Decoded d = decode(in, pos);
    if (!d.valid) {
      end_tag_run();
      collector.replaced(HiddenKind::invalid_utf8, out);
      after_visible = after_non_ascii = false;
      pos += 1;
      continue;
    }
    std::string_view bytes = in.substr(pos, d.length);
    CharClass c = classify(d.cp);
    bool keep = c == CharClass::visible || c == CharClass::whitespace;
    if (c == CharClass::presentation_selector) keep = after_visible;
    if (c == CharClass::join_control && after_non_ascii && pos + d.length < in.size()) {
      Decoded next = decode(in, pos + d.length);
      keep = next.valid && next.cp >= 0x80 && classify(next.cp) == CharClass::visible;
    }
    if (c != CharClass::tag) end_tag_run();
    if (keep) {
      out.append(bytes);
      // A selector keeps what its base allows, so ZWJ sequences like U+2764 U+FE0F U+200D
      // U+1F525 survive.
      if (c != CharClass::presentation_selector)
        after_non_ascii = c == CharClass::visible && d.cp >= 0x80;
      after_visible = c == CharClass::visible;
      pos += d.length;
      if (d.cp == 0x1F3F4) {
        std::size_t flag = flag_tags_length(in, pos);
        out.append(in.substr(pos, flag));
        pos += flag;
      }
      continue;
    }
    if (c == CharClass::tag && d.cp >= 0xE0020 && d.cp <= 0xE007E) {
      tag_run += static_cast<char>(d.cp - 0xE0000);
    }
    collector.removed(kind_of(c), bytes, out);
    after_visible = after_non_ascii = false;
    pos += d.length;
  }
  end_tag_run();
  return out;
}

CleanText clean(std::string_view text, Mode mode) {
  Collector collector(mode);
  // Comments first, so a </details> or <details> inside a comment counts for nothing. Markup
  // before characters, so "--<U+200B>>" cannot end a comment that a renderer keeps open.
  std::string without_comments = remove_comments(text, collector);
  std::string without_details = remove_collapsed_details(without_comments, collector);
  std::string result = remove_characters(without_details, collector);
  return CleanText{std::move(result), std::move(collector).report()};
}

void append_escape(std::string& out, std::string_view prefix, std::uint32_t value, int digits) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  out += prefix;
  out += '{';
  for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) out += kHex[(value >> shift) & 0xF];
  out += '}';
}

}  // namespace

std::string_view to_string(HiddenKind kind) {
  switch (kind) {
    case HiddenKind::html_comment:
      return "html_comment";
    case HiddenKind::collapsed_details:
      return "collapsed_details";
    case HiddenKind::tag_character:
      return "tag_character";
    case HiddenKind::bidi_control:
      return "bidi_control";
    case HiddenKind::zero_width:
      return "zero_width";
    case HiddenKind::control_character:
      return "control_character";
    case HiddenKind::invalid_utf8:
      return "invalid_utf8";
  }
  return "unknown";
}

CleanText remove_hidden_text(std::string_view text) { return clean(text, Mode::remove); }

std::string mark_hidden_text(std::string_view text) { return clean(text, Mode::mark).text; }

std::string safe_preview(std::string_view text, std::size_t max_chars) {
  std::string out;
  std::size_t chars = 0;
  bool space = false;
  for (std::size_t pos = 0; pos < text.size();) {
    Decoded d = decode(text, pos);
    std::string piece;
    std::size_t piece_chars = 1;
    if (!d.valid) {
      append_escape(piece, "\\x", static_cast<unsigned char>(text[pos]), 2);
      piece_chars = piece.size();
    } else if (classify(d.cp) == CharClass::whitespace) {
      space = !out.empty();
      pos += d.length;
      continue;
    } else if (d.cp == '`') {
      piece = "'";
    } else if (classify(d.cp) != CharClass::visible) {
      append_escape(piece, "\\u", d.cp, d.cp > 0xFFFF ? 5 : 4);
      piece_chars = piece.size();
    } else {
      piece = text.substr(pos, d.length);
    }
    pos += d.valid ? d.length : 1;
    if (space) {
      piece.insert(0, " ");
      ++piece_chars;
      space = false;
    }
    if (chars + piece_chars > max_chars) {
      out += "…";
      return out;
    }
    out += piece;
    chars += piece_chars;
  }
  return out;
}

}  // namespace forgehand::commands
