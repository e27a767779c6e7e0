#pragma once
// Runs an agent CLI (Aider, OpenCode, Codex CLI, ...) in the sandbox, in the checkout, against the
// keyless model proxy: the CLI gets the session's proxy URL and token (never a provider key) in
// OPENAI_BASE_URL, OPENAI_API_BASE, OPENAI_API_KEY and OPENAI_MODEL, and the task in a file. When
// the sandbox has a network namespace of its own, the model bridge carries its connections to
// the proxy. Its final message (a summary file, or the last paragraph of its output) becomes the
// runner summary. Immutable; run() may be called from several threads at once.
//
// Placeholders in argv and in configured environment values:
//   {task_file}     a file holding the task and the repository's guidance (also
//                   FORGEHAND_TASK_FILE); the CLI's stdin is empty
//   {task}          that text itself, as one whole argument
//   {model}         the session's route name (any model name reaches the route)
//   {summary_file}  the absolute path of runner.summary_file (also FORGEHAND_SUMMARY_FILE)
//   {base_url}      the proxy URL the CLI can reach, ending in /v1
//   {api_key}       the session token (environment values only)

#include <memory>
#include <string>

#include "config/server_config.h"
#include "forgehand/clock.h"
#include "forgehand/error.h"
#include "providers/router.h"
#include "providers/session_ledger.h"
#include "proxy/model_proxy.h"
#include "runner/agent.h"
#include "runner/sandbox.h"

namespace forgehand::runner {

// Where the model bridge listens inside a sandbox with its own network namespace, which is empty
// apart from what the CLI itself opens.
inline constexpr int kBridgePort = 7411;

struct ExternalAgentOptions {
  // The forgehand binary that runs `forgehand model-bridge` inside the sandbox; the sandbox uid
  // must be able to run it. Empty: this process's own executable.
  std::string bridge_executable;
  bool network = false;                   // whether policy lets the CLI reach the network
  std::size_t output_bytes = 256 * 1024;  // of the CLI's output, kept for the transcript
  std::size_t summary_bytes = 16 * 1024;  // of the summary
  GuidanceLimits guidance;
  const std::atomic<bool>* cancel = nullptr;  // stops the CLI (SandboxCommand::cancel)
};

class ExternalAgent {
 public:
  // `config.kind` must be `command`. Everything passed by reference must outlive the agent.
  ExternalAgent(RunnerConfig config, const Sandbox& sandbox, proxy::ModelProxy& proxy,
                const providers::Router& router, const Clock& clock,
                ExternalAgentOptions options = {});

  // Runs the CLI once, to its exit or to the session's deadline (and no longer than the
  // sandbox's timeout). The proxy token is granted for this run only and revoked before it
  // returns. A CLI that fails or times out is a result (failed, or stopped for wall time or a
  // spent budget), not an error. Errors: `invalid_argument` for a checkout that is not an
  // absolute directory or a {task} too long for one argument; `io` when the session's directory or
  // the bridge cannot be set up; the sandbox's errors when the CLI cannot be started at all.
  Result<AgentResult> run(const AgentRun& run, const std::string& session_id,
                          std::shared_ptr<providers::SessionLedger> ledger) const;

 private:
  RunnerConfig config_;
  const Sandbox& sandbox_;
  proxy::ModelProxy& proxy_;
  const providers::Router& router_;
  const Clock& clock_;
  ExternalAgentOptions options_;
};

// The last paragraph of `output` (after its last blank line), at most `limit` bytes of its end.
std::string last_paragraph(std::string_view output, std::size_t limit);

}  // namespace forgehand::runner
