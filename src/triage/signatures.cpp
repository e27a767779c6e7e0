#include "triage/signatures.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <queue>
#include <vector>

namespace forgehand::triage {
namespace {

// How a keyword must sit in the line to count.
enum Check : std::uint16_t {
  kWordBefore = 1 << 0,  // no letter, digit or `_` right before it
  kWordAfter = 1 << 1,   // none right after it
  kWord = kWordBefore | kWordAfter,
  kCased = 1 << 2,         // only in the case written: FAIL, not "fail" in prose
  kLineStart = 1 << 3,     // only indentation before it
  kNonzero = 1 << 4,       // followed by a nonzero number: "exited with 2", not "with 0"
  kNotZeroCount = 1 << 5,  // not a zero or absent count: "0 failures", "errors: 0", "no errors"
  kTypeName = 1 << 6,   // ends a capitalised or dotted type name: ValueError, java.io.IOException
  kCodeAfter = 1 << 7,  // followed by a diagnostic code and a colon: TS2322:, CS0246:
};

struct Signature {
  std::string_view text;  // as printed; matched ignoring ASCII case unless kCased
  int weight;
  std::uint16_t checks = 0;
  std::uint8_t traits = 0;
};

// The wording of failures across compilers, test runners, package managers, build tools, shells
// and CI services. Weights: 8-10 names the failure itself, 5-7 is a strong hint, 1-4 a weak one.
// Each entry is a tool's or runtime's fixed wording, never one project's message.
constexpr Signature kSignatures[] = {
    // Diagnostics in general (gcc/clang/rustc/tsc/javac/go vet "file:line: error: ...", loggers).
    {"error", 4, kWord | kNotZeroCount},
    {"errors", 3, kWord | kNotZeroCount},
    {"ERROR", 6, kWord | kCased | kNotZeroCount},  // a level: ERROR: x, [ERROR], (ERROR)
    {"error:", 8, kWordBefore | kNotZeroCount},
    {"error[", 8, kWordBefore},  // rustc: error[E0308]
    // tsc, MSBuild/C#: src/a.ts(3,5): error TS2322: ..., error CS0246: ...
    {"error ", 8, kWordBefore | kCodeAfter},
    {"error!", 7, kWordBefore},
    {"[error]", 5},  // Maven, sbt
    {"error", 8, kTypeName},
    {"exception", 4, kWord},
    {"exception", 8, kTypeName},
    {"failure", 6, kTypeName},  // JUnit's ComparisonFailure, AssertionFailure
    {"fatal", 7, kWord},
    {"panic:", 9, kWordBefore},  // go
    {"panicked at", 10},         // rust
    {"traceback", 9, kWord},     // python
    {"stack traceback", 8},      // lua
    {"backtrace", 6, kWord},
    {"caused by:", 6},
    {"exception in thread", 9},  // JVM
    {"uncaught", 6, kWord},
    {"unhandled", 6, kWord},
    {"** (", 8, kLineStart},  // elixir: ** (RuntimeError) ...
    {"syntax error", 8},
    {"parse error", 8},
    {"unexpected token", 7},
    {"unexpected", 3, kWord},
    {"undefined reference", 9},      // linkers
    {"undefined:", 6, kWordBefore},  // go: undefined: fmt.Printl
    {"undefined symbol", 8},
    {"undefined method", 8},    // ruby
    {"is not defined", 7},      // javascript, eslint no-undef
    {"is not a function", 7},   // javascript
    {"cannot find symbol", 8},  // javac
    {"warning:", 2, kWordBefore},
    {"warning", 1, kWord},
    // Test runners.
    {"failed", 5, kWord | kNotZeroCount},
    {"FAILED", 7, kWord | kCased | kNotZeroCount},  // FAILED tests/x.py::t (pytest), ctest, go
    {"FAIL", 7, kWord | kCased | kNotZeroCount},
    // A runner's verdict opening the line: FAIL src/x.test.js (jest), FAIL name [file] (PHP),
    // FAIL pkg (go), FAILED tests/x.py::test (pytest's summary).
    {"FAIL", 9, kWord | kCased | kLineStart},
    {"FAILED", 9, kWord | kCased | kLineStart},
    {"fail:", 6, kWordBefore | kNotZeroCount},
    {"failed:", 6, kWordBefore | kNotZeroCount},
    {"failure", 5, kWord | kNotZeroCount},
    {"failures", 4, kWord | kNotZeroCount},
    {"failing", 5, kWord | kNotZeroCount},  // mocha: "1 failing"
    {"<<< failure!", 10},                   // Maven surefire
    {"<<< error!", 10},
    {"not ok", 8, kWord | kLineStart},  // TAP
    // Marks of a failed test in runners' lists and a failure report's header (jest: `✕ adds`,
    // `● Suite › adds`; mocha and eslint: `✖`).
    {"\xE2\x9C\x95", 6, kLineStart},    // ✕
    {"\xE2\x9C\x96", 6, kLineStart},    // ✖
    {"\xE2\x9C\x97", 6, kLineStart},    // ✗
    {"\xE2\x9C\x98", 6, kLineStart},    // ✘
    {"\xE2\x97\x8F", 5, kLineStart},    // ●
    {"--- fail", 9, kLineStart},        // go test
    {"test result: failed", 9},         // cargo test
    {"the following tests failed", 9},  // ctest
    {"assert", 5, kWord},
    {"assertion", 6, kWord},
    {"but was", 6},
    {"but got", 6},
    {"but found", 5},
    {"expected", 3, kWord},
    // Processes, the system and the network.
    {"segmentation fault", 10},
    {"segfault", 9},
    {"core dumped", 9},
    {"bus error", 8},
    {"stack overflow", 7},
    {"addresssanitizer", 10},
    {"leaksanitizer", 9},
    {"threadsanitizer", 9},
    {"runtime error:", 9},  // UBSan
    {"killed", 6, kWord},
    {"out of memory", 9},
    {"cannot allocate memory", 9},
    {"oomkilled", 9},
    {"command not found", 10},
    {"no such file or directory", 7},
    {"permission denied", 7},
    {"access denied", 6},
    {"denied", 4, kWord},
    {"not found", 5, kWord},
    {"no such", 5, kWord},
    {"could not", 5, kWord},
    {"couldn't", 5, kWord},
    {"cannot", 4, kWord},
    {"can't", 4, kWord},
    {"unable to", 5, kWord},
    {"failed to", 7, kWord},
    {"refused", 5, kWord},
    {"unreachable", 4, kWord},
    {"connection reset", 5},
    {"name or service not known", 6},
    {"temporary failure in name resolution", 6},
    {"timed out", 7},
    {"timeout", 5, kWord},
    {"time limit", 6},
    {"deadline exceeded", 7},
    {"no output has been received", 10},  // Travis CI's inactivity kill
    {"exceeded the maximum", 8},          // CI time limits (GitHub Actions, Travis CI)
    {"abort", 5, kWord},
    {"aborted", 6, kWord},
    {"aborting", 5, kWord},
    {"invalid", 3, kWord},
    {"illegal", 4, kWord},
    {"unsupported", 3, kWord},
    {"not supported", 3},
    {"incompatible", 5, kWord},
    {"conflict", 4, kWord},
    {"conflicts", 4, kWord},
    {"mismatch", 4, kWord},
    {"missing", 3, kWord},
    // Builds, packages and dependency resolution.
    {"build failed", 9},
    {"build failure", 9},       // Maven
    {"what went wrong", 9},     // Gradle
    {"compilation failed", 7},  // sbt, javac
    {"compilation error", 8},
    {"cmake error", 10},
    {"configuring incomplete", 7},
    {"no rule to make target", 9},
    {": ***", 6},  // make: *** [target] Error 2
    {"npm err!", 6},
    {"err!", 5},
    {"unresolved", 6, kWord},
    {"could not resolve", 7},
    {"could not be resolved", 7},
    {"version solving failed", 10},  // dart pub, poetry
    {"eresolve", 8, kWord},          // npm
    {"unsatisfiable", 7},
    {"no matching distribution", 9},  // pip
    {"no matching version", 8},
    {"requirements could not be resolved", 9},  // composer
    {"could not find gem", 8},                  // bundler
    {"not available", 5},
    {"not installed", 4},
    {"offense", 5, kWord | kNotZeroCount},  // rubocop
    {"offenses", 5, kWord | kNotZeroCount},
    {"problem", 4, kWord | kNotZeroCount},  // eslint: 3 problems (3 errors, 0 warnings)
    {"problems", 4, kWord | kNotZeroCount},
    {"violation", 4, kWord | kNotZeroCount},
    {"violations", 4, kWord | kNotZeroCount},
    // A command that failed.
    {"exit code", 6, kNonzero},
    {"exit status", 6, kNonzero},
    {"returned non-zero", 7},
    {"non-zero code", 7},  // docker build: returned a non-zero code: 1
    {"non-zero exit", 7},
    // The CI's own line ending a failed step or job: Travis CI (`The command "make" exited with
    // 2.`), GitHub Actions (`Process completed with exit code 1.`), GitLab (`ERROR: Job failed:
    // exit code 1`).
    {"exited with", 7, kNonzero, kStepFailed},
    {"process completed with exit code", 7, kNonzero, kStepFailed},
    {"job failed", 7, 0, kStepFailed},
    // Not failures: a passing or skipped test further along the line (pytest -v, unittest,
    // googletest), and the frames of Ruby and Lua traces.
    {" PASSED", 0, kWordAfter | kCased, kSuccess},
    {" SKIPPED", 0, kWordAfter | kCased, kSuccess},
    {" XFAIL", 0, kWordAfter | kCased, kSuccess},
    {" ... ok", 0, kWordAfter, kSuccess},
    {"[       OK ]", 0, kCased, kSuccess},
    {":in `", 0, 0, kFrame},
    {":in '", 0, 0, kFrame},
    {"in function", 0, kWord, kFrame},
};

constexpr std::size_t kSignatureCount = std::size(kSignatures);

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_word(char c) { return is_alpha(c) || is_digit(c) || c == '_'; }

// Aho-Corasick over case-folded bytes: one pass per line finds every keyword, so the cost per
// byte does not grow with the table. Bytes no keyword uses share one class.
class Matcher {
 public:
  Matcher() {
    for (const Signature& signature : kSignatures) {
      for (char c : signature.text) {
        auto& slot = class_of_[static_cast<unsigned char>(lower(c))];
        if (slot == 0) slot = static_cast<std::uint8_t>(++classes_);
      }
    }
    ++classes_;  // class 0: every other byte
    for (char c = 'A'; c <= 'Z'; ++c) {
      class_of_[static_cast<unsigned char>(c)] = class_of_[static_cast<unsigned char>(lower(c))];
    }
    add_state();
    for (std::size_t i = 0; i < kSignatureCount; ++i) {
      std::size_t state = 0;
      for (char c : kSignatures[i].text) {
        std::size_t slot = state * classes_ + class_of(c);
        if (next_[slot] == 0) {
          std::size_t child = add_state();
          next_[slot] = static_cast<std::uint32_t>(child);
        }
        state = next_[slot];
      }
      outputs_[state].push_back(static_cast<std::uint16_t>(i));
    }
    link();
    // The scan reads one entry per byte: the next state's row offset, its lowest bit telling
    // whether a keyword ends there.
    for (std::uint32_t& entry : next_) {
      entry = static_cast<std::uint32_t>(entry * classes_ << 1) | !outputs_[entry].empty();
    }
  }

  template <class OnMatch>
  void scan(std::string_view line, OnMatch&& on_match) const {
    std::uint32_t entry = 0;
    for (std::size_t i = 0; i < line.size(); ++i) {
      entry = next_[(entry >> 1) + class_of(line[i])];
      if ((entry & 1) == 0) continue;
      for (std::uint16_t index : outputs_[(entry >> 1) / classes_]) {
        on_match(kSignatures[index], i + 1 - kSignatures[index].text.size());
      }
    }
  }

 private:
  std::size_t class_of(char c) const { return class_of_[static_cast<unsigned char>(c)]; }

  std::size_t add_state() {
    next_.resize(next_.size() + classes_, 0);
    outputs_.emplace_back();
    return outputs_.size() - 1;
  }

  // Breadth-first: failure links, then every missing transition filled in from them.
  void link() {
    std::vector<std::uint32_t> fail(outputs_.size(), 0);
    std::queue<std::size_t> pending;
    for (std::size_t c = 0; c < classes_; ++c) {
      if (next_[c] != 0) pending.push(next_[c]);
    }
    while (!pending.empty()) {
      std::size_t state = pending.front();
      pending.pop();
      for (std::size_t c = 0; c < classes_; ++c) {
        std::uint32_t& child = next_[state * classes_ + c];
        std::uint32_t fallback = next_[fail[state] * classes_ + c];
        if (child == 0) {
          child = fallback;
          continue;
        }
        fail[child] = fallback;
        const auto& inherited = outputs_[fallback];
        outputs_[child].insert(outputs_[child].end(), inherited.begin(), inherited.end());
        pending.push(child);
      }
    }
  }

  std::array<std::uint8_t, 256> class_of_{};
  std::size_t classes_ = 0;
  std::vector<std::uint32_t> next_;
  std::vector<std::vector<std::uint16_t>> outputs_;
};

// The identifier-ish word that ends just before `end`: letters, digits, `_`, `.` and `$`.
std::string_view word_before(std::string_view line, std::size_t end) {
  std::size_t begin = end;
  while (begin > 0 &&
         (is_word(line[begin - 1]) || line[begin - 1] == '.' || line[begin - 1] == '$')) {
    --begin;
  }
  return line.substr(begin, end - begin);
}

bool zero_count_around(std::string_view line, std::size_t begin, std::size_t end) {
  if (begin >= 2 && line[begin - 1] == ' ' && line[begin - 2] == '0' &&
      (begin == 2 || !is_digit(line[begin - 3]))) {
    return true;
  }
  if (begin >= 3 && lower(line[begin - 3]) == 'n' && lower(line[begin - 2]) == 'o' &&
      line[begin - 1] == ' ' && (begin == 3 || !is_word(line[begin - 4]))) {
    return true;
  }
  std::size_t i = end;
  while (i < line.size() && (line[i] == ':' || line[i] == '=' || line[i] == ' ')) ++i;
  return i > end && i < line.size() && line[i] == '0' &&
         (i + 1 == line.size() || !is_digit(line[i + 1]));
}

bool nonzero_follows(std::string_view line, std::size_t end) {
  std::size_t i = end;
  while (i < line.size() && (line[i] == ' ' || line[i] == ':' || line[i] == '=')) ++i;
  bool nonzero = false;
  std::size_t digits = i;
  while (i < line.size() && is_digit(line[i])) {
    nonzero = nonzero || line[i] != '0';
    ++i;
  }
  return i > digits && nonzero;
}

bool accepts(const Signature& signature, std::string_view line, std::size_t begin) {
  std::size_t end = begin + signature.text.size();
  std::uint16_t checks = signature.checks;
  if ((checks & kCased) && line.substr(begin, signature.text.size()) != signature.text) {
    return false;
  }
  // A word inside a path or file name (src/error.rs, errors.log) names a file, not a failure.
  if ((checks & kWordBefore) && begin > 0 &&
      (is_word(line[begin - 1]) || line[begin - 1] == '/' || line[begin - 1] == '\\')) {
    return false;
  }
  if ((checks & kWordAfter) && end < line.size() &&
      (is_word(line[end]) || line[end] == '/' ||
       (line[end] == '.' && end + 1 < line.size() && is_alpha(line[end + 1])))) {
    return false;
  }
  if ((checks & kLineStart) && line.find_first_not_of(" \t") != begin) return false;
  if ((checks & kNonzero) && !nonzero_follows(line, end)) return false;
  if ((checks & kNotZeroCount) && zero_count_around(line, begin, end)) return false;
  if (checks & kCodeAfter) {
    std::size_t i = end;
    while (i < line.size() && is_upper(line[i])) ++i;
    std::size_t letters = i - end;
    while (i < line.size() && is_digit(line[i])) ++i;
    if (letters == 0 || i == end + letters || i >= line.size() || line[i] != ':') return false;
  }
  if (checks & kTypeName) {
    // A raised exception, `ValueError: bad` or `java.lang.IllegalStateException` alone, and
    // Elixir's `** (ArgumentError)`; not the same names in source code (`except KeyError:`,
    // `raise Error(msg)`, `isinstance(e, TimeoutError)`), not words like "stderror".
    std::string_view word = word_before(line, begin);
    if (!is_upper(line[begin]) || word.empty() || !is_alpha(word.back())) return false;
    if (!is_upper(word.front()) && word.find('.') == std::string_view::npos) return false;
    std::size_t word_begin = begin - word.size();
    bool message = end + 1 < line.size() && line[end] == ':' && line[end + 1] == ' ';
    bool alone = end == line.size();
    bool wrapped =
        end < line.size() && line[end] == ')' && word_begin > 0 && line[word_begin - 1] == '(';
    if (!message && !alone && !wrapped) return false;
  }
  return true;
}

bool is_rule_char(char c) { return std::string_view("=-_*#~+").find(c) != std::string_view::npos; }

// `=====`, `----- Captured log -----`, `____ test_name ____`.
bool is_rule(std::string_view body) {
  auto run = [](std::string_view text) {
    std::size_t n = 0;
    while (n < text.size() && text[n] == text[0] && is_rule_char(text[0])) ++n;
    return n;
  };
  if (body.size() < 5) return false;
  std::string_view reversed_end = body.substr(body.size() - 5);
  bool ends_with_rule = std::all_of(reversed_end.begin(), reversed_end.end(),
                                    [&](char c) { return c == body.back() && is_rule_char(c); });
  return run(body) >= 5 || ends_with_rule;
}

// A stack frame or location line of the common runtimes, which continues the report above it.
bool is_frame(std::string_view body) {
  static constexpr std::array<std::string_view, 8> kStarts = {
      "at ", "File \"", "from ", "[C]:", "... ", "Caused by",
      // Python's chained exceptions: the next traceback belongs to the same report.
      "During handling of the above exception", "The above exception was the direct cause"};
  if (body.size() > 1 && body[0] == '#' && is_digit(body[1])) return true;  // gdb: #0 0x4005d4
  return std::any_of(kStarts.begin(), kStarts.end(),
                     [&](std::string_view start) { return body.starts_with(start); });
}

// A test that passed or was skipped: its name may well contain "error" or "segfault".
bool is_success(std::string_view body) {
  static constexpr std::array<std::string_view, 9> kStarts = {
      "\xE2\x9C\x93", "\xE2\x9C\x94", "\xE2\x88\x9A",  // ✓ ✔ √ (mocha, jest)
      "PASS ",        "PASS:",        "SKIP ",        "SKIP:", "SKIPPED ", "XFAIL "};
  // A runner's progress, one dot per passing test (RSpec, minitest, pytest, PHPUnit).
  if (body.size() >= 3 && body.find_first_not_of('.') == std::string_view::npos) return true;
  if (body.starts_with("ok ")) {  // TAP: `ok 12 - name`
    std::size_t number = body.find_first_not_of(' ', 3);
    if (number != std::string_view::npos && is_digit(body[number])) return true;
  }
  return std::any_of(kStarts.begin(), kStarts.end(),
                     [&](std::string_view start) { return body.starts_with(start); });
}

// A line a tool labels as a warning or debug output; it does not fail a build by itself, whatever
// words follow (`npm WARN deprecated`, `[warn] Could not find any member to link`).
bool is_warning(std::string_view body) {
  static constexpr std::array<std::string_view, 8> kLabels = {
      "warning:", "warning ", "[warn", "warn ", "npm warn", "w: ", "[debug]", "debug:"};
  return std::any_of(kLabels.begin(), kLabels.end(), [&](std::string_view label) {
    if (body.size() < label.size()) return false;
    for (std::size_t i = 0; i < label.size(); ++i) {
      if (lower(body[i]) != label[i]) return false;
    }
    return true;
  });
}

// `1) test name` (mocha, RSpec, ExUnit, minitest, Jasmine number their failure reports).
bool is_numbered_report(std::string_view body) {
  std::size_t digits = 0;
  while (digits < body.size() && digits < 5 && is_digit(body[digits])) ++digits;
  return digits > 0 && body.size() > digits + 2 && body[digits] == ')' && body[digits + 1] == ' ' &&
         body[digits + 2] != ' ';
}

}  // namespace

LineClass classify(std::string_view line) {
  static const Matcher matcher;
  LineClass result;
  std::size_t indent = line.find_first_not_of(" \t");
  if (indent == std::string_view::npos) return result;
  std::string_view body = line.substr(indent);
  if (body.starts_with("$ ")) result.traits |= kStepStart;
  if (is_rule(body)) result.traits |= kRule;
  if (is_frame(body)) result.traits |= kFrame;

  int best = 0;
  matcher.scan(line, [&](const Signature& signature, std::size_t begin) {
    if (!accepts(signature, line, begin)) return;
    best = std::max(best, signature.weight);
    result.traits |= signature.traits;
  });
  // pytest's explanation lines (`E       assert 1 == 2`) and apt's errors (`E: Unable to locate
  // package foo`).
  if (indent == 0 && (body.starts_with("E  ") || body.starts_with("E: "))) {
    best = std::max(best, 6);
  }
  if (is_numbered_report(body)) best = std::max(best, 4);
  // `==== FAILURES ====`, `---- Failed tests ----`: the header of a runner's failure reports.
  if ((result.traits & kRule) && best >= 4) best = std::max(best, 8);
  if (is_warning(body)) best = std::min(best, 2);
  // Travis CI's own account of a command it retried: `The command "x" failed. Retrying, 2 of 3.`
  // and `The command "x" failed 3 times.`
  if (body.starts_with("The command \"") && body.find("\" failed") != std::string_view::npos) {
    result.traits |= kStepFailed;
    best = std::max(best, 7);
  }
  if (is_success(body)) result.traits |= kSuccess;
  result.score = (result.traits & kSuccess) ? 0 : best;
  return result;
}

}  // namespace forgehand::triage
