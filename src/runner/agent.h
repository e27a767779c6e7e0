#pragma once
// The built-in agent: a loop over the provider router with the ToolBox. The model reasons and
// asks for tools; forgehand runs them in the sandbox and answers, until the model calls
// finish(summary) or ends a turn without tools, or a limit ends the run: turns, the session's
// deadline, its token or cost budget (the ledger), or a tool call repeated without change. The
// result carries everything the session records; nothing in it holds a secret. An Agent is
// immutable and may run several sessions at once; each run uses one thread.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "forgehand/clock.h"
#include "forgehand/error.h"
#include "forgehand/provider.h"
#include "providers/router.h"
#include "providers/session_ledger.h"
#include "runner/agent_prompt.h"
#include "runner/agent_tools.h"
#include "runner/sandbox.h"

namespace forgehand::runner {

enum class TranscriptKind {
  system,     // the system prompt
  user,       // the task
  assistant,  // the model's text and tool calls
  tool,       // a tool's result
  output,     // an agent CLI's output
  note,       // forgehand's own account (why the run stopped)
};

struct TranscriptEntry {
  TimePoint at;
  TranscriptKind kind = TranscriptKind::note;
  std::string content;               // redacted
  std::vector<ToolCall> tool_calls;  // assistant; arguments redacted
  std::string tool_call_id;          // tool
  std::string tool_name;             // tool
  bool error = false;                // tool: the call was refused
};

// One JSON object per line, e.g. {"at":"2025-01-31T12:00:00.250Z","kind":"tool",
// "tool":"read_file","call_id":"call_1","error":false,"content":"..."}.
std::string transcript_json_lines(const std::vector<TranscriptEntry>& transcript);

enum class AgentOutcome {
  finished,  // the agent gave its final answer
  stopped,   // a limit ended the run; `stop` says which
  failed,    // something went wrong that was not a limit (no provider answered, the CLI failed)
};

enum class AgentStop { none, turns, wall_time, budget, repeated_call, cancelled };

std::string_view to_string(AgentOutcome outcome);
std::string_view to_string(AgentStop stop);

struct AgentResult {
  AgentOutcome outcome = AgentOutcome::failed;
  AgentStop stop = AgentStop::none;
  std::string reason;   // why it stopped or failed, for people; empty when finished
  std::string summary;  // the agent's final answer, redacted; may be empty when not finished
  std::vector<TranscriptEntry> transcript;
  // From the session's ledger, which also counts what else the session spent.
  Usage usage;
  double cost = 0;
  std::vector<providers::ProviderCall> calls;
  std::vector<CommandRecord> commands;
  std::vector<LoadedInstruction> instructions;
  // Model completions asked for; for an agent CLI, the answers the proxy gave it.
  int turns = 0;
  double wall_seconds = 0;
  // Whether `git status --porcelain` (run in the sandbox) lists anything; nullopt when it could
  // not tell (the transcript's last note says why). The diff itself is the publish step's.
  std::optional<bool> changed;
  bool sandboxed = true;  // false under `sandbox: none`: nothing was isolated
};

struct AgentOptions {
  int max_turns = 30;           // the policy's session_turns
  int repeated_call_limit = 3;  // the same call this many times in a row stops the run
  GuidanceLimits guidance;
  // A mustache template replacing templates/agent_system.md.mustache; empty: the built-in one.
  std::string system_template;
  ToolLimits tools;  // tools.network: whether policy lets commands reach the network
};

struct AgentRun {
  AgentTask task;
  // The repository's instruction files as read from the default branch (kInstructionFiles).
  std::vector<InstructionFile> instructions;
  std::string checkout;  // absolute
};

class Agent {
 public:
  // `router`, `sandbox` and `clock` must outlive the agent.
  Agent(const providers::Router& router, const Sandbox& sandbox, const Clock& clock,
        AgentOptions options = {});

  // Runs the task to a result, spending from `ledger` (its budget's deadline is the wall-time
  // limit). A run that stops at a limit or fails on the way is a result, not an error. Errors:
  // `invalid_argument` for a checkout that is not an absolute directory, `config` for a system
  // prompt template that does not parse.
  Result<AgentResult> run(const AgentRun& run, providers::SessionLedger& ledger) const;

 private:
  const providers::Router& router_;
  const Sandbox& sandbox_;
  const Clock& clock_;
  AgentOptions options_;
};

// Asks git in the sandbox whether the checkout differs from its HEAD (untracked files count; the
// checkout's .git/config is the agent's to change, so git never runs on it outside the sandbox).
// Errors: the sandbox's, or `io` with git's output when git fails.
Result<bool> checkout_changed(const Sandbox& sandbox, const std::string& checkout);

}  // namespace forgehand::runner
