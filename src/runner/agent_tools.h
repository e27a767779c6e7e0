#pragma once
// The built-in agent's tools over one checkout: list_files, read_file, search, edit_file,
// write_file, run and finish. Every path is confined to the checkout (no absolute paths, no
// `..`, no symlink leading out, no write into .git); listing and searching respect .gitignore;
// commands run in the sandbox. Results are text for the model, failures included, so it can
// correct itself. One ToolBox per session, used from one thread.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "forgehand/error.h"
#include "forgehand/provider.h"
#include "runner/sandbox.h"
#include "util/unique_fd.h"

namespace forgehand::runner {

struct ToolLimits {
  std::size_t read_bytes = 48 * 1024;  // what one read_file returns at most
  std::size_t file_bytes = 8 << 20;    // larger files are not read or edited
  std::size_t write_bytes = 1 << 20;   // largest content write_file accepts
  std::size_t list_entries = 1000;     // paths one list_files returns
  std::size_t search_matches = 200;    // matching lines one search returns
  std::size_t search_matches_per_file = 20;
  std::size_t line_chars = 300;  // a longer matching line is cut
  std::size_t run_output_bytes = 32 * 1024;
  std::chrono::milliseconds run_timeout{0};   // 0: the sandbox's configured timeout
  bool network = false;                       // whether run() may use the network (policy)
  const std::atomic<bool>* cancel = nullptr;  // stops a running command (SandboxCommand::cancel)
};

struct ToolResult {
  // For the model and the transcript; already redacted (registered secrets and credential
  // shapes), because it leaves the process towards a model provider.
  std::string text;
  bool error = false;     // the call did nothing; `text` says why and what to do instead
  bool finished = false;  // finish(summary) was called; `text` is the summary
};

// One command the model ran, for the session's audit trail.
struct CommandRecord {
  std::vector<std::string> argv;  // redacted
  int exit_code = -1;
  int signal = 0;
  bool timed_out = false;
  std::chrono::milliseconds duration{0};
};

class ToolBox {
 public:
  // `checkout` must be an existing absolute directory; `sandbox` must outlive the ToolBox.
  // Errors: `invalid_argument` for anything else.
  static Result<ToolBox> open(const std::string& checkout, const Sandbox& sandbox,
                              ToolLimits limits = {});

  // The tools with their JSON Schemas, in a stable order.
  std::vector<ToolDefinition> definitions() const;

  // Runs the tool `name` with `arguments` (a JSON object as text). Never throws; an unknown
  // tool, malformed arguments or a refused path come back as an error result.
  ToolResult call(std::string_view name, std::string_view arguments);

  // Caps how long the following run() commands may take, below ToolLimits::run_timeout: the
  // agent passes what is left of the session's time. 0 lifts the cap.
  void cap_run_time(std::chrono::milliseconds left) { run_cap_ = left; }

  // Every run() so far, in order. list_files and search use git in the sandbox as plumbing;
  // those commands are not listed.
  const std::vector<CommandRecord>& commands() const { return commands_; }

 private:
  ToolBox(UniqueFd root, std::string root_path, const Sandbox& sandbox, ToolLimits limits);

  ToolResult list_files(std::string_view glob);
  ToolResult read_file(std::string_view path, std::string_view lines);
  ToolResult search(std::string_view regex, std::string_view glob);
  ToolResult edit_file(std::string_view path, std::string_view old_text, std::string_view new_text);
  ToolResult write_file(std::string_view path, std::string_view content);
  ToolResult run(std::string_view command);
  // Runs git in the sandbox (the checkout's .git/config is the model's to change, so git never
  // runs outside it).
  Result<SandboxResult> git(std::vector<std::string> args, std::size_t output_limit) const;

  UniqueFd root_;
  std::string root_path_;  // canonical
  const Sandbox* sandbox_;
  ToolLimits limits_;
  std::chrono::milliseconds run_cap_{0};
  std::vector<CommandRecord> commands_;
};

// A glob's brace alternatives, `src/*.{h,cpp}` → `src/*.h`, `src/*.cpp` (git's glob pathspecs
// know `*`, `?`, `[...]` and `**` but not braces). Nested groups expand; a group without a comma
// is literal. Errors: `invalid_argument` past 64 patterns.
Result<std::vector<std::string>> expand_braces(std::string_view pattern);

// Spots a model going round in circles: the same tool with the same arguments several times in
// a row. Arguments are compared as JSON, so key order and spacing do not matter.
class RepeatedCallDetector {
 public:
  explicit RepeatedCallDetector(int limit = 3) : limit_(limit) {}

  // Records `call`; true once it is the `limit`-th identical call in a row.
  bool record(const ToolCall& call);

 private:
  int limit_;
  std::string last_;
  int count_ = 0;
};

}  // namespace forgehand::runner
