#include "triage/normalize.h"

#include <algorithm>
#include <array>

namespace forgehand::triage {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
constexpr char kEscape = '\x1b';
constexpr std::size_t kMaxPaddedColumn = 4096;

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_printable_ascii(char c) { return c >= 0x20 && c < 0x7F; }

struct Utf8Step {
  std::size_t length;  // bytes consumed, at least 1
  bool valid;          // a whole character; otherwise one U+FFFD stands for these bytes
};

// The character at `text[0]` (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF), or
// the ill-formed bytes there: a lead byte and the continuation bytes that could still follow it
// (Unicode's "maximal subpart", which is what Python and browsers replace with one U+FFFD).
Utf8Step utf8_step(std::string_view text) {
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  unsigned char lead = byte(0);
  if (lead < 0x80) return {1, true};
  std::size_t length = lead < 0xC2 ? 0 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : lead < 0xF5 ? 4 : 0;
  if (length == 0) return {1, false};
  // The second byte's range depends on the lead; later ones are plain continuation bytes.
  unsigned char low = lead == 0xE0 ? 0xA0 : lead == 0xF0 ? 0x90 : 0x80;
  unsigned char high = lead == 0xED ? 0x9F : lead == 0xF4 ? 0x8F : 0xBF;
  for (std::size_t i = 1; i < length; ++i) {
    if (i >= text.size() || byte(i) < low || byte(i) > high) return {i, false};
    low = 0x80;
    high = 0xBF;
  }
  return {length, true};
}

// One line of a terminal: text written at a cursor that carriage returns, backspaces and cursor
// controls move. While writing only appends, the line stays UTF-8; once the cursor moves back it
// becomes one code point per column, so an overwrite costs the same whatever the widths of the
// characters involved (a progress bar redrawn a million times stays linear).
class TerminalLine {
 public:
  void reset() {
    bytes_.clear();
    cells_.clear();
    in_cells_ = false;
    cursor_ = 0;
  }
  bool at_start() const { return cursor_ == 0; }

  // `character` is one well-formed UTF-8 sequence.
  void write_char(std::string_view character) {
    if (appending()) {
      bytes_.append(character);
      cursor_ += character.size();
      return;
    }
    to_cells();
    put(decode(character));
  }
  // Most of a log is printable ASCII appended at the end of the line: one append per run.
  void write_ascii(std::string_view run) {
    if (appending()) {
      bytes_.append(run);
      cursor_ += run.size();
      return;
    }
    to_cells();
    for (char c : run) put(static_cast<unsigned char>(c));
  }
  void carriage_return() { cursor_ = 0; }
  void back(std::size_t columns) {
    to_cells();
    cursor_ -= std::min(cursor_, columns);
  }
  void forward(std::size_t columns) { to_column(cursor_ + columns); }
  void to_column(std::size_t column) {
    to_cells();
    // Moving right pads with blanks; a log full of `ESC[10000C` must not pad without bound.
    cursor_ = std::min(column, std::max(cells_.size(), kMaxPaddedColumn));
    if (cells_.size() < cursor_) cells_.resize(cursor_, U' ');
  }
  // ECMA-48 "erase in line": 0 to the end, 1 to the start (blanked), 2 the whole line.
  void erase(int mode) {
    if (mode == 0 && !in_cells_) {
      bytes_.resize(cursor_);  // a byte offset on a character boundary: 0 or the end
      return;
    }
    to_cells();
    if (mode == 0) {
      cells_.resize(cursor_);
    } else if (mode == 1) {
      std::fill_n(cells_.begin(), cursor_, U' ');
    } else {
      cells_.assign(cursor_, U' ');
    }
  }

  // The line as UTF-8; the line must be reset before it is written again.
  std::string_view finish() {
    if (in_cells_) {
      bytes_.clear();
      for (char32_t c : cells_) encode(c, bytes_);
    }
    return bytes_;
  }

 private:
  bool appending() const { return !in_cells_ && cursor_ == bytes_.size(); }

  void put(char32_t c) {
    if (cursor_ == cells_.size()) {
      cells_.push_back(c);
    } else {
      cells_[cursor_] = c;
    }
    ++cursor_;
  }

  void to_cells() {
    if (in_cells_) return;
    in_cells_ = true;
    for (std::size_t i = 0; i < bytes_.size();) {
      std::size_t length = utf8_step(std::string_view(bytes_).substr(i)).length;
      cells_.push_back(decode(std::string_view(bytes_).substr(i, length)));
      i += length;
    }
    // While appending, the cursor is at the start (after a carriage return) or at the end.
    if (cursor_ != 0) cursor_ = cells_.size();
  }

  static char32_t decode(std::string_view character) {
    auto byte = [&](std::size_t i) {
      return static_cast<char32_t>(static_cast<unsigned char>(character[i]));
    };
    switch (character.size()) {
      case 1:
        return byte(0);
      case 2:
        return ((byte(0) & 0x1F) << 6) | (byte(1) & 0x3F);
      case 3:
        return ((byte(0) & 0x0F) << 12) | ((byte(1) & 0x3F) << 6) | (byte(2) & 0x3F);
      default:
        return ((byte(0) & 0x07) << 18) | ((byte(1) & 0x3F) << 12) | ((byte(2) & 0x3F) << 6) |
               (byte(3) & 0x3F);
    }
  }

  static void encode(char32_t c, std::string& out) {
    auto put_byte = [&](char32_t b) { out.push_back(static_cast<char>(b)); };
    if (c < 0x80) {
      put_byte(c);
    } else if (c < 0x800) {
      put_byte(0xC0 | (c >> 6));
      put_byte(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
      put_byte(0xE0 | (c >> 12));
      put_byte(0x80 | ((c >> 6) & 0x3F));
      put_byte(0x80 | (c & 0x3F));
    } else {
      put_byte(0xF0 | (c >> 18));
      put_byte(0x80 | ((c >> 12) & 0x3F));
      put_byte(0x80 | ((c >> 6) & 0x3F));
      put_byte(0x80 | (c & 0x3F));
    }
  }

  std::string bytes_;
  std::u32string cells_;
  bool in_cells_ = false;
  std::size_t cursor_ = 0;  // a byte offset while appending, a column in cells
};

// Skips the escape sequence at `line[at]` (an ESC), applying the cursor and erase controls a CI
// log viewer honours; returns the index after it. Unknown or unterminated sequences are dropped.
std::size_t apply_escape(std::string_view line, std::size_t at, TerminalLine& terminal) {
  std::size_t i = at + 1;
  if (i >= line.size()) return i;
  char kind = line[i++];
  if (kind == '[') {
    int parameter = -1;
    while (i < line.size() && line[i] >= 0x30 && line[i] <= 0x3F) {
      if (is_digit(line[i])) {
        parameter = std::min((parameter < 0 ? 0 : parameter) * 10 + (line[i] - '0'), 10000);
      }
      ++i;
    }
    while (i < line.size() && line[i] >= 0x20 && line[i] <= 0x2F) ++i;
    if (i >= line.size()) return i;
    char final = line[i++];
    std::size_t count = parameter <= 0 ? 1 : static_cast<std::size_t>(parameter);
    switch (final) {
      case 'K':
        terminal.erase(parameter < 0 ? 0 : parameter);
        break;
      case 'G':
        terminal.to_column(count - 1);
        break;
      case 'D':
        terminal.back(count);
        break;
      case 'C':
        terminal.forward(count);
        break;
      default:
        break;
    }
    return i;
  }
  // OSC, DCS, APC, PM and SOS carry a string up to BEL or ESC \ (Buildkite puts its per-line
  // timestamps in an APC string).
  if (kind == ']' || kind == 'P' || kind == '_' || kind == '^' || kind == 'X') {
    while (i < line.size()) {
      if (line[i] == '\a') return i + 1;
      if (line[i] == kEscape && i + 1 < line.size() && line[i + 1] == '\\') return i + 2;
      ++i;
    }
    return i;
  }
  if (kind == '(' || kind == ')' || kind == '*' || kind == '+') return std::min(i + 1, line.size());
  return i;
}

// Travis folds and timers and GitLab sections are written as `marker\r` (usually followed by
// ESC[0K) so a terminal overwrites them; the viewers hide them.
bool starts_ci_marker(std::string_view rest) {
  static constexpr std::array<std::string_view, 4> kMarkers = {
      "travis_fold:", "travis_time:", "section_start:", "section_end:"};
  return std::any_of(kMarkers.begin(), kMarkers.end(),
                     [&](std::string_view marker) { return rest.starts_with(marker); });
}

// `2024-05-16T09:46:41.3842251Z ` as GitHub Actions and GitLab runners (FF_TIMESTAMPS) put before
// every line; returns its length including the space, or 0.
std::size_t timestamp_length(std::string_view line) {
  static constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:dd";
  if (line.size() < kShape.size() + 2) return 0;
  for (std::size_t i = 0; i < kShape.size(); ++i) {
    if (kShape[i] == 'd' ? !is_digit(line[i]) : line[i] != kShape[i]) return 0;
  }
  std::size_t i = kShape.size();
  if (line[i] == '.') {
    ++i;
    while (i < line.size() && is_digit(line[i])) ++i;
  }
  if (i < line.size() && line[i] == 'Z') {
    ++i;
  } else if (i + 6 <= line.size() && (line[i] == '+' || line[i] == '-') && line[i + 3] == ':') {
    i += 6;
  } else {
    return 0;
  }
  return i < line.size() && line[i] == ' ' ? i + 1 : 0;
}

bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); }

struct Prefix {
  std::size_t length = 0;
  std::string_view replacement;  // text the viewer shows instead of the prefix
  bool continues_previous = false;
  bool drop_line = false;
};

// The per-line decorations of GitHub Actions and GitLab logs. `timestamped`: the CI put a
// timestamp before every line.
Prefix line_prefix(std::string_view line, bool timestamped) {
  Prefix prefix;
  prefix.length = timestamped ? timestamp_length(line) : 0;
  std::string_view rest = line.substr(prefix.length);
  // GitLab: after the timestamp, the stream number, O(ut) or E(rr), and `+` when the runner split
  // a long line and this piece continues the previous one (lib/gitlab/ci/ansi2html.rb).
  if (prefix.length > 0 && rest.size() >= 4 && is_hex(rest[0]) && is_hex(rest[1]) &&
      (rest[2] == 'O' || rest[2] == 'E') && (rest[3] == ' ' || rest[3] == '+')) {
    prefix.continues_previous = rest[3] == '+';
    prefix.length += 4;
    return prefix;
  }
  if (!rest.starts_with("##[")) return prefix;
  std::size_t close = rest.find(']');
  if (close == std::string_view::npos || close > 16) return prefix;
  std::string_view command = rest.substr(3, close - 3);
  prefix.length += close + 1;
  if (command == "endgroup") prefix.drop_line = true;
  if (command == "error") prefix.replacement = "Error: ";
  if (command == "warning") prefix.replacement = "Warning: ";
  return prefix;
}

// Whether the CI stamped every line: most of the log's first lines start with a timestamp.
// A log without that keeps the timestamps its programs print (a test framework's own, as in
// `2019-08-03T02:07:32.581000Z TestFramework (ERROR): ...`), which are part of the message.
bool ci_timestamped(std::string_view raw) {
  std::size_t lines = 0;
  std::size_t stamped = 0;
  while (!raw.empty() && lines < 20) {
    std::size_t end = std::min(raw.find('\n'), raw.size());
    ++lines;
    if (timestamp_length(raw.substr(0, end)) > 0) ++stamped;
    raw.remove_prefix(std::min(end + 1, raw.size()));
  }
  return stamped * 2 > lines;
}

class Normalizer {
 public:
  Normalizer(NormalizedLog& out, bool timestamped) : out_(out), timestamped_(timestamped) {}

  void add_line(std::string_view raw) {
    Prefix prefix = line_prefix(raw, timestamped_);
    if (prefix.drop_line) return;
    raw.remove_prefix(prefix.length);
    terminal_.reset();
    terminal_.write_ascii(prefix.replacement);
    bool had_marker = false;
    std::size_t i = 0;
    while (i < raw.size()) {
      if (terminal_.at_start() && starts_ci_marker(raw.substr(i))) {
        had_marker = true;
        i = std::min(raw.find('\r', i), raw.size());
        continue;
      }
      std::size_t run = i;
      while (run < raw.size() && is_printable_ascii(raw[run])) ++run;
      if (run > i) {
        terminal_.write_ascii(raw.substr(i, run - i));
        i = run;
        continue;
      }
      char c = raw[i];
      if (static_cast<unsigned char>(c) >= 0x80) {
        Utf8Step step = utf8_step(raw.substr(i));
        terminal_.write_char(step.valid ? raw.substr(i, step.length) : kReplacement);
        i += step.length;
      } else if (c == kEscape) {
        i = apply_escape(raw, i, terminal_);
      } else {
        if (c == '\r') terminal_.carriage_return();
        if (c == '\b') terminal_.back(1);
        if (c == '\t') terminal_.write_char("\t");
        ++i;
      }
    }
    std::string_view text = terminal_.finish();
    text = text.substr(0, text.find_last_not_of(" \t") + 1);
    if (prefix.continues_previous && out_.size() > 0) {
      out_.extend_last_line(text);
      return;
    }
    if (text.empty() && (had_marker || previous_blank_)) return;
    previous_blank_ = text.empty();
    out_.add_line(text);
  }

 private:
  NormalizedLog& out_;
  bool timestamped_;
  TerminalLine terminal_;
  bool previous_blank_ = true;  // so the log never starts with a blank line
};

}  // namespace

NormalizedLog normalize(std::string_view raw) {
  NormalizedLog log;
  log.reserve(raw.size());
  Normalizer normalizer(log, ci_timestamped(raw));
  while (!raw.empty()) {
    std::size_t end = std::min(raw.find('\n'), raw.size());
    normalizer.add_line(raw.substr(0, end));
    raw.remove_prefix(std::min(end + 1, raw.size()));
  }
  log.drop_trailing_blank_lines();
  return log;
}

}  // namespace forgehand::triage
