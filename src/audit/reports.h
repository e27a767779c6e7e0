#pragma once
// The audit reports over stored sessions: the sessions table, one session in full, usage by
// repository, model or month, and the scoreboard of models by task type. Each comes as text for
// people and as JSON for scripts. A session's model is the provider/model that answered its last
// successful call. Pure functions.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "forgehand/session.h"

namespace forgehand::audit {

// Newest first, as the store lists them; "No sessions." when empty.
std::string sessions_table(const std::vector<SessionRecord>& sessions, std::string_view currency);
nlohmann::json sessions_json(const std::vector<SessionRecord>& sessions);

// `transcript` is the stored JSON lines, shown entry by entry.
std::string session_details(const SessionRecord& session,
                            const std::optional<std::string>& transcript,
                            std::string_view currency);
// The record's JSON with "transcript": an array of the transcript's entries (null without one).
nlohmann::json session_details_json(const SessionRecord& session,
                                    const std::optional<std::string>& transcript);

enum class UsageKey { repo, model, month };
std::optional<UsageKey> usage_key_named(std::string_view name);

// Sessions that ran or are running (denied ones spent nothing), grouped and sorted by key:
// "instance:owner/repo", the model ("-" when none answered), or the UTC month of creation
// ("2025-01").
struct UsageRow {
  std::string key;
  std::int64_t sessions = 0;
  double runner_seconds = 0;
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  double cost = 0;
};
std::vector<UsageRow> usage_by(const std::vector<SessionRecord>& sessions, UsageKey key);
// With a TOTAL line under several rows.
std::string usage_table(const std::vector<UsageRow>& rows, UsageKey key, std::string_view currency);
nlohmann::json usage_json(const std::vector<UsageRow>& rows, UsageKey key);

// Finished sessions (succeeded, failed, cancelled) per model × task type, sorted by both.
struct ScoreRow {
  std::string model;  // "-" when no call answered
  TaskType task = TaskType::comment_task;
  std::int64_t sessions = 0;
  std::int64_t pull_requests = 0;  // sessions that opened one
  std::int64_t merged = 0;
  std::int64_t ci_known = 0;  // sessions whose pushed commit has a CI result
  std::int64_t ci_green = 0;
  double median_cost = 0;
  double median_runner_seconds = 0;

  std::optional<double> merged_share() const;    // of pull_requests; none without any
  std::optional<double> ci_green_share() const;  // of ci_known; none without any
};
std::vector<ScoreRow> scoreboard(const std::vector<SessionRecord>& sessions);
std::string scoreboard_table(const std::vector<ScoreRow>& rows, std::string_view currency);
nlohmann::json scoreboard_json(const std::vector<ScoreRow>& rows);

}  // namespace forgehand::audit
