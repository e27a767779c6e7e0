#pragma once
// One allowed session, from request to review: a checkout of the right base, the agent (built-in
// or an agent CLI) under the policy's limits, the publish checks and push, the pull request, and
// the acknowledgement comment edited into the result with the model attribution; a commit status
// (a check run on GitHub) on the pushed head. What the session did is returned for the audit
// trail. Thread-safe: sessions on different repositories may run at once.

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "config/server_config.h"
#include "dispatch/comment_handler.h"
#include "forgehand/clock.h"
#include "forgehand/forge.h"
#include "forgehand/session.h"
#include "providers/provider_set.h"
#include "proxy/model_proxy.h"
#include "render/templates.h"
#include "runner/agent.h"
#include "runner/sandbox.h"
#include "runner/workspace.h"

namespace forgehand {

struct SessionReport {
  // `queued` when forgehand stopped it (SessionRunnerDeps::stopping): it has not ended.
  SessionState state = SessionState::failed;
  std::string summary;  // the runner's summary, redacted
  std::string error;    // what failed, for people; empty when it did not
  std::optional<PullRequestInfo> pull_request;
  std::string branch;
  std::string pushed_sha;
  runner::AgentResult agent;  // calls, commands, instructions, transcript, usage
  double runner_seconds = 0;
};

struct SessionRunnerDeps {
  const ServerConfig& config;
  const providers::ProviderSet& providers;
  runner::Workspace& workspace;
  const runner::Sandbox& sandbox;
  proxy::ModelProxy& proxy;
  const render::TemplateSet& templates;
  const Clock& clock;
  // Set when forgehand is stopping: a session cancelled then was interrupted, not cancelled by
  // anyone, and runs again at the next start. Null: never.
  const std::atomic<bool>* stopping = nullptr;
};

class SessionRunner {
 public:
  explicit SessionRunner(SessionRunnerDeps deps);

  // Never an error: every failure is a report, and the acknowledgement says what failed.
  // `cancel` turning true stops the agent and kills its sandboxed commands.
  SessionReport run(const SessionRequest& request, const Forge& forge,
                    const std::atomic<bool>& cancel) const;

  // A session that will not run (its worker died once too often, its request could not be read
  // back): the acknowledgement becomes a failure saying why. The report is `failed`.
  SessionReport abandon(const SessionRequest& request, const Forge& forge, std::string error) const;

 private:
  // The acknowledgement edited into the report: the result, or the failure and its reason.
  void post_result(const SessionRequest& request, const Forge& forge,
                   const SessionReport& report) const;

  SessionRunnerDeps deps_;
};

}  // namespace forgehand
