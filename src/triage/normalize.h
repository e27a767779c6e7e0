#pragma once
// CI log bytes → the lines a person sees in the CI's log viewer: terminal controls applied, CI
// markup and timestamps gone, valid UTF-8. Pure functions; thread-safe.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace forgehand::triage {

class NormalizedLog {
 public:
  std::size_t size() const { return ends_.size(); }
  std::string_view line(std::size_t index) const {
    std::size_t begin = index == 0 ? 0 : ends_[index - 1];
    return std::string_view(text_).substr(begin, ends_[index] - begin);
  }

  void reserve(std::size_t bytes) { text_.reserve(bytes); }
  void add_line(std::string_view line) {
    text_.append(line);
    ends_.push_back(text_.size());
  }
  void extend_last_line(std::string_view more) {
    text_.append(more);
    ends_.back() = text_.size();
  }
  void drop_trailing_blank_lines() {
    while (!ends_.empty() && line(ends_.size() - 1).empty()) ends_.pop_back();
  }

 private:
  std::string text_;               // the lines back to back, no separators
  std::vector<std::size_t> ends_;  // where each line ends in text_
};

// Never fails: any byte sequence gives some lines. What a line loses:
// - ANSI/VT escape sequences (colours, cursor moves, OSC/APC strings such as Buildkite's
//   timestamps); erase-in-line and carriage return / backspace act as on a terminal, so a
//   progress bar leaves only its last state;
// - Travis `travis_fold:`/`travis_time:` and GitLab `section_start:`/`section_end:` markers,
//   GitHub Actions' `##[group]`-style prefixes (`##[error]` reads `Error: `, `##[endgroup]`
//   lines go) and the ISO timestamps GitHub Actions and GitLab runners put before each line (when
//   most of the first lines have one; a program's own timestamps stay);
// - control bytes, trailing blanks; invalid UTF-8 becomes U+FFFD.
// Runs of blank lines become one blank line; the log's leading and trailing blanks go.
NormalizedLog normalize(std::string_view raw);

}  // namespace forgehand::triage
