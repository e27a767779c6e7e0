#include "dispatch/session_job.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace forgehand {

void to_json(nlohmann::json& j, EventKind kind) { j = to_string(kind); }
void from_json(const nlohmann::json& j, EventKind& kind) {
  auto name = j.get<std::string>();
  auto found = std::find_if(std::begin(kAllEventKinds), std::end(kAllEventKinds),
                            [&](EventKind k) { return to_string(k) == name; });
  if (found == std::end(kAllEventKinds)) {
    throw nlohmann::json::other_error::create(501, "unknown event kind " + name, &j);
  }
  kind = *found;
}
NLOHMANN_JSON_SERIALIZE_ENUM(TaskType, {{TaskType::ci_fix, "ci_fix"},
                                        {TaskType::comment_task, "comment_task"},
                                        {TaskType::issue_task, "issue_task"}})
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(RepoRef, full_name, id, clone_url, html_url,
                                                default_branch, installation_id)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Actor, login, id, is_bot, is_self)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Event, kind, instance, delivery_id, action, repo,
                                                actor, number, is_pull_request, comment_id,
                                                comment_body, comment_url, head_sha, head_ref,
                                                head_repo, base_sha, base_ref, from_fork, ci_name,
                                                ci_run_id, ci_job_ids, ci_url, ci_conclusion,
                                                ci_check, merged, merged_by, repositories)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(CommentRef, id, url)

namespace commands {
NLOHMANN_JSON_SERIALIZE_ENUM(Verb, {{Verb::fix, "fix"},
                                    {Verb::retry, "retry"},
                                    {Verb::cancel, "cancel"},
                                    {Verb::status, "status"},
                                    {Verb::explain, "explain"},
                                    {Verb::help, "help"}})
void to_json(nlohmann::json& j, const Run& run) {
  j = {{"verb", run.verb}, {"instructions", run.instructions}, {"route", run.route}};
}
void from_json(const nlohmann::json& j, Run& run) {
  run.verb = j.value("verb", Verb::fix);
  run.instructions = j.value("instructions", "");
  run.route = j.value("route", "");
}
}  // namespace commands

namespace policy {
NLOHMANN_JSON_SERIALIZE_ENUM(DenyReason, {{DenyReason::none, "none"},
                                          {DenyReason::own_action, "own_action"},
                                          {DenyReason::bot, "bot"},
                                          {DenyReason::commands_off, "commands_off"},
                                          {DenyReason::ci_fix_off, "ci_fix_off"},
                                          {DenyReason::permission, "permission"},
                                          {DenyReason::not_allowlisted, "not_allowlisted"},
                                          {DenyReason::fork, "fork"},
                                          {DenyReason::attempts, "attempts"},
                                          {DenyReason::route, "route"},
                                          {DenyReason::monthly_budget, "monthly_budget"},
                                          {DenyReason::check_failed, "check_failed"}})
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(SessionLimits, tokens, cost, runner_minutes, turns)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(PolicyDecision, allowed, deny_reason, notify,
                                                review_only, task, sensitivity, route, limits,
                                                protected_paths, network, instructions, reasons,
                                                rejections)
}  // namespace policy

namespace {
// Bumped when a field changes meaning; a job of another version is failed, not guessed at.
constexpr int kJobVersion = 1;
}  // namespace

std::string session_job_json(const SessionRequest& request) {
  nlohmann::json job = {{"version", kJobVersion},
                        {"session_id", request.session_id},
                        {"event", request.event},
                        {"run", request.run},
                        {"decision", request.decision},
                        {"acknowledgement", request.acknowledgement},
                        {"failing_jobs", request.failing_jobs},
                        {"failure_excerpt", request.failure_excerpt}};
  return job.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<SessionRequest> parse_session_job(std::string_view json) {
  try {
    nlohmann::json job = nlohmann::json::parse(json);
    if (job.value("version", 0) != kJobVersion) {
      return fail(ErrorCode::malformed, "session job: version " +
                                            std::to_string(job.value("version", 0)) + " is not " +
                                            std::to_string(kJobVersion));
    }
    SessionRequest request;
    request.session_id = job.at("session_id").get<std::string>();
    request.event = job.at("event").get<Event>();
    request.run = job.at("run").get<commands::Run>();
    request.decision = job.at("decision").get<policy::PolicyDecision>();
    request.acknowledgement = job.at("acknowledgement").get<CommentRef>();
    request.failing_jobs = job.value("failing_jobs", std::vector<std::string>{});
    request.failure_excerpt = job.value("failure_excerpt", "");
    return request;
  } catch (const nlohmann::json::exception& e) {
    return fail(ErrorCode::malformed, std::string("session job: ") + e.what());
  }
}

SessionRequest request_from_record(const SessionRecord& record) {
  SessionRequest request;
  request.session_id = record.id;
  request.event.kind = record.trigger.event;
  request.event.instance = record.instance;
  request.event.delivery_id = record.trigger.delivery_id;
  request.event.repo.full_name = record.repo;
  request.event.actor.login = record.trigger.actor;
  request.event.number = record.number;
  request.event.is_pull_request = record.is_pull_request;
  request.event.head_sha = record.trigger.head_sha;
  request.decision.task = record.task;
  request.decision.route = record.route;
  request.acknowledgement.id = record.acknowledgement_comment_id;
  return request;
}

}  // namespace forgehand
