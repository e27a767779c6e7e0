#pragma once
// What a comment leads to: nothing (no command), a reply now (help, explain, status, cancel), or
// a session (fix, retry) when the policy allows it, else a denial that says why. The repository's
// `.forgehand.yml` and template overrides are read from its default branch for every decision, so
// a change there takes effect at once. Thread-safe when the session control is.

#include <functional>
#include <optional>
#include <string>

#include "commands/command_parser.h"
#include "config/server_config.h"
#include "forgehand/event.h"
#include "forgehand/forge.h"
#include "policy/policy.h"
#include "render/templates.h"
#include "render/views.h"

namespace forgehand {

// A session the policy allowed, handed to the job system.
struct SessionRequest {
  std::string session_id;
  Event event;
  commands::Run run;  // a command's verb and instructions; empty for an automatic CI fix
  policy::PolicyDecision decision;
  CommentRef acknowledgement;  // the comment to edit into the result
  // An automatic CI fix (decision.task == ci_fix): the failed jobs and the triaged log excerpt.
  std::vector<std::string> failing_jobs;
  std::string failure_excerpt;
};

// What forgehand already did for a repository, pull request and head commit, and spent this
// month (the policy's attempt limits and budgets). `pull_request` 0 or `head_sha` empty: not asked.
using HistoryLookup = std::function<Result<policy::History>(
    const Event& event, std::int64_t pull_request, const std::string& head_sha)>;

// The job system's side: start a session, answer `status`/`cancel` for the thread the event is
// on (the reply to post, in Markdown), and the history decisions need.
struct SessionControl {
  std::function<Result<void>(const SessionRequest&)> start;
  std::function<Result<std::string>(const Event&)> status;
  std::function<Result<std::string>(const Event&)> cancel;
  HistoryLookup history;  // unset: nothing done or spent yet
};

struct CommentOutcome {
  enum class Kind { ignored, replied, denied, started, failed } kind = Kind::ignored;
  std::string detail;  // the reason ignored, the verb replied to, the deny reason, the session
  // The policy's decision when one was made (explain, denied, started, failed): `forgehand
  // replay` shows it.
  std::optional<policy::PolicyDecision> decision;
};

std::string_view to_string(CommentOutcome::Kind kind);

class CommentHandler {
 public:
  CommentHandler(const ServerConfig& config, const render::TemplateSet& templates,
                 SessionControl control);

  // Errors are the forge's (reading the repository config, posting): transient ones make the
  // delivery's worker retry.
  Result<CommentOutcome> handle(const Event& event, const Forge& forge) const;

  // The name people mention: the instance's bot login without GitHub's `[bot]`, else "forgehand".
  static std::string bot_name(const InstanceConfig* instance);

 private:
  const ServerConfig& config_;
  const render::TemplateSet& templates_;
  SessionControl control_;
};

// What `explain` shows for a decision: its reasons, the repository settings it did not apply, the
// route's providers and, when allowed, the session limits.
render::ExplainView explain_view(const ServerConfig& config, const policy::PolicyDecision& decision,
                                 std::string bot, std::string requester);

// Turns an acknowledgement into a failure comment when its session could not be started.
void report_failed_start(const Forge& forge, const IssueRef& thread, const SessionRequest& session,
                         const std::string& bot, const render::TemplateSet& templates,
                         const Error& error);

// "fh-" and 12 hex digits: short enough to quote in a comment, random enough not to collide.
std::string new_session_id();

}  // namespace forgehand
