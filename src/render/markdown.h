#pragma once
// Text made safe for the Markdown forgehand posts on every forge: plain text that shows as
// written and cannot become markup, Markdown from people and models that cannot hide or swallow
// what follows it, and neither can ping anyone or close an issue. Pure functions.

#include <cstddef>
#include <string>
#include <string_view>

namespace forgehand::render {

// Valid UTF-8 (a bad byte becomes U+FFFD), line breaks as LF, without control characters other
// than tab and line feed and without bidi controls, which could reorder the text around it.
std::string clean_text(std::string_view text);

// Plain text as Markdown that shows it as written; mustache's escape for `{{name}}`:
// - & < > " become entities;
// - \ ` * [ ] | ~ get a backslash, and so does a leading #, -, +, = or "1." that would start a
//   heading or a list;
// - line breaks become spaces, so the text stays on the template's line;
// - mentions and closing keywords are neutralized (see below).
// Identifiers (logins, routes, models, hosts, session ids) come out unchanged, so a template may
// put them in a code span, where an escape would show.
std::string escape_text(std::string_view text);

// Markdown written by a person or a model (instructions, a runner's summary), made safe to embed:
// cleaned as clean_text does, and outside code spans and fenced code blocks:
// - `&` and `<` become entities, so raw HTML shows as text: it cannot hide anything
//   (`<!--`, `<details>`) or close the comment's own `<details>`;
// - mentions and closing keywords are neutralized;
// an unclosed code fence is closed, so the rest of the comment does not turn into code.
// Other Markdown (emphasis, lists, links, tables) renders as written.
//
// Neutralizing: `@name` (a user, `@org/team`, GitLab's `@all`) becomes `@&#8203;name`, which
// renders as "@name" with a zero-width space that no forge reads as a mention; an address such
// as `me@example.com` stays. A closing keyword followed by a reference (`Fixes #12`,
// `closes group/project#3`, `Resolves https://...`) gets the same space after the keyword, so
// only the `Closes` line forgehand writes itself closes an issue when a pull request merges.
std::string sanitize_markdown(std::string_view markdown);

// `text` with runs of blank lines outside fenced code made one, and none at the start. Markdown
// reads them alike; kainjow leaves a blank line where it skips a section written on lines of its
// own, which this tidies.
std::string collapse_blank_lines(std::string_view text);

// `text` shown verbatim in a fenced code block, with a fence longer than any backtick run inside.
std::string code_block(std::string_view text);

// The cut marker: a shortened text always says so.
inline constexpr std::string_view kCutMarker = "(cut)";

enum class Keep { start, end };

// `text` when it has at most `max_bytes` bytes; otherwise its start (or end: a log's last lines
// matter most) on a character boundary with kCutMarker on the cut side, within `max_bytes`.
std::string cut_text(std::string_view text, std::size_t max_bytes, Keep keep);

}  // namespace forgehand::render
