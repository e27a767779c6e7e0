#pragma once
// The session's audit record (forgehand/session.h) built from what the pipeline produced: the
// request the policy allowed or denied, the agent's result, the providers that were called. Kept
// apart from the store, which knows none of these types. Pure functions.

#include <string>
#include <vector>

#include "config/server_config.h"
#include "dispatch/comment_handler.h"
#include "forgehand/session.h"
#include "policy/policy.h"
#include "providers/session_ledger.h"
#include "runner/agent.h"

namespace forgehand {

// A new record for `request`, queued, or denied when its decision refused.
SessionRecord new_session_record(const SessionRequest& request, TimePoint now);

SessionDecision decision_record(const policy::PolicyDecision& decision);

// Each call with the credential reference of its provider in `config` (never a value).
std::vector<ModelCall> model_call_records(const std::vector<providers::ProviderCall>& calls,
                                          const ServerConfig& config);

// The attempts and monthly spending the policy weighs, from the sessions table.
Result<policy::History> session_history(SessionStore& store, const Event& event,
                                        std::int64_t pull_request, const std::string& head_sha,
                                        TimePoint now);

// The agent's calls, commands, instructions, summary, wall time and transcript.
SessionUpdate agent_result_update(const runner::AgentResult& result, const ServerConfig& config);

}  // namespace forgehand
