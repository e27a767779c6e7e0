#include "commands/command_parser.h"

#include <algorithm>
#include <map>
#include <optional>

#include "util/text.h"

namespace forgehand::commands {
namespace {

constexpr std::string_view kVerbs[] = {"fix", "retry", "cancel", "status", "explain", "help"};
constexpr std::string_view kRetryOptions[] = {"--route"};
constexpr std::size_t kMaxRouteName = 64;
constexpr std::size_t kTokenPreview = 40;
constexpr std::size_t npos = std::string_view::npos;

// A line without its line break (LF or CRLF), as offsets into the text it came from.
struct Line {
  std::size_t begin = 0;
  std::size_t end = 0;
};

std::vector<Line> split_lines(std::string_view text) {
  std::vector<Line> lines;
  std::size_t begin = 0;
  while (true) {
    std::size_t newline = text.find('\n', begin);
    std::size_t end = newline == npos ? text.size() : newline;
    lines.push_back({begin, end > begin && text[end - 1] == '\r' ? end - 1 : end});
    if (newline == npos) return lines;
    begin = newline + 1;
  }
}

std::string_view line_text(std::string_view text, const Line& line) {
  return text.substr(line.begin, line.end - line.begin);
}

// Bytes of the whitespace character at `pos`, 0 when there is none. Beyond space and tab, the
// Unicode space separators count: they show as spaces (a no-break space typed by accident, the
// ideographic space of CJK input methods), so a reader sees a separate word.
std::size_t space_at(std::string_view s, std::size_t pos) {
  auto at = [&](std::size_t i) -> unsigned char {
    return i < s.size() ? static_cast<unsigned char>(s[i]) : 0;
  };
  unsigned char b0 = at(pos), b1 = at(pos + 1), b2 = at(pos + 2);
  if (b0 == ' ' || b0 == '\t') return 1;
  if (b0 == 0xC2 && b1 == 0xA0) return 2;                                        // U+00A0
  if (b0 == 0xE1 && b1 == 0x9A && b2 == 0x80) return 3;                          // U+1680
  if (b0 == 0xE2 && b1 == 0x80 && ((b2 >= 0x80 && b2 <= 0x8A) || b2 == 0xAF)) {  // U+2000..
    return 3;
  }
  if (b0 == 0xE2 && b1 == 0x81 && b2 == 0x9F) return 3;  // U+205F
  if (b0 == 0xE3 && b1 == 0x80 && b2 == 0x80) return 3;  // U+3000
  return 0;
}

std::size_t skip_spaces(std::string_view s, std::size_t pos) {
  while (pos < s.size()) {
    std::size_t n = space_at(s, pos);
    if (n == 0) break;
    pos += n;
  }
  return pos;
}

std::size_t token_end(std::string_view s, std::size_t pos) {
  while (pos < s.size() && space_at(s, pos) == 0) ++pos;
  return pos;
}

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), ascii_lower);
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && lower(a) == lower(b);
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// ---- Where a command may start: outside code, quotes and <pre>-like HTML blocks. ----
// A Markdown approximation (CommonMark as GitHub, GitLab and Gitea render it) that errs toward
// "not a command": a command shown as code or quoted text must never run.

struct Indent {
  std::size_t columns = 0;
  std::size_t bytes = 0;
};

// Spaces and tabs only, as Markdown counts indentation; a tab runs to the next multiple of 4.
Indent indent_of(std::string_view line, std::size_t from = 0, std::size_t column = 0) {
  Indent indent{column, from};
  for (; indent.bytes < line.size(); ++indent.bytes) {
    if (line[indent.bytes] == ' ') {
      ++indent.columns;
    } else if (line[indent.bytes] == '\t') {
      indent.columns += 4 - indent.columns % 4;
    } else {
      break;
    }
  }
  return indent;
}

// Bytes of a list marker ("-", "*", "+", "1.", "1)") and the space after it, or 0.
std::size_t list_marker_length(std::string_view rest) {
  std::size_t n = 0;
  if (!rest.empty() && (rest[0] == '-' || rest[0] == '*' || rest[0] == '+')) {
    n = 1;
  } else {
    while (n < rest.size() && n < 9 && is_digit(rest[n])) ++n;
    if (n == 0 || n >= rest.size() || (rest[n] != '.' && rest[n] != ')')) return 0;
    ++n;
  }
  if (n < rest.size() && rest[n] != ' ' && rest[n] != '\t') return 0;
  return n;
}

struct Fence {
  char marker = '`';
  std::size_t length = 0;
  std::size_t content_column = 0;  // column of a list item's content, 0 at top level
};

// A fence opening on `line`, also behind list markers ("- ```"), since GitHub shows those as
// code too.
std::optional<Fence> open_fence(std::string_view line) {
  Indent indent = indent_of(line);
  std::size_t content_column = 0;
  while (indent.columns - content_column < 4 && indent.bytes < line.size()) {
    std::size_t marker = list_marker_length(line.substr(indent.bytes));
    if (marker == 0) break;
    content_column = indent.columns + marker;
    indent = indent_of(line, indent.bytes + marker, content_column);
  }
  if (indent.columns - content_column >= 4 || indent.bytes >= line.size()) return std::nullopt;
  char marker = line[indent.bytes];
  if (marker != '`' && marker != '~') return std::nullopt;
  std::size_t length = 0;
  while (indent.bytes + length < line.size() && line[indent.bytes + length] == marker) ++length;
  if (length < 3) return std::nullopt;
  // ```x``` on one line is a code span, not a fence.
  if (marker == '`' && line.find('`', indent.bytes + length) != npos) return std::nullopt;
  return Fence{marker, length, content_column};
}

bool closes_fence(const Fence& fence, std::string_view line) {
  Indent indent = indent_of(line);
  if (indent.columns > fence.content_column + 3) return false;
  std::size_t length = 0;
  while (indent.bytes + length < line.size() && line[indent.bytes + length] == fence.marker) {
    ++length;
  }
  return length >= fence.length && indent_of(line, indent.bytes + length).bytes == line.size();
}

constexpr std::string_view kPreBlockTags[] = {"pre", "script", "style", "textarea"};

// CommonMark's HTML block of type 1: shown as is (or not at all) up to a line with its end tag.
bool opens_pre_block(std::string_view rest) {
  if (rest.empty() || rest[0] != '<') return false;
  for (std::string_view tag : kPreBlockTags) {
    if (rest.size() < tag.size() + 1 || !iequals(rest.substr(1, tag.size()), tag)) continue;
    std::size_t after = tag.size() + 1;
    if (after == rest.size() || rest[after] == ' ' || rest[after] == '\t' || rest[after] == '>') {
      return true;
    }
  }
  return false;
}

bool closes_pre_block(std::string_view line) {
  std::string lowered = lower(line);
  return std::any_of(std::begin(kPreBlockTags), std::end(kPreBlockTags),
                     [&](auto tag) { return lowered.find("</" + std::string(tag) + ">") != npos; });
}

bool is_heading(std::string_view rest) {
  std::size_t n = 0;
  while (n < rest.size() && rest[n] == '#') ++n;
  return n >= 1 && n <= 6 && (n == rest.size() || rest[n] == ' ' || rest[n] == '\t');
}

bool is_thematic_break(std::string_view rest) {
  char c = rest[0];
  if (c != '-' && c != '*' && c != '_') return false;
  std::size_t count = 0;
  for (char x : rest) {
    if (x == c) {
      ++count;
    } else if (x != ' ' && x != '\t') {
      return false;
    }
  }
  return count >= 3;
}

// Clears `open` for lines of one paragraph [first, last) that start inside a code span opened
// on an earlier line. Runs of backticks pair with the next run of the same length (CommonMark);
// a run after an odd number of backslashes loses its first backtick to the escape.
void hide_code_spans(std::string_view text, const std::vector<Line>& lines, std::size_t first,
                     std::size_t last, std::vector<bool>& open) {
  std::size_t begin = lines[first].begin, end = lines[last - 1].end;
  struct Ticks {
    std::size_t pos, length;
    bool escaped;
  };
  std::vector<Ticks> runs;
  std::map<std::size_t, std::vector<std::size_t>> by_length;  // run indexes, ascending
  for (std::size_t pos = begin; pos < end;) {
    if (text[pos] != '`') {
      ++pos;
      continue;
    }
    std::size_t length = 0;
    while (pos + length < end && text[pos + length] == '`') ++length;
    std::size_t backslashes = 0;
    while (pos - backslashes > begin && text[pos - backslashes - 1] == '\\') ++backslashes;
    by_length[length].push_back(runs.size());
    runs.push_back({pos, length, backslashes % 2 == 1});
    pos += length;
  }
  std::vector<std::pair<std::size_t, std::size_t>> spans;  // [opening backtick, past closing)
  for (std::size_t i = 0; i < runs.size();) {
    std::size_t start = runs[i].pos + (runs[i].escaped ? 1 : 0);
    std::size_t length = runs[i].length - (runs[i].escaped ? 1 : 0);
    auto same = by_length.find(length);
    if (length == 0 || same == by_length.end()) {
      ++i;
      continue;
    }
    auto closer = std::upper_bound(same->second.begin(), same->second.end(), i);
    if (closer == same->second.end()) {
      ++i;
      continue;
    }
    spans.emplace_back(start, runs[*closer].pos + length);
    i = *closer + 1;
  }
  std::size_t span = 0;
  for (std::size_t k = first + 1; k < last; ++k) {
    std::size_t pos = lines[k].begin + indent_of(line_text(text, lines[k])).bytes;
    while (span < spans.size() && spans[span].second <= pos) ++span;
    if (span < spans.size() && spans[span].first < pos) open[k] = false;
  }
}

std::vector<bool> command_lines(std::string_view text, const std::vector<Line>& lines) {
  std::vector<bool> open(lines.size(), false);
  enum class Previous { blank, paragraph, quote, other } previous = Previous::blank;
  std::optional<Fence> fence;
  bool in_pre_block = false;
  std::optional<std::size_t> paragraph;  // first line of the paragraph being read
  auto end_paragraph = [&](std::size_t line) {
    if (paragraph) hide_code_spans(text, lines, *paragraph, line, open);
    paragraph.reset();
  };

  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::string_view line = line_text(text, lines[i]);
    if (fence) {
      if (closes_fence(*fence, line)) fence.reset();
      continue;
    }
    if (in_pre_block) {
      in_pre_block = !closes_pre_block(line);
      continue;
    }
    Indent indent = indent_of(line);
    std::string_view rest = line.substr(indent.bytes);
    if (rest.empty()) {
      end_paragraph(i);
      previous = Previous::blank;
      continue;
    }
    if (indent.columns >= 4 && previous != Previous::paragraph && previous != Previous::quote) {
      end_paragraph(i);  // indented code
      previous = Previous::other;
      continue;
    }
    if (indent.columns < 4) {
      if (rest[0] == '>') {
        end_paragraph(i);
        previous = Previous::quote;
        continue;
      }
      if (std::optional<Fence> opened = open_fence(line)) {
        end_paragraph(i);
        fence = opened;
        previous = Previous::other;
        continue;
      }
      if (opens_pre_block(rest)) {
        end_paragraph(i);
        in_pre_block = !closes_pre_block(rest.substr(1));
        previous = Previous::other;
        continue;
      }
      if (is_heading(rest) || is_thematic_break(rest)) {
        end_paragraph(i);
        previous = Previous::other;
        continue;
      }
      if (list_marker_length(rest) > 0) {
        end_paragraph(i);
        paragraph = i;
        previous = Previous::paragraph;
        continue;
      }
    }
    // A text line right after a quote continues the quoted paragraph ("lazy continuation"):
    // it is shown inside the quote.
    if (previous == Previous::quote) continue;
    if (!paragraph) paragraph = i;
    open[i] = true;
    previous = Previous::paragraph;
  }
  end_paragraph(lines.size());
  return open;
}

// ---- The command on a line. ----

// Offsets in a line of the verb after "@bot" or "/bot"; empty when the mention stands alone.
struct Head {
  std::size_t verb_begin = 0;
  std::size_t verb_end = 0;
};

// Forges compare account names without case, so @Forgehand reaches the same account. The
// mention must be followed by whitespace or the end of the line: @forgehand-bot, @forgehandx
// and @forgehand: are other names or not commands. Only ASCII '@' and '/' count: a fullwidth
// ＠ is no mention on any forge.
std::optional<Head> match_head(std::string_view line, std::string_view bot) {
  std::size_t pos = skip_spaces(line, 0);
  if (pos >= line.size() || (line[pos] != '@' && line[pos] != '/')) return std::nullopt;
  if (!iequals(line.substr(pos + 1, bot.size()), bot)) return std::nullopt;
  pos += 1 + bot.size();
  if (pos < line.size() && space_at(line, pos) == 0) return std::nullopt;
  Head head;
  head.verb_begin = skip_spaces(line, pos);
  head.verb_end = token_end(line, head.verb_begin);
  return head;
}

std::string strip_marks(std::string_view line) {
  std::string out;
  for (std::size_t pos = 0; pos < line.size();) {
    if (line.substr(pos).starts_with(kHiddenMark)) {
      pos += kHiddenMark.size();
    } else {
      out += line[pos++];
    }
  }
  return out;
}

std::string code(std::string_view user_text) {
  return "`" + safe_preview(user_text, kTokenPreview) + "`";
}

Reply help(std::string problem, std::string suggestion = "") {
  return Reply{Verb::help, std::move(problem), std::move(suggestion)};
}

std::vector<std::string_view> tokens_of(std::string_view args) {
  std::vector<std::string_view> tokens;
  for (std::size_t pos = skip_spaces(args, 0); pos < args.size();) {
    std::size_t end = token_end(args, pos);
    tokens.push_back(args.substr(pos, end - pos));
    pos = skip_spaces(args, end);
  }
  return tokens;
}

// Route names as configured: letters, digits, '.', '_', '-', starting with a letter or digit.
bool is_route_name(std::string_view name) {
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c);
  };
  return !name.empty() && name.size() <= kMaxRouteName && alnum(name[0]) &&
         std::all_of(name.begin(), name.end(),
                     [&](char c) { return alnum(c) || c == '.' || c == '_' || c == '-'; });
}

Command parse_retry(std::string_view args) {
  std::vector<std::string_view> tokens = tokens_of(args);
  std::optional<std::string_view> route;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    std::string option = lower(tokens[i]);
    std::optional<std::string_view> value;
    if (option == "--route") {
      if (i + 1 == tokens.size()) return help("`--route` needs a route name: `retry --route NAME`");
      value = tokens[++i];
    } else if (option.starts_with("--route=")) {
      value = tokens[i].substr(8);
    } else if (option.starts_with("-")) {
      std::string name = option.substr(0, option.find('='));
      return help("`retry` has no option " + code(tokens[i]),
                  text::closest_match(name, kRetryOptions).value_or(""));
    } else {
      return help("`retry` takes only `--route NAME`, not " + code(tokens[i]) +
                  "; to change the task, ask with `fix` and instructions");
    }
    if (route) return help("`--route` is given more than once");
    if (!is_route_name(*value)) {
      return help(code(*value) +
                  " is not a route name (letters, digits, '.', '_' and '-', up to 64)");
    }
    route = value;
  }
  return Run{Verb::retry, "", {}, std::string(route.value_or(""))};
}

Command parse_fix(std::string_view raw_instructions) {
  CleanText clean = remove_hidden_text(raw_instructions);
  std::string text;
  text.reserve(clean.text.size());
  for (std::size_t pos = 0; pos < clean.text.size(); ++pos) {
    if (clean.text[pos] == '\r' && pos + 1 < clean.text.size() && clean.text[pos + 1] == '\n') {
      continue;
    }
    text += clean.text[pos];
  }
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  std::size_t first = 0, last = text.size();
  while (first < last && is_space(text[first])) ++first;
  while (last > first && is_space(text[last - 1])) --last;
  text = text.substr(first, last - first);
  if (text.size() > kMaxInstructionBytes) {
    return help("the instructions for `fix` are " + std::to_string(text.size() >> 10) +
                " KiB; the limit is " + std::to_string(kMaxInstructionBytes >> 10) +
                " KiB: put the rest in a file or an issue and point to it");
  }
  return Run{Verb::fix, std::move(text), std::move(clean.removed), ""};
}

}  // namespace

std::string_view to_string(Verb verb) { return kVerbs[static_cast<std::size_t>(verb)]; }

Command parse_command(std::string_view body, std::string_view bot_name) {
  std::string_view bot = bot_name;
  // GitHub: an App's account is "<slug>[bot]", but people mention it as @<slug>.
  if (bot.size() > 5 && iequals(bot.substr(bot.size() - 5), "[bot]")) bot.remove_suffix(5);
  if (bot.empty()) return Ignore{"no bot name is configured"};

  std::string_view raw = body;
  if (raw.size() > kMaxCommentBytes) {
    std::size_t last_newline = raw.substr(0, kMaxCommentBytes).rfind('\n');
    raw = raw.substr(0, last_newline == npos ? 0 : last_newline + 1);
  }
  // The grammar reads the comment with every hidden piece marked, so a command only counts
  // when it is written in plain characters: @forge<U+200B>hand, a command after a zero-width
  // character or inside an HTML comment, or one made by removing hidden text, is not one.
  std::string marked = mark_hidden_text(raw);
  std::vector<Line> lines = split_lines(marked);
  std::vector<bool> open = command_lines(marked, lines);

  std::optional<std::size_t> found;
  std::optional<Head> head;
  for (std::size_t i = 0; i < lines.size() && !found; ++i) {
    if (open[i] && (head = match_head(line_text(marked, lines[i]), bot))) found = i;
  }
  if (!found) {
    for (std::size_t i = 0; i < lines.size(); ++i) {
      if (open[i] && match_head(strip_marks(line_text(marked, lines[i])), bot)) {
        return Ignore{"line " + std::to_string(i + 1) + ": a command for @" + std::string(bot) +
                      " has hidden characters or markup in it"};
      }
    }
    return Ignore{"no line starts with @" + std::string(bot) + " or /" + std::string(bot) +
                  " outside code and quotes"};
  }

  std::string_view line = line_text(marked, lines[*found]);
  std::string_view word = line.substr(head->verb_begin, head->verb_end - head->verb_begin);
  std::string_view args = line.substr(head->verb_end);
  if (word.empty()) return help("");
  std::string verb = lower(word);
  // fix instructions are task text: their hidden parts are removed and reported instead.
  bool arguments_hidden = verb != "fix" && verb != "help" && args.find(kHiddenMark) != npos;
  if (word.find(kHiddenMark) != npos || arguments_hidden) {
    return help("the command has hidden characters in it; type it again");
  }
  if (verb == "fix") {
    // Line i of `marked` equals line i of `raw` up to its first mark, and the head has none.
    std::vector<Line> raw_lines = split_lines(raw);
    std::size_t begin = raw_lines[*found].begin + head->verb_end;
    std::size_t end = raw.size();
    for (std::size_t i = *found + 1; i < lines.size(); ++i) {
      if (open[i] && match_head(line_text(marked, lines[i]), bot)) {
        end = raw_lines[i].begin;
        break;
      }
    }
    return parse_fix(raw.substr(begin, end - begin));
  }
  if (verb == "retry") return parse_retry(args);
  if (verb == "help") return Reply{Verb::help, "", ""};
  for (Verb simple : {Verb::cancel, Verb::status, Verb::explain}) {
    if (verb != to_string(simple)) continue;
    if (skip_spaces(args, 0) < args.size()) {
      return help("`" + verb + "` takes no arguments; write it alone after @" + std::string(bot));
    }
    return Reply{simple, "", ""};
  }
  return help("unknown command " + code(word),
              text::closest_match(verb.substr(0, kTokenPreview), kVerbs).value_or(""));
}

}  // namespace forgehand::commands
