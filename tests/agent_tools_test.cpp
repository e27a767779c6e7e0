#include "runner/agent_tools.h"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support/fixtures.h"

using namespace forgehand;
using namespace forgehand::runner;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

void write(const fs::path& path, std::string_view content) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << content;
}

SandboxConfig tool_sandbox_config() {
  SandboxConfig config;
  config.timeout = std::chrono::seconds(20);
  return config;
}

// A small repository: tracked sources, an untracked note, and ignored build output and logs,
// next to a file outside it that no tool may reach.
struct Repo {
  testing::TempDir temp;
  std::string root = temp.file("repo");
  std::string outside = temp.file("outside.txt");
  ProcessSandbox sandbox{tool_sandbox_config()};

  Repo() {
    write(root + "/src/main.cpp", "int main() {\n  return 0;\n}\n");
    write(root + "/src/util.h", "#pragma once\ninline int twice(int x) { return 2 * x; }\n");
    write(root + "/README.md", "# demo\n");
    write(root + "/.gitignore", "build/\n*.log\n");
    write(root + "/build/out.cpp", "int ignored() { return 1; }\n");
    write(root + "/app.log", "return of the log\n");
    write(root + "/notes.txt", "untracked but not ignored\n");
    write(outside, "outside the checkout\n");
    std::string command =
        "git -C '" + root + "' init -q && git -C '" + root + "' add src README.md .gitignore";
    REQUIRE(std::system(command.c_str()) == 0);
  }

  ToolBox tools(ToolLimits limits = {}) {
    auto box = ToolBox::open(root, sandbox, limits);
    REQUIRE_MESSAGE(box.has_value(), box.error().message);
    return std::move(*box);
  }
};

std::string args(const json& value) { return value.dump(); }

}  // namespace

TEST_CASE("tools: definitions name every tool with a JSON Schema for its arguments") {
  Repo repo;
  ToolBox tools = repo.tools();
  std::vector<std::string> names;
  for (const ToolDefinition& tool : tools.definitions()) {
    names.push_back(tool.name);
    CHECK_FALSE(tool.description.empty());
    json schema = json::parse(tool.parameters_schema, nullptr, false);
    REQUIRE_FALSE(schema.is_discarded());
    CHECK(schema["type"] == "object");
    for (const auto& required : schema["required"]) {
      CHECK(schema["properties"].contains(required.get<std::string>()));
    }
  }
  CHECK(names == std::vector<std::string>{"list_files", "read_file", "search", "edit_file",
                                          "write_file", "run", "finish"});
}

TEST_CASE("tools: list_files lists tracked and new files, not ignored or deleted ones") {
  Repo repo;
  ToolBox tools = repo.tools();
  fs::remove(repo.root + "/README.md");  // tracked, deleted in the working tree
  ToolResult all = tools.call("list_files", "{}");
  CHECK_FALSE(all.error);
  CHECK(all.text == ".gitignore\nnotes.txt\nsrc/main.cpp\nsrc/util.h\n");

  CHECK(tools.call("list_files", args({{"glob", "src/**/*.{cpp,h}"}})).text ==
        "src/main.cpp\nsrc/util.h\n");
  CHECK(tools.call("list_files", args({{"glob", "src"}})).text == "src/main.cpp\nsrc/util.h\n");
  CHECK(tools.call("list_files", args({{"glob", "*.txt"}})).text == "notes.txt\n");
  CHECK(tools.call("list_files", args({{"glob", "nothing*"}})).text ==
        "no files match \"nothing*\"");
  CHECK(tools.call("list_files", args({{"glob", "/etc/*"}})).error);
  CHECK(tools.call("list_files", args({{"glob", "../*"}})).error);
}

TEST_CASE("tools: list_files is capped") {
  Repo repo;
  ToolLimits limits;
  limits.list_entries = 2;
  ToolBox tools = repo.tools(limits);
  ToolResult listed = tools.call("list_files", "");
  CHECK(listed.text == ".gitignore\nREADME.md\n[... 3 more files; narrow the glob]\n");
}

TEST_CASE("tools: read_file numbers lines, reads ranges and stops at its cap") {
  Repo repo;
  ToolBox tools = repo.tools();
  CHECK(tools.call("read_file", args({{"path", "src/main.cpp"}})).text ==
        "     1\tint main() {\n     2\t  return 0;\n     3\t}\n");
  CHECK(tools.call("read_file", args({{"path", "./src//main.cpp"}, {"lines", "2"}})).text ==
        "     2\t  return 0;\n[lines 2-2 of 3]\n");
  CHECK(tools.call("read_file", args({{"path", "src/main.cpp"}, {"lines", "2-"}})).text ==
        "     2\t  return 0;\n     3\t}\n[lines 2-3 of 3]\n");
  CHECK(contains(tools.call("read_file", args({{"path", "src/main.cpp"}, {"lines", "7-9"}})).text,
                 "has only 3 lines"));
  CHECK(tools.call("read_file", args({{"path", "src/main.cpp"}, {"lines", "3-1"}})).error);
  CHECK(tools.call("read_file", args({{"path", "app.log"}})).text == "     1\treturn of the log\n");

  std::string many;
  for (int i = 1; i <= 100; ++i) many += "line number " + std::to_string(i) + "\n";
  write(repo.root + "/many.txt", many);
  ToolLimits limits;
  limits.read_bytes = 200;
  ToolBox capped = repo.tools(limits);
  ToolResult partial = capped.call("read_file", args({{"path", "many.txt"}}));
  CHECK(partial.text.starts_with("     1\tline number 1\n"));
  CHECK(contains(partial.text, "output limit reached, continue with lines \""));
  CHECK(partial.text.size() < 300);

  write(repo.root + "/blob.bin", std::string("\x7f"
                                             "ELF\0\0\0",
                                             7));
  CHECK(tools.call("read_file", args({{"path", "blob.bin"}})).text ==
        "blob.bin is a binary file (7 bytes)");
  CHECK(contains(tools.call("read_file", args({{"path", "src"}})).text, "is a directory"));
  CHECK(contains(tools.call("read_file", args({{"path", "missing.txt"}})).text, "does not exist"));
}

TEST_CASE("tools: paths cannot leave the checkout") {
  Repo repo;
  ToolBox tools = repo.tools();
  fs::create_symlink(repo.outside, repo.root + "/absolute-link");
  fs::create_symlink("../outside.txt", repo.root + "/relative-link");
  fs::create_symlink("..", repo.root + "/up");
  fs::create_symlink(repo.temp.path(), repo.root + "/out-dir");
  fs::create_symlink("src/main.cpp", repo.root + "/inside-link");

  for (const char* path : {"../outside.txt", "/etc/passwd", "absolute-link", "relative-link",
                           "up/outside.txt", "src/../../outside.txt"}) {
    CAPTURE(path);
    ToolResult read = tools.call("read_file", args({{"path", path}}));
    CHECK(read.error);
    CHECK_FALSE(contains(read.text, "outside the checkout"));
    CHECK(tools.call("write_file", args({{"path", path}, {"content", "x"}})).error);
    CHECK(tools.call("edit_file", args({{"path", path}, {"old", "outside"}, {"new", "x"}})).error);
  }
  CHECK(contains(tools.call("read_file", args({{"path", "relative-link"}})).text,
                 "leads outside the repository"));
  CHECK(contains(tools.call("read_file", args({{"path", "/etc/passwd"}})).text,
                 "absolute paths are not allowed"));
  CHECK(tools.call("write_file", args({{"path", "out-dir/planted.txt"}, {"content", "x"}})).error);
  CHECK_FALSE(fs::exists(repo.temp.file("planted.txt")));
  CHECK(testing::read_file(repo.outside) == "outside the checkout\n");

  // A symlink that stays inside is followed for reading, never written through.
  CHECK(tools.call("read_file", args({{"path", "inside-link"}, {"lines", "1"}})).text ==
        "     1\tint main() {\n[lines 1-1 of 3]\n");
  CHECK(contains(
      tools.call("edit_file", args({{"path", "inside-link"}, {"old", "0"}, {"new", "1"}})).text,
      "is a symbolic link"));
}

TEST_CASE("tools: nothing is written into .git, however it is named or reached") {
  Repo repo;
  ToolBox tools = repo.tools();
  fs::create_symlink(".git", repo.root + "/git-alias");
  for (const char* path :
       {".git/config", ".GIT/hooks/pre-commit", "src/.git/x", "git-alias/hooks/pre-commit"}) {
    CAPTURE(path);
    CHECK(tools.call("write_file", args({{"path", path}, {"content", "x"}})).error);
  }
  CHECK(tools.call("edit_file", args({{"path", "git-alias/HEAD"}, {"old", "ref"}, {"new", "x"}}))
            .error);
  CHECK_FALSE(fs::exists(repo.root + "/.git/hooks/pre-commit"));
  CHECK(contains(testing::read_file(repo.root + "/.git/HEAD"), "ref:"));
  // Reading .git is harmless and sometimes useful.
  CHECK_FALSE(tools.call("read_file", args({{"path", ".git/HEAD"}})).error);
}

TEST_CASE("tools: special files and shared hard links are refused without hanging") {
  Repo repo;
  ToolBox tools = repo.tools();
  REQUIRE(mkfifo((repo.root + "/pipe").c_str(), 0644) == 0);
  CHECK(contains(tools.call("read_file", args({{"path", "pipe"}})).text, "not a regular file"));
  CHECK(tools.call("write_file", args({{"path", "pipe"}, {"content", "x"}})).error);
  fs::create_hard_link(repo.outside, repo.root + "/hardlink.txt");
  CHECK(contains(tools
                     .call("edit_file",
                           args({{"path", "hardlink.txt"}, {"old", "outside"}, {"new", "inside"}}))
                     .text,
                 "several hard links"));
  CHECK(tools.call("write_file", args({{"path", "hardlink.txt"}, {"content", "x"}})).error);
  CHECK(testing::read_file(repo.outside) == "outside the checkout\n");
}

TEST_CASE("tools: search finds lines, respects .gitignore and globs, and is capped") {
  Repo repo;
  ToolBox tools = repo.tools();
  ToolResult found = tools.call("search", args({{"regex", "return\\s+\\d;"}}));
  CHECK_FALSE(found.error);
  CHECK(found.text == "src/main.cpp:2:   return 0;\n");
  CHECK(tools.call("search", args({{"regex", "return"}, {"glob", "**/*.h"}})).text ==
        "src/util.h:2: inline int twice(int x) { return 2 * x; }\n");
  CHECK(tools.call("search", args({{"regex", "untracked"}})).text ==
        "notes.txt:1: untracked but not ignored\n");
  CHECK(tools.call("search", args({{"regex", "no such text"}})).text == "no matches");
  ToolResult invalid = tools.call("search", args({{"regex", "(unclosed"}}));
  CHECK(invalid.error);
  CHECK(contains(invalid.text, "git grep failed"));
  CHECK(tools.call("search", args({{"regex", "x"}, {"glob", "../**"}})).error);

  ToolLimits limits;
  limits.search_matches = 1;
  ToolBox capped = repo.tools(limits);
  ToolResult first = capped.call("search", args({{"regex", "return"}}));
  CHECK(first.text ==
        "src/main.cpp:2:   return 0;\n[more matches not shown; narrow the regex or the glob]\n");
}

TEST_CASE("tools: edit_file replaces text that occurs exactly once") {
  Repo repo;
  ToolBox tools = repo.tools();
  ToolResult missing =
      tools.call("edit_file", args({{"path", "src/main.cpp"}, {"old", "return 1;"}, {"new", ""}}));
  CHECK(missing.error);
  CHECK(contains(missing.text, "was not found"));
  ToolResult twice =
      tools.call("edit_file", args({{"path", "src/util.h"}, {"old", "in"}, {"new", "out"}}));
  CHECK(twice.error);
  CHECK(contains(twice.text, "occurs 4 times"));
  CHECK(tools.call("edit_file", args({{"path", "src/main.cpp"}, {"old", ""}, {"new", "x"}})).error);
  CHECK(tools.call("edit_file", args({{"path", "src/main.cpp"}, {"old", "return 0;"}})).error);

  ToolResult edited = tools.call("edit_file", args({{"path", "src/main.cpp"},
                                                    {"old", "  return 0;\n"},
                                                    {"new", "  int x = 1;\n  return x;\n"}}));
  CHECK_FALSE(edited.error);
  CHECK(edited.text == "edited src/main.cpp at line 2: 1 line(s) replaced by 2 line(s)");
  CHECK(testing::read_file(repo.root + "/src/main.cpp") ==
        "int main() {\n  int x = 1;\n  return x;\n}\n");
}

TEST_CASE("tools: write_file creates directories and replaces files") {
  Repo repo;
  ToolLimits limits;
  limits.write_bytes = 64;
  ToolBox tools = repo.tools(limits);
  CHECK(tools.call("write_file", args({{"path", "tests/unit/new_test.cpp"}, {"content", "a\nb\n"}}))
            .text == "wrote tests/unit/new_test.cpp (4 bytes, 2 lines)");
  CHECK(testing::read_file(repo.root + "/tests/unit/new_test.cpp") == "a\nb\n");
  CHECK(tools.call("write_file", args({{"path", "README.md"}, {"content", ""}})).text ==
        "replaced README.md (0 bytes, 0 lines)");
  CHECK(testing::read_file(repo.root + "/README.md").empty());
  CHECK(contains(
      tools.call("write_file", args({{"path", "big.txt"}, {"content", std::string(65, 'x')}})).text,
      "too large"));
  CHECK(tools.call("write_file", args({{"path", "src"}, {"content", "x"}})).error);
}

TEST_CASE("tools: run executes in the sandbox and records each command") {
  Repo repo;
  ToolLimits limits;
  limits.run_timeout = std::chrono::seconds(1);
  limits.run_output_bytes = 1024;
  ToolBox tools = repo.tools(limits);
  ToolResult ran = tools.call("run", args({{"command", "echo made > made.txt; echo hi; exit 4"}}));
  CHECK_FALSE(ran.error);
  CHECK(ran.text.starts_with("[exit 4 after "));
  CHECK(contains(ran.text, "sandboxed (bubblewrap"));
  CHECK(ran.text.ends_with("]\nhi\n"));
  CHECK(tools.call("read_file", args({{"path", "made.txt"}})).text == "     1\tmade\n");

  CHECK(contains(tools.call("run", args({{"command", "seq 1 10000"}})).text,
                 "bytes of output omitted"));
  CHECK(contains(tools.call("run", args({{"command", "sleep 30"}})).text, "timed out after"));
  ToolResult secret =
      tools.call("run", args({{"command", "echo ghp_abcdefghijklmnopqrstuvwxyz0123456789"}}));
  CHECK_FALSE(contains(secret.text, "ghp_abcdefghijklmnopqrstuvwxyz0123456789"));
  CHECK(contains(secret.text, "[redacted]"));

  const std::vector<CommandRecord>& commands = tools.commands();
  REQUIRE(commands.size() == 4);
  CHECK(commands[0].argv ==
        std::vector<std::string>{"sh", "-c", "echo made > made.txt; echo hi; exit 4"});
  CHECK(commands[0].exit_code == 4);
  CHECK(commands[1].exit_code == 0);
  CHECK(commands[2].timed_out);
  CHECK(commands[3].argv[2] == "echo [redacted]");
}

TEST_CASE("tools: run reports a missing sandbox as an error the model can read") {
  Repo repo;
  SandboxConfig config = tool_sandbox_config();
  config.bwrap_path = "/nonexistent/bwrap";
  ProcessSandbox sandbox(config);
  auto tools = ToolBox::open(repo.root, sandbox);
  REQUIRE(tools.has_value());
  ToolResult ran = tools->call("run", args({{"command", "true"}}));
  CHECK(ran.error);
  CHECK(contains(ran.text, "not installed"));
  CHECK(tools->commands().empty());
  CHECK(tools->call("list_files", "{}").error);
}

TEST_CASE("tools: malformed calls come back as errors the model can act on") {
  Repo repo;
  ToolBox tools = repo.tools();
  CHECK(contains(tools.call("delete_everything", "{}").text, "unknown tool"));
  CHECK(contains(tools.call("read_file", "not json").text, "must be a JSON object"));
  CHECK(contains(tools.call("read_file", "[1]").text, "must be a JSON object"));
  CHECK(tools.call("read_file", "{}").text == "read_file: `path` (a string) is required");
  CHECK(tools.call("read_file", args({{"path", 7}})).text == "read_file: `path` must be a string");
  CHECK(tools.call("run", args({{"command", ""}})).text == "run: `command` must not be empty");
  CHECK(ToolBox::open("relative/path", repo.sandbox).error().code == ErrorCode::invalid_argument);
}

TEST_CASE("tools: finish hands back the summary") {
  Repo repo;
  ToolBox tools = repo.tools();
  ToolResult done = tools.call("finish", args({{"summary", "Fixed the off-by-one."}}));
  CHECK(done.finished);
  CHECK_FALSE(done.error);
  CHECK(done.text == "Fixed the off-by-one.");
  CHECK(tools.call("finish", "{}").error);
}

TEST_CASE("tools: braces in globs expand to alternatives") {
  CHECK(*expand_braces("src/*.cpp") == std::vector<std::string>{"src/*.cpp"});
  CHECK(*expand_braces("**/*.{h,cpp}") == std::vector<std::string>{"**/*.h", "**/*.cpp"});
  CHECK(
      *expand_braces("{src,include}/**/*.{h,hpp}") ==
      std::vector<std::string>{"src/**/*.h", "src/**/*.hpp", "include/**/*.h", "include/**/*.hpp"});
  CHECK(*expand_braces("a{b,{c,d}}e") == std::vector<std::string>{"abe", "ace", "ade"});
  CHECK(*expand_braces("literal{}and{x}") == std::vector<std::string>{"literal{}and{x}"});
  CHECK_FALSE(expand_braces("{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}").has_value());
}

TEST_CASE("tools: a repeated identical call is detected") {
  RepeatedCallDetector detector(3);
  ToolCall read{"1", "read_file", R"({"path":"a","lines":"1-5"})"};
  ToolCall same_reordered{"2", "read_file", R"({ "lines": "1-5", "path": "a" })"};
  ToolCall other{"3", "read_file", R"({"path":"b"})"};
  CHECK_FALSE(detector.record(read));
  CHECK_FALSE(detector.record(same_reordered));
  CHECK(detector.record(read));
  CHECK_FALSE(detector.record(other));
  CHECK_FALSE(detector.record(read));
  CHECK_FALSE(detector.record(read));
  CHECK(detector.record(read));
}

TEST_CASE("tools: listing, searching and running also work under `sandbox: none`") {
  Repo repo;
  SandboxConfig config = tool_sandbox_config();
  config.kind = SandboxKind::none;
  ProcessSandbox sandbox(config);
  auto tools = ToolBox::open(repo.root, sandbox);
  REQUIRE(tools.has_value());
  if (geteuid() == 0) {
    // Nothing remounts the checkout, so its parents must let the sandbox uid through.
    CHECK(contains(tools->call("list_files", "{}").text, "is closed to it"));
    fs::permissions(repo.temp.path(), fs::perms::others_exec, fs::perm_options::add);
  }
  CHECK(tools->call("list_files", args({{"glob", "src"}})).text == "src/main.cpp\nsrc/util.h\n");
  CHECK(tools->call("search", args({{"regex", "return\\s+\\d;"}})).text ==
        "src/main.cpp:2:   return 0;\n");
  ToolResult ran = tools->call("run", args({{"command", "echo hi"}}));
  CHECK(contains(ran.text, "NOT sandboxed"));
  CHECK(ran.text.ends_with("]\nhi\n"));
}
