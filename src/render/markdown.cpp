#include "render/markdown.h"

#include <algorithm>
#include <array>
#include <cstdint>

#include "util/utf8.h"

namespace forgehand::render {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
// A zero-width space as an entity: the source stays ASCII and visible, the rendered text reads
// the same, and no forge's mention or closing-keyword pattern matches across it.
constexpr std::string_view kBreak = "&#8203;";

using utf8::decode;
using utf8::Decoded;

bool is_bidi_control(char32_t cp) {
  return cp == 0x061C || cp == 0x200E || cp == 0x200F || (cp >= 0x202A && cp <= 0x202E) ||
         (cp >= 0x2066 && cp <= 0x2069);
}

bool is_control(char32_t cp) {
  return (cp < 0x20 && cp != '\t' && cp != '\n') || (cp >= 0x7F && cp <= 0x9F);
}

bool is_ascii_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool is_ascii_punct(char c) {
  return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') ||
         (c >= '{' && c <= '~');
}

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// A mention as GitHub, GitLab and Gitea find one: `@` and a name character, not right after a
// letter or digit (`me@example.com` is an address). Anything else before it counts, to be safe.
bool mention_at(std::string_view text, std::size_t pos) {
  if (text[pos] != '@' || pos + 1 >= text.size()) return false;
  char next = text[pos + 1];
  if (!is_ascii_alnum(next) && next != '_') return false;
  return pos == 0 || !is_ascii_alnum(text[pos - 1]);
}

// GitHub's, GitLab's and Gitea's closing keywords, longest first so "fixes" is not read as "fix".
constexpr std::array<std::string_view, 16> kClosingKeywords = {
    "implementing", "implemented", "implements", "resolving", "implement", "resolved",
    "resolves",     "closing",     "resolve",    "closes",    "closed",    "fixing",
    "fixes",        "close",       "fixed",      "fix"};

// Where the closing keyword starting at `pos` ends, when a reference follows it (`Fixes #1`,
// `closes: group/project#2`, `Resolves https://...`, GitLab's `Closes issue #3`); npos otherwise.
std::size_t closing_keyword_end(std::string_view text, std::size_t pos) {
  if (pos > 0 && is_ascii_alnum(text[pos - 1])) return std::string_view::npos;
  for (std::string_view keyword : kClosingKeywords) {
    if (pos + keyword.size() > text.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < keyword.size() && same; ++i) {
      same = ascii_lower(text[pos + i]) == keyword[i];
    }
    std::size_t end = pos + keyword.size();
    if (!same || (end < text.size() && is_ascii_alnum(text[end]))) continue;
    std::size_t next = end;
    if (next < text.size() && text[next] == ':') ++next;
    std::size_t spaces = next;
    while (next < text.size() && (text[next] == ' ' || text[next] == '\t')) ++next;
    if (next == spaces) return std::string_view::npos;
    std::size_t token_end = next;
    while (token_end < text.size() && text[token_end] != ' ' && text[token_end] != '\t' &&
           text[token_end] != '\n') {
      ++token_end;
    }
    std::string token;
    for (char c : text.substr(next, token_end - next)) token.push_back(ascii_lower(c));
    bool reference = token.find('#') != std::string::npos || token.starts_with("http") ||
                     token == "issue" || token == "issues";
    return reference ? end : std::string_view::npos;
  }
  return std::string_view::npos;
}

// Appends text[pos] to `out` with mentions and closing keywords neutralized; returns how many
// bytes it consumed. Characters needing no change are left to the caller (returns 0).
std::size_t append_neutralized(std::string& out, std::string_view text, std::size_t pos) {
  if (mention_at(text, pos)) {
    out += '@';
    out += kBreak;
    return 1;
  }
  if (is_ascii_alnum(text[pos])) {
    std::size_t end = closing_keyword_end(text, pos);
    if (end != std::string_view::npos) {
      out.append(text.substr(pos, end - pos));
      out += kBreak;
      return end - pos;
    }
  }
  return 0;
}

std::size_t backtick_run(std::string_view line, std::size_t pos) {
  std::size_t end = pos;
  while (end < line.size() && line[end] == '`') ++end;
  return end - pos;
}

// The position of the next run of exactly `length` backticks at or after `from`; npos if none.
std::size_t closing_run(std::string_view line, std::size_t from, std::size_t length) {
  for (std::size_t pos = from; pos < line.size();) {
    if (line[pos] != '`') {
      ++pos;
      continue;
    }
    std::size_t run = backtick_run(line, pos);
    if (run == length) return pos;
    pos += run;
  }
  return std::string_view::npos;
}

std::size_t leading_spaces(std::string_view line) {
  std::size_t n = 0;
  while (n < line.size() && line[n] == ' ') ++n;
  return n;
}

struct Fence {
  char marker = 0;  // 0: not in a fence
  std::size_t length = 0;
};

// A fence opener at column 0: the only place one is surely a top-level block. An indented fence
// may belong to a list item or quote and end with it, which this scanner cannot follow.
bool opens_fence(std::string_view line, Fence& fence) {
  if (line.empty() || (line[0] != '`' && line[0] != '~')) return false;
  std::size_t run = 0;
  while (run < line.size() && line[run] == line[0]) ++run;
  if (run < 3) return false;
  if (line[0] == '`' && line.find('`', run) != std::string_view::npos) return false;
  fence = {line[0], run};
  return true;
}

bool closes_fence(std::string_view line, const Fence& fence) {
  std::size_t indent = leading_spaces(line);
  if (indent > 3) return false;
  std::size_t run = indent;
  while (run < line.size() && line[run] == fence.marker) ++run;
  if (run - indent < fence.length) return false;
  return line.find_first_not_of(" \t", run) == std::string_view::npos;
}

// One line outside fenced code. Code spans are kept verbatim only when they are surely code spans:
// opened and closed on this line, no backtick left open earlier in the paragraph (a span could run
// across lines), and no `|` inside (a table splits cells at `|` before it finds spans).
// `pending_backtick` carries an unmatched backtick to the following lines of the paragraph.
void sanitize_line(std::string& out, std::string_view line, bool& pending_backtick) {
  if (line.find_first_not_of(" \t") == std::string_view::npos) pending_backtick = false;
  std::size_t first = line.find_first_not_of(" \t");
  for (std::size_t pos = 0; pos < line.size();) {
    char c = line[pos];
    // GitLab runs quick actions (`/merge`, `/close`) found at the start of a line of a note or a
    // description, even one created through the API; escaped, the line reads the same.
    if (pos == first && c == '/') {
      out += "\\/";
      ++pos;
      continue;
    }
    if (c == '\\' && pos + 1 < line.size() && is_ascii_punct(line[pos + 1]) &&
        line[pos + 1] != '@') {
      out.append(line.substr(pos, 2));  // a backslash escape: the character is literal text
      pos += 2;
      continue;
    }
    if (c == '`') {
      std::size_t run = backtick_run(line, pos);
      if (!pending_backtick) {
        std::size_t close = closing_run(line, pos + run, run);
        if (close != std::string_view::npos &&
            line.substr(pos, close - pos).find('|') == std::string_view::npos) {
          out.append(line.substr(pos, close + run - pos));
          pos = close + run;
          continue;
        }
      }
      pending_backtick = true;
      out.append(run, '`');
      pos += run;
      continue;
    }
    if (c == '<') {
      out += "&lt;";
      ++pos;
      continue;
    }
    if (c == '&') {
      out += "&amp;";  // `&#64;` would render as @ and ping
      ++pos;
      continue;
    }
    if (std::size_t used = append_neutralized(out, line, pos)) {
      pos += used;
      continue;
    }
    out += c;
    ++pos;
  }
}

}  // namespace

std::string clean_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t pos = 0; pos < text.size();) {
    if (text[pos] == '\r') {
      out += '\n';
      pos += (pos + 1 < text.size() && text[pos + 1] == '\n') ? 2 : 1;
      continue;
    }
    Decoded d = decode(text, pos);
    if (!d.valid) {
      out += kReplacement;
      ++pos;
      continue;
    }
    if (!is_control(d.cp) && !is_bidi_control(d.cp)) out.append(text.substr(pos, d.length));
    pos += d.length;
  }
  return out;
}

std::string escape_text(std::string_view text) {
  std::string clean = clean_text(text);
  std::replace(clean.begin(), clean.end(), '\n', ' ');
  std::replace(clean.begin(), clean.end(), '\t', ' ');

  // A character that would start a block (heading, list, setext underline, GitLab quick action)
  // where the template puts the text at the start of a line. `#12` is a reference, not a heading.
  std::size_t block_start = std::string::npos;
  std::size_t first = clean.find_first_not_of(' ');
  if (first != std::string::npos) {
    char c = clean[first];
    std::size_t digits = first;
    while (digits < clean.size() && clean[digits] >= '0' && clean[digits] <= '9') ++digits;
    std::size_t hashes = clean.find_first_not_of('#', first);
    bool heading = c == '#' && (hashes == std::string::npos || clean[hashes] == ' ');
    if (heading || c == '-' || c == '+' || c == '=' || c == '/') {
      block_start = first;
    } else if (digits > first && digits < clean.size() &&
               (clean[digits] == '.' || clean[digits] == ')') &&
               (digits + 1 == clean.size() || clean[digits + 1] == ' ')) {
      block_start = digits;  // "1. " starts a list; "4.1575" does not
    }
  }

  std::string out;
  out.reserve(clean.size() + clean.size() / 8);
  for (std::size_t pos = 0; pos < clean.size();) {
    char c = clean[pos];
    if (pos == block_start) out += '\\';
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\\':
      case '`':
      case '*':
      case '[':
      case ']':
      case '|':
      case '~':
        out += '\\';
        out += c;
        break;
      default:
        if (std::size_t used = append_neutralized(out, clean, pos)) {
          pos += used;
          continue;
        }
        out += c;
    }
    ++pos;
  }
  return out;
}

std::string sanitize_markdown(std::string_view markdown) {
  std::string text = clean_text(markdown);
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  Fence fence;
  // Once a fence-like line could not be followed (indented, in a list item or quote, inline), the
  // rest is treated as text: escaping code shows entities, while trusting a fence that is not one
  // would let raw HTML and mentions through.
  bool fences_uncertain = false;
  bool pending_backtick = false;
  for (std::size_t start = 0; start <= text.size();) {
    std::size_t end = text.find('\n', start);
    bool last = end == std::string::npos;
    if (last) end = text.size();
    std::string_view line = std::string_view(text).substr(start, end - start);
    if (fence.marker != 0) {
      if (closes_fence(line, fence)) fence = {};
      out.append(line);
    } else if (!fences_uncertain && opens_fence(line, fence)) {
      pending_backtick = false;
      out.append(line);
    } else {
      if (line.find("```") != std::string_view::npos ||
          line.find("~~~") != std::string_view::npos) {
        fences_uncertain = true;
      }
      sanitize_line(out, line, pending_backtick);
    }
    if (last) break;
    out += '\n';
    start = end + 1;
  }
  if (fence.marker != 0) {
    if (!out.empty() && out.back() != '\n') out += '\n';
    out.append(fence.length, fence.marker);
  }
  return out;
}

std::string collapse_blank_lines(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  Fence fence;
  bool blank_before = true;  // drops blank lines at the start too
  for (std::size_t start = 0; start < text.size();) {
    std::size_t end = text.find('\n', start);
    std::size_t next = end == std::string_view::npos ? text.size() : end + 1;
    std::string_view line =
        text.substr(start, (end == std::string_view::npos ? next : end) - start);
    bool blank = line.find_first_not_of(" \t") == std::string_view::npos;
    if (fence.marker != 0) {
      if (closes_fence(line, fence)) fence = {};
    } else if (blank && blank_before) {
      start = next;
      continue;
    } else {
      opens_fence(line, fence);
    }
    blank_before = blank && fence.marker == 0;
    out.append(text.substr(start, next - start));
    start = next;
  }
  return out;
}

std::string code_block(std::string_view text) {
  std::string body = clean_text(text);
  std::size_t longest = 0;
  for (std::size_t pos = 0; pos < body.size();) {
    std::size_t run = backtick_run(body, pos);
    longest = std::max(longest, run);
    pos += std::max<std::size_t>(run, 1);
  }
  std::string fence(std::max<std::size_t>(3, longest + 1), '`');
  std::string out = fence + "\n" + body;
  if (!body.empty() && body.back() != '\n') out += '\n';
  return out + fence;
}

std::string cut_text(std::string_view text, std::size_t max_bytes, Keep keep) {
  if (text.size() <= max_bytes) return std::string(text);
  auto continuation = [&](std::size_t pos) {
    return (static_cast<unsigned char>(text[pos]) & 0xC0) == 0x80;
  };
  std::string marker =
      keep == Keep::start ? "\n… " + std::string(kCutMarker) : std::string(kCutMarker) + " …\n";
  std::size_t room = max_bytes > marker.size() ? max_bytes - marker.size() : 0;
  if (keep == Keep::start) {
    std::size_t end = room;
    while (end > 0 && continuation(end)) --end;
    return std::string(text.substr(0, end)) + marker;
  }
  std::size_t begin = text.size() - room;
  while (begin < text.size() && continuation(begin)) ++begin;
  return marker + std::string(text.substr(begin));
}

}  // namespace forgehand::render
