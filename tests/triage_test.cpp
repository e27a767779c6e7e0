#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "support/fixtures.h"
#include "support/process.h"
#include "triage/excerpt.h"
#include "triage/normalize.h"
#include "triage/signatures.h"

using namespace forgehand;
using namespace forgehand::triage;

namespace {

std::string log_fixture(std::string_view name) {
  return testing::read_file(std::string(FORGEHAND_SOURCE_DIR) + "/fixtures/logs/" +
                            std::string(name) + ".log");
}

std::vector<std::string> lines_of(const NormalizedLog& log) {
  std::vector<std::string> lines;
  for (std::size_t i = 0; i < log.size(); ++i) lines.emplace_back(log.line(i));
  return lines;
}

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Runs of blanks read as one, as the LogChunks scorer compares lines.
std::string folded(std::string_view text) {
  std::string out;
  bool blank = false;
  for (char c : text) {
    if (c == ' ' || c == '\t') {
      blank = !out.empty() && out.back() != '\n';
      continue;
    }
    if (blank && c != '\n') out.push_back(' ');
    blank = false;
    out.push_back(c);
  }
  return out;
}

bool valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    auto lead = static_cast<unsigned char>(text[i]);
    std::size_t length = lead < 0x80           ? 1
                         : (lead >> 5) == 0x6  ? 2
                         : (lead >> 4) == 0xE  ? 3
                         : (lead >> 3) == 0x1E ? 4
                                               : 0;
    if (length == 0 || i + length > text.size()) return false;
    for (std::size_t k = 1; k < length; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return false;
    }
    i += length;
  }
  return true;
}

// A long, quiet build around a real failure, as triage meets it in a CI log.
std::string buried(std::string_view failure) {
  std::string log;
  for (int i = 0; i < 3000; ++i) {
    log += "[ " + std::to_string(i / 30) + "%] Building CXX object src/CMakeFiles/core.dir/unit_" +
           std::to_string(i) + ".cpp.o\n";
  }
  log += failure;
  for (int i = 0; i < 300; ++i) log += "uploading cache part " + std::to_string(i) + " of 300\n";
  return log;
}

int score(std::string_view line) { return classify(line).score; }

}  // namespace

TEST_CASE("triage normalizes what a terminal would show") {
  CHECK(lines_of(normalize("\x1b[31;1mred\x1b[0m and \x1b[1mbold\x1b[0m\n")) ==
        std::vector<std::string>{"red and bold"});
  CHECK(lines_of(normalize("Downloading 10%\rDownloading 55%\rDownloading 100%\n")) ==
        std::vector<std::string>{"Downloading 100%"});
  CHECK(lines_of(normalize("loading a long name...\r\x1b[Kdone\n")) ==
        std::vector<std::string>{"done"});
  CHECK(lines_of(normalize("abcdef\rXY\n")) == std::vector<std::string>{"XYcdef"});
  CHECK(lines_of(normalize("ab\x08"
                           "c\n")) == std::vector<std::string>{"ac"});
  CHECK(lines_of(normalize("windows line\r\n")) == std::vector<std::string>{"windows line"});
  // An overwrite never splits a multi-byte character.
  CHECK(lines_of(normalize("\xC3\xA9t\xC3\xA9\rE\n")) == std::vector<std::string>{"Et\xC3\xA9"});
  // OSC hyperlinks and Buildkite's APC timestamps carry no visible text.
  CHECK(lines_of(normalize("\x1b]8;;https://example.com\x1b\\link\x1b]8;;\x1b\\ ok\n")) ==
        std::vector<std::string>{"link ok"});
  CHECK(lines_of(normalize("\x1b_bk;t=1745322209921\x07~~~ Running tests\n")) ==
        std::vector<std::string>{"~~~ Running tests"});
  // Trailing blanks go; runs of blank lines become one; none at the start or the end.
  CHECK(lines_of(normalize("\n\n  \nfirst   \n\n\n\nsecond\n\n")) ==
        std::vector<std::string>{"first", "", "second"});
}

TEST_CASE("triage replaces invalid UTF-8 and drops control bytes") {
  std::vector<std::string> lines = lines_of(normalize("bad \xff\xfe byte\x01\x02 \xC3(\n"));
  REQUIRE(lines.size() == 1);
  CHECK(lines[0] == "bad \xEF\xBF\xBD\xEF\xBF\xBD byte \xEF\xBF\xBD(");
  // Overlong forms and surrogates are not well-formed either; a truncated sequence is one
  // U+FFFD, as Python and browsers decode it.
  CHECK(lines_of(normalize("\xC0\xAF \xED\xA0\x80 \xE2\x9C!\n"))[0] ==
        "\xEF\xBF\xBD\xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD \xEF\xBF\xBD!");
}

TEST_CASE("triage strips Travis CI folds and timers") {
  std::string log =
      "travis_fold:start:install\r\x1b[0K$ make deps\n"
      "installing\n"
      "travis_time:end:0893ba80:start=1494884096579313719,finish=1494884098554894368\r\x1b[0K\r\n"
      "travis_fold:end:install\r\x1b[0Ktravis_fold:start:script\r\x1b[0K\x1b[33;1mScript\x1b[0m\n";
  CHECK(lines_of(normalize(log)) ==
        std::vector<std::string>{"$ make deps", "installing", "Script"});
}

TEST_CASE("triage strips GitLab section markers and runner timestamps") {
  // A runner with FF_TIMESTAMPS stamps every line, stream and all (lib/gitlab/ci/ansi2html.rb).
  std::string log =
      "2024-05-16T09:46:40.000001Z 00O \x1b[0Ksection_start:1560896352:build_script"
      "[collapsed=true]\r\x1b[0K\x1b[0K\x1b[36;1mExecuting \"step_script\" stage\x1b[0;m\n"
      "2024-05-16T09:46:40.000002Z 00O $ make\n"
      "2024-05-16T09:46:41.384225Z 00O compiling\n"
      "2024-05-16T09:46:41.384230Z 01E error: a very long line that the runner\n"
      "2024-05-16T09:46:41.384231Z 01E+ split in two\n"
      "2024-05-16T09:46:41.384232Z 00O section_end:1560896353:build_script\r\x1b[0K\n";
  CHECK(lines_of(normalize(log)) ==
        std::vector<std::string>{"Executing \"step_script\" stage", "$ make", "compiling",
                                 "error: a very long line that the runner split in two"});
  // Without timestamps, the markers alone.
  CHECK(lines_of(normalize("section_start:1560896352:test\r\x1b[0KRunning tests\n"
                           "section_end:1560896353:test\r\x1b[0K\n")) ==
        std::vector<std::string>{"Running tests"});
}

TEST_CASE("triage keeps the timestamps a program prints when the CI stamps no line") {
  std::string log =
      "$ test/functional/test_runner.py\n"
      "2019-08-03T02:07:32.581000Z TestFramework (ERROR): Unexpected exception\n"
      "Traceback (most recent call last):\n";
  CHECK(lines_of(normalize(log))[1] ==
        "2019-08-03T02:07:32.581000Z TestFramework (ERROR): Unexpected exception");
}

TEST_CASE("triage strips GitHub Actions commands and timestamps") {
  std::string log =
      "2024-03-01T10:00:00.1234567Z ##[group]Run make test\n"
      "2024-03-01T10:00:00.2234567Z make test\n"
      "2024-03-01T10:00:00.3234567Z ##[endgroup]\n"
      "2024-03-01T10:00:01.0000000Z src/a.c:3:5: error: 'x' undeclared\n"
      "2024-03-01T10:00:02.0000000Z ##[error]Process completed with exit code 2.\n"
      "2024-03-01T10:00:02.0000000Z ##[warning]Node.js 16 actions are deprecated.\n";
  std::vector<std::string> lines = lines_of(normalize(log));
  CHECK(lines == std::vector<std::string>{"Run make test", "make test",
                                          "src/a.c:3:5: error: 'x' undeclared",
                                          "Error: Process completed with exit code 2.",
                                          "Warning: Node.js 16 actions are deprecated."});
  CHECK((classify(lines[3]).traits & kStepFailed) != 0);
  CHECK(score(lines[4]) <= 2);
}

TEST_CASE("triage recognizes failures across ecosystems") {
  // One line each in the wording of the tool that prints it, written for this test from each
  // tool's output format (the real excerpts are in the fixture test below).
  const char* failures[] = {
      "src/main.c:12:5: error: 'count' undeclared (first use in this function)",  // gcc, clang
      "main.cpp:(.text+0x1f): undefined reference to `frobnicate()'",             // ld
      "error[E0308]: mismatched types",                                           // rustc
      "src/app.ts(3,5): error TS2322: Type 'string' is not assignable to type 'number'.",
      "App.java:7: error: cannot find symbol",  // javac
      "Program.cs(3,7): error CS0246: The type or namespace name 'Foo' could not be found",
      "E: Unable to locate package libfoo-dev",                       // apt
      "The command '/bin/sh -c npm ci' returned a non-zero code: 1",  // docker build
      "./main.go:9:2: undefined: fmt.Printl",                         // go build
      "--- FAIL: TestParse (0.00s)",                                  // go test
      "panic: runtime error: index out of range [3] with length 3",
      "test result: FAILED. 3 passed; 1 failed; 0 ignored",   // cargo test
      "thread 'main' panicked at 'boom', src/main.rs:2:5",    // rust
      "FAIL src/sum.test.js",                                 // jest
      "  ● Math › adds numbers",                              // jest
      "  1 failing",                                          // mocha
      "FAILED tests/test_api.py::test_get - KeyError: 'id'",  // pytest
      "E       assert 1 == 2",                                // pytest
      "Traceback (most recent call last):",                   // python
      "ValueError: invalid literal for int() with base 10: 'x'",
      "Tests run: 3, Failures: 1, Errors: 0, Skipped: 0, Time elapsed: 0.1 sec <<< FAILURE!",
      "[ERROR] Failed to execute goal org.apache.maven.plugins:maven-surefire-plugin:2.22.2:test",
      "* What went wrong:",                                         // gradle
      "FAILURE: Build failed with an exception.",                   // gradle
      "[error] (Compile / compileIncremental) Compilation failed",  // sbt
      "Failures:",                                                  // RSpec
      "2 examples, 1 failure",
      "  1) Failure:",                                            // minitest
      "The following tests FAILED:",                              // ctest
      "FAILURES!",                                                // PHPUnit
      "not ok 3 - parses dates",                                  // TAP, prove
      "** (RuntimeError) something broke",                        // ExUnit, mix
      "Test suite spec: FAIL",                                    // Haskell cabal
      "npm ERR! code ERESOLVE",                                   // npm
      "ERROR: No matching distribution found for requests==9.9",  // pip
      "Could not find gem 'rails (~> 9.0)' in any of the gem sources listed in your Gemfile.",
      "Your requirements could not be resolved to an installable set of packages.",  // composer
      "[ERROR] Failed to execute goal on project app: Could not resolve dependencies",
      "   > Could not resolve all files for configuration ':app:compileClasspath'.",
      "error: failed to select a version for the requirement `serde = \"^9\"`",  // cargo
      "make: *** [Makefile:12: all] Error 2",                                    // make
      "CMake Error at CMakeLists.txt:10 (find_package):",                        // cmake
      "bash: line 1: yarn: command not found",                                   // shell
      "Killed",                                                                  // OOM killer
      "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory",
      "No output has been received in the last 10m0s, this potentially indicates a stalled build",
      "The job exceeded the maximum time limit for jobs, and has been terminated.",
      "ERROR: Job failed: exit code 1",              // GitLab
      "Error: Process completed with exit code 1.",  // GitHub Actions
      "The command \"make test\" exited with 2.",    // Travis CI
      "==30799==ERROR: AddressSanitizer: heap-use-after-free on address 0x61b000080607",
      "✖ 2 problems (2 errors, 0 warnings)",   // eslint
      "1 file inspected, 1 offense detected",  // rubocop
  };
  for (std::string line : failures) {
    INFO(line);
    CHECK(score(line) >= 4);
  }
  CHECK((classify("The command \"make test\" exited with 2.").traits & kStepFailed) != 0);
  CHECK((classify("ERROR: Job failed: exit code 1").traits & kStepFailed) != 0);
  CHECK((classify("The command \"npm ci\" failed. Retrying, 2 of 3.").traits & kStepFailed) != 0);
}

TEST_CASE("triage does not mistake passing output for failures") {
  const char* quiet[] = {
      "The command \"make test\" exited with 0.",
      "Tests run: 12, Failures: 0, Errors: 0, Skipped: 0",
      "== 12 passed, 0 failed in 3.2s ==",
      "  ✓ handles an error event (12ms)",
      "tests/test_errors.py::test_error_message PASSED                  [ 12%]",
      "ok 7 - reports a timeout",
      "SKIP Bug #55797 (segfault in optimized builds) [ext/calendar/tests/bug55797_1.phpt]",
      "test_raises (tests.test_core.CoreTest) ... ok",
      "        except KeyError:",
      "    raise ValueError(msg)",
      "Compiling src/error.rs",
      "Downloading error_prone_core-2.3.2.jar",
      "no errors found",
      "stderror handler installed",
      "-- Found Threads: TRUE",
      "# FAIL:  0",  // automake's test summary
      "# ERROR: 0",
  };
  for (std::string line : quiet) {
    INFO(line);
    CHECK(score(line) < 4);
  }
  CHECK(score("npm WARN deprecated request@2.88.2: request has been deprecated") <= 2);
  CHECK(score("[warn] /src/a.scala:3: Could not find any member to link") <= 2);
  CHECK(score("warning: unused variable 'x' [-Wunused-variable]") <= 2);
}

TEST_CASE("triage finds real failures buried in a long build") {
  struct Case {
    const char* fixture;
    std::vector<const char*> shown;  // lines of the labeled failure, blanks folded
  };
  // Excerpts of LogChunks logs (fixtures/SOURCES.md); `shown` are lines of their labeled chunk.
  const Case cases[] = {
      {"cmake_missing_package",
       {"CMake Error at /usr/share/cmake-3.2/Modules/FindPackageHandleStandardArgs.cmake:138",
        "Could NOT find Halide", "CMakeLists.txt:46 (include)"}},
      {"pytest_assertion",
       {"_ test_readme _", "for rule in bundled:", "tests/test_readme.py:11: AssertionError"}},
      {"maven_surefire_failure",
       {"nullErrorThrows(retrofit2.ResponseTest) Time elapsed: 0.017 sec <<< FAILURE!",
        "at org.apache.maven.surefire.booter.ForkedBooter.main(ForkedBooter.java:75)"}},
      {"mocha_failing",
       {"1) window namespace tests issue #25801 - default column when opening a file:",
        "AssertionError: wanted fileName:", "at <anonymous>"}},
      {"exunit_failure",
       {"1) test reloads on every request (Phoenix.CodeReloaderTest)",
        "** (ArgumentError) argument error", "test/phoenix/code_reloader_test.exs:41: (test)"}},
      {"node_syntax_error",
       {"/home/travis/build/google/web-starter-kit/gulp-tasks/serve.js:31",
        "SyntaxError: Unexpected token )", "at loadTasks ("}},
      {"perl_prove",
       {"t/https.t ........ Connection error: Connect timeout at t/https.t line 17.",
        "# Looks like your test exited with 11 before it could output anything."}},
      {"rustc_error",
       {"error[E0407]: method `oom` is not a member of trait `Alloc`",
        "found type `unsafe fn(&mut &'a LockedHeap, *mut u8, core::alloc::Layout)`"}},
      {"rust_panic",
       {"* Failure 404 Not Found", "thread 'main' panicked at 'called `Result::unwrap()`"}},
      {"r_cmd_check", {"Package required but not available:"}},
      {"sbt_compile_error",
       {"ReificationSupport.scala:614: ')' expected", "[error] one error found",
        "[error] Total time: 120 s"}},
      {"lua_stack_traceback",
       {"fail: [string \"bundle:libs/codec.lua\"]:123: No such hash:", "stack traceback:",
        "[string \"bundle:main.lua\"]:39: in function <[string \"bundle:main.lua\"]:31>"}},
      {"conda_packages_not_found",
       {"PackagesNotFoundError: The following packages are not available from current channels:",
        "- pillow=4.0.0"}},
      {"rubocop_offense",
       {"C: Style/FrozenStringLiteralComment: Missing magic comment",
        "class RenameEditNotificationSetting < ActiveRecord::Migration[5.2]"}},
      {"php_run_tests",
       {"005+ Parameter #1 [ <optional> $flags ]",
        "========DONE========", "FAIL Bug#71412 ArrayIterator reflection parameter info"}},
      {"shell_lint",
       {"src/test/test_framework/util.h seems to be missing the expected include guard:",
        "^---- failure generated from test/lint/lint-include-guards.sh"}},
      {"tape_not_ok", {"operator: notOk", "expected: false", "at Test.bound [as _end]"}},
      {"travis_retry_git_clone",
       {"Cloning into 'square/retrofit'...",
        "fatal: Remote branch jakew/readmes/2018-11-16 not found in upstream origin",
        "failed 3 times."}},
      {"python_chained_traceback",
       {"TestFramework (ERROR): Unexpected exception caught during testing",
        "http.client.RemoteDisconnected: Remote end closed connection without response",
        "During handling of the above exception, another exception occurred:",
        "ConnectionRefusedError: [Errno 111] Connection refused"}},
  };
  for (const Case& c : cases) {
    INFO(std::string(c.fixture));
    std::string out = excerpt(buried(log_fixture(c.fixture)), kDefaultBudget);
    CHECK(out.size() <= kDefaultBudget);
    std::string shown = folded(out);
    for (std::string line : c.shown) {
      INFO(line);
      CHECK(shown.find(line) != std::string::npos);
    }
  }
}

TEST_CASE("triage never exceeds the budget") {
  std::mt19937 random(6);
  std::vector<std::string> logs = {
      "",
      "\n\n\n",
      "error: one line\n",
      std::string(100'000, 'x'),                       // one line longer than any budget
      "error: " + std::string(50'000, '\xC3') + "\n",  // invalid UTF-8 throughout
      buried("src/a.c:1:1: error: expected ';'\n"),
      log_fixture("python_chained_traceback"),
      log_fixture("cmake_missing_package"),
  };
  std::string binary(20'000, '\0');
  for (char& c : binary) c = static_cast<char>(random());
  logs.push_back(binary);
  std::string progress;
  for (int i = 0; i < 2000; ++i) progress += "\xE2\x96\x88 " + std::to_string(i) + "%\r";
  logs.push_back(progress + "\nerror: done\n");
  std::string cursor_moves = "moved";
  for (int i = 0; i < 20'000; ++i) cursor_moves += "\x1b[10000C";
  logs.push_back(cursor_moves + "x\n");
  std::string varied;
  for (int i = 0; i < 400; ++i) {
    varied += (i % 7 == 0 ? "FAILED test_" : "ok ") + std::to_string(i) +
              std::string(static_cast<std::size_t>(random() % 300), 'y') + "\n";
  }
  logs.push_back(varied);

  const std::size_t fixed[] = {0, 1, 2, 10, 24, 25, 26, 30, 40, 64, 100, 255, 256, 1000, 8192};
  for (const std::string& log : logs) {
    std::vector<std::size_t> budgets(std::begin(fixed), std::end(fixed));
    for (int i = 0; i < 25; ++i) budgets.push_back(random() % 12'000);
    for (std::size_t budget : budgets) {
      std::string out = excerpt(log, budget);
      INFO("log of " << log.size() << " bytes, budget " << budget);
      REQUIRE(out.size() <= budget);
      REQUIRE(valid_utf8(out));
      REQUIRE(std::none_of(out.begin(), out.end(), [](char c) {
        auto byte = static_cast<unsigned char>(c);
        return (byte < 0x20 && c != '\n' && c != '\t') || byte == 0x7F;
      }));
    }
  }
}

TEST_CASE("triage of nothing is nothing") {
  CHECK(excerpt("").empty());
  CHECK(excerpt("\n \n\t\n\r\n").empty());
  CHECK(excerpt("error: boom\n", 0).empty());
}

TEST_CASE("triage cuts a line longer than the budget in its middle") {
  std::string line = "ERROR start " + std::string(20'000, 'm') + " the end";
  std::string out = excerpt(line + "\n", 600);
  CHECK(out.size() <= 600);
  CHECK(out.starts_with("ERROR start mmm"));
  CHECK(out.find(" bytes cut ...] ") != std::string::npos);
  CHECK(out.ends_with("mmm the end\n"));
}

TEST_CASE("triage marks every elision, keeps log order and folds repeats") {
  std::string log;
  for (int i = 0; i < 500; ++i) log += "compiling unit " + std::to_string(i) + "\n";
  log += "src/unit_500.c:3:1: error: unknown type name 'sizet'\n";
  for (int i = 0; i < 40; ++i) log += "retrying connection\n";
  for (int i = 501; i < 1000; ++i) log += "compiling unit " + std::to_string(i) + "\n";
  std::string out = excerpt(log, 700);
  REQUIRE(out.size() <= 700);
  std::vector<std::string> lines = split(out);
  REQUIRE(!lines.empty());

  // Every line of the log is either shown or counted in a marker, and shown lines keep their
  // order.
  std::size_t accounted = 0;
  int previous_unit = -1;
  for (const std::string& line : lines) {
    std::size_t omitted = 0;
    if (std::sscanf(line.c_str(), "[... %zu line", &omitted) == 1) {
      accounted += omitted;
      continue;
    }
    std::size_t repeated = 0;
    if (std::sscanf(line.c_str(), "[previous line repeated %zu more", &repeated) == 1) {
      accounted += repeated;
      continue;
    }
    ++accounted;
    int unit = -1;
    if (std::sscanf(line.c_str(), "compiling unit %d", &unit) == 1) {
      CHECK(unit > previous_unit);
      previous_unit = unit;
    }
  }
  CHECK(accounted == 1040);
  CHECK(lines.front().starts_with("[... "));
  CHECK(lines.back().starts_with("compiling unit 999"));
  auto error =
      std::find(lines.begin(), lines.end(), "src/unit_500.c:3:1: error: unknown type name 'sizet'");
  REQUIRE(error != lines.end());
  CHECK(*(error - 1) == "compiling unit 499");
  CHECK(*(error + 1) == "retrying connection");
  CHECK(*(error + 2) == "[previous line repeated 39 more times]");
}

TEST_CASE("triage shows the end of a log with no recognizable failure") {
  std::string log;
  for (int i = 0; i < 1000; ++i) log += "step " + std::to_string(i) + "\n";
  std::vector<std::string> lines = split(excerpt(log, 200));
  REQUIRE(lines.size() > 2);
  CHECK(lines.front() == "[... " + std::to_string(1001 - lines.size()) + " lines omitted ...]");
  CHECK(lines.back() == "step 999");
}

TEST_CASE("forgehand triage prints the excerpt of a log file") {
  testing::TempDir dir;
  std::string path = dir.file("job.log");
  {
    std::ofstream out(path, std::ios::binary);
    out << buried(log_fixture("cmake_missing_package"));
  }
  testing::ChildProcess child({"triage", "--budget", "1500", path}, dir.path().string());
  REQUIRE(child.wait() == 0);
  std::string out = child.stdout_text();
  CHECK(out.size() <= 1500);
  CHECK(out.find("Could NOT find Halide") != std::string::npos);

  testing::ChildProcess missing({"triage", dir.file("absent.log")}, dir.path().string());
  CHECK(missing.wait() == 2);
  CHECK(missing.stderr_text().find("absent.log") != std::string::npos);
}
