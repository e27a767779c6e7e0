#include "dispatch/session_records.h"

namespace forgehand {

SessionRecord new_session_record(const SessionRequest& request, TimePoint now) {
  const Event& event = request.event;
  SessionRecord session;
  session.id = request.session_id;
  session.instance = event.instance;
  session.repo = event.repo.full_name;
  session.trigger = {event.delivery_id, event.kind, event.actor.login, event.head_sha};
  session.number = event.number;
  session.is_pull_request = event.is_pull_request;
  session.base_ref = event.base_ref;
  session.base_sha = event.base_sha;
  session.task = request.decision.task;
  session.state = request.decision.allowed ? SessionState::queued : SessionState::denied;
  session.decision = decision_record(request.decision);
  session.route = request.decision.route;
  session.acknowledgement_comment_id = request.acknowledgement.id;
  session.created_at = now;
  return session;
}

SessionDecision decision_record(const policy::PolicyDecision& decision) {
  return SessionDecision{
      decision.allowed,
      decision.allowed ? std::string() : std::string(policy::to_string(decision.deny_reason)),
      decision.reasons, decision.rejections};
}

std::vector<ModelCall> model_call_records(const std::vector<providers::ProviderCall>& calls,
                                          const ServerConfig& config) {
  std::vector<ModelCall> records;
  records.reserve(calls.size());
  for (const providers::ProviderCall& call : calls) {
    std::string credential;
    for (const ProviderConfig& provider : config.providers) {
      if (provider.name == call.provider) credential = provider.credential.reference;
    }
    records.push_back(ModelCall{call.provider, call.model, call.endpoint_host, call.http_status,
                                call.latency_seconds, call.usage.input_tokens,
                                call.usage.output_tokens, call.cost, call.failover_reason,
                                call.error, std::move(credential)});
  }
  return records;
}

Result<policy::History> session_history(SessionStore& store, const Event& event,
                                        std::int64_t pull_request, const std::string& head_sha,
                                        TimePoint now) {
  policy::History history;
  const std::string& repo = event.repo.full_name;
  if (!head_sha.empty()) {
    auto attempts = store.count_ci_fix_attempts(event.instance, repo, head_sha);
    if (!attempts) return tl::unexpected(attempts.error());
    history.attempts_for_sha = *attempts;
  }
  if (pull_request > 0) {
    auto attempts = store.count_pull_request_attempts(event.instance, repo, pull_request);
    if (!attempts) return tl::unexpected(attempts.error());
    history.attempts_for_pull_request = *attempts;
  }
  auto usage = store.monthly_usage(event.instance, repo, now);
  if (!usage) return tl::unexpected(usage.error());
  history.month.cost = usage->cost;
  history.month.tokens = usage->input_tokens + usage->output_tokens;
  history.month.runner_minutes = static_cast<std::int64_t>(usage->runner_minutes);
  return history;
}

SessionUpdate agent_result_update(const runner::AgentResult& result, const ServerConfig& config) {
  SessionUpdate update;
  update.calls = model_call_records(result.calls, config);
  std::vector<CommandRun> commands;
  for (const runner::CommandRecord& command : result.commands) {
    commands.push_back(CommandRun{command.argv, command.exit_code, command.signal,
                                  command.timed_out, command.duration});
  }
  update.commands = std::move(commands);
  std::vector<InstructionRecord> instructions;
  for (const runner::LoadedInstruction& instruction : result.instructions) {
    instructions.push_back(InstructionRecord{instruction.path, instruction.sha256,
                                             instruction.bytes, instruction.truncated});
  }
  update.instructions = std::move(instructions);
  update.summary = result.summary;
  update.runner_seconds = result.wall_seconds;
  update.transcript = runner::transcript_json_lines(result.transcript);
  return update;
}

}  // namespace forgehand
