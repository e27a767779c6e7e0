#pragma once
// A session's audit record and the store that keeps it: what triggered it, what policy decided,
// which models answered and which credential paid, what ran, what came of it. Records are plain
// values; SessionStore implementations are thread-safe and every write blocks until it is durable
// (or has failed), so the job system can call them from its workers.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "forgehand/clock.h"
#include "forgehand/error.h"
#include "forgehand/event.h"
#include "forgehand/task_type.h"

namespace forgehand {

enum class SessionState { queued, running, succeeded, failed, cancelled, denied };
inline constexpr SessionState kAllSessionStates[] = {SessionState::queued,    SessionState::running,
                                                     SessionState::succeeded, SessionState::failed,
                                                     SessionState::cancelled, SessionState::denied};
inline constexpr std::string_view kSessionStateNames[] = {"queued", "running",   "succeeded",
                                                          "failed", "cancelled", "denied"};

constexpr std::string_view to_string(SessionState state) {
  return kSessionStateNames[static_cast<int>(state)];
}
constexpr std::optional<SessionState> session_state_named(std::string_view name) {
  for (SessionState state : kAllSessionStates) {
    if (to_string(state) == name) return state;
  }
  return std::nullopt;
}
// Succeeded, failed, cancelled and denied sessions never change state again.
constexpr bool is_final(SessionState state) {
  return state != SessionState::queued && state != SessionState::running;
}

enum class PullRequestState { none, open, merged, closed };
inline constexpr std::string_view kPullRequestStateNames[] = {"none", "open", "merged", "closed"};
constexpr std::string_view to_string(PullRequestState state) {
  return kPullRequestStateNames[static_cast<int>(state)];
}

// CI on the commit forgehand pushed.
enum class CiResult { unknown, green, red };
inline constexpr std::string_view kCiResultNames[] = {"unknown", "green", "red"};
constexpr std::string_view to_string(CiResult result) {
  return kCiResultNames[static_cast<int>(result)];
}

// What started the session.
struct SessionTrigger {
  std::string delivery_id;
  EventKind event = EventKind::comment;
  std::string actor;  // login of who commented, or who pushed the commit whose CI failed
  // The head commit the trigger named: the failing commit for a CI fix, the pull request's head
  // for a comment on one. CI fix attempts are counted per this sha.
  std::string head_sha;
};

// The policy's decision (policy::PolicyDecision), in words.
struct SessionDecision {
  bool allowed = false;
  std::string deny_reason;              // policy's DenyReason name; empty when allowed
  std::vector<std::string> reasons;     // in the order they were decided
  std::vector<std::string> rejections;  // repository settings that were not applied
};

// One attempt at one model provider (providers::ProviderCall) and the credential that paid.
struct ModelCall {
  std::string provider;
  std::string model;
  std::string endpoint_host;
  int http_status = 0;  // 200 when it answered; the error's status; 0 when no answer came back
  double latency_seconds = 0;
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  double cost = 0;
  std::string failover_reason;  // why another attempt followed; empty when this one answered
  std::string error;
  // The provider's credential reference ("env:OPENAI_API_KEY"), never its value; empty for a
  // keyless endpoint.
  std::string credential;

  bool answered() const { return http_status >= 200 && http_status < 300 && error.empty(); }
};

// One command the agent ran in the sandbox (runner::CommandRecord); argv is redacted.
struct CommandRun {
  std::vector<std::string> argv;
  int exit_code = -1;
  int signal = 0;
  bool timed_out = false;
  std::chrono::milliseconds duration{0};
};

// One repository instruction file given to the agent (runner::LoadedInstruction).
struct InstructionRecord {
  std::string path;
  std::string sha256;  // hex, of the whole file as read from the default branch
  std::size_t bytes = 0;
  bool truncated = false;
};

struct SessionPullRequest {
  std::int64_t number = 0;  // 0: none opened
  std::string url;
  PullRequestState state = PullRequestState::none;
  std::string merged_by;  // the login that merged it
  std::optional<TimePoint> closed_at;
};

struct SessionRecord {
  std::string id;  // "fh-" and 12 hex digits
  std::string instance;
  std::string repo;  // "owner/repo"
  SessionTrigger trigger;
  std::int64_t number = 0;  // the pull request or issue the trigger is on; 0 for none
  bool is_pull_request = false;
  std::string base_ref;
  std::string base_sha;
  std::string head_ref;  // the branch forgehand pushed; empty until it did
  std::string head_sha;  // the commit forgehand pushed; CI results are recorded against it
  TaskType task = TaskType::comment_task;
  SessionState state = SessionState::queued;
  SessionDecision decision;
  std::string route;
  std::vector<ModelCall> calls;  // in order, failed attempts included
  std::vector<std::string> tools;
  std::vector<InstructionRecord> instructions;
  std::vector<CommandRun> commands;
  double runner_seconds = 0;
  SessionPullRequest pull_request;
  CiResult ci = CiResult::unknown;
  std::string acknowledgement_comment_id;  // the comment edited into the result
  std::string summary;                     // redacted
  std::string error;                       // for people: never a stack trace or a secret
  int attempts = 0;                        // times a worker started it
  std::string worker_id;
  std::optional<TimePoint> heartbeat_at;
  TimePoint created_at;
  std::optional<TimePoint> started_at;
  std::optional<TimePoint> finished_at;

  // "provider/model" of the last call that answered; empty when none did. The reports call this
  // the session's model.
  std::string model() const;
  std::int64_t input_tokens() const;
  std::int64_t output_tokens() const;
  double cost() const;
};

// Fields to change; unset ones keep what is stored. Lists replace the stored list as a whole.
struct SessionUpdate {
  std::optional<std::string> base_sha;
  std::optional<std::string> head_ref;
  std::optional<std::string> head_sha;
  std::optional<std::string> route;
  std::optional<std::vector<ModelCall>> calls;
  std::optional<std::vector<std::string>> tools;
  std::optional<std::vector<InstructionRecord>> instructions;
  std::optional<std::vector<CommandRun>> commands;
  std::optional<double> runner_seconds;
  std::optional<std::string> summary;
  // The redacted transcript as JSON lines (runner::transcript_json_lines); stored compressed,
  // apart from the record, and read back with find_transcript.
  std::optional<std::string> transcript;
  std::optional<std::string> acknowledgement_comment_id;
  // Setting the number marks the pull request open.
  std::optional<std::int64_t> pull_request_number;
  std::optional<std::string> pull_request_url;
};

struct SessionFilter {
  std::string instance;  // empty: any
  std::string repo;      // empty: any
  std::optional<SessionState> state;
  std::optional<TimePoint> since;  // created at or after
  std::size_t limit = 0;           // 0: no limit
};

// What a repository spent in one UTC calendar month, for the policy's monthly budgets.
struct MonthlyUsage {
  std::int64_t sessions = 0;
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  double cost = 0;
  double runner_minutes = 0;
};

// Repositories are named by (instance, "owner/repo"): two forges may both hold an `acme/api`.
// Errors are `io` for storage failures unless a method says otherwise.
class SessionStore {
 public:
  virtual ~SessionStore() = default;

  // Records a new session in its state, which must be `queued`, or `denied` for a decision that
  // refused (finished at once, at `created_at`), with `job`: what the job system needs to run it
  // again after a restart (opaque here, kept until the session finishes; empty: nothing).
  // Errors: `conflict` when the id exists, `invalid_argument` for another state.
  virtual Result<void> create_session(const SessionRecord& session, std::string_view job) = 0;
  Result<void> create_session(const SessionRecord& session) { return create_session(session, {}); }

  // queued → running on `worker`: counts the attempt, sets started and heartbeat times to `now`.
  // Errors: `not_found`; `conflict` unless it is queued (cancelled meanwhile, another worker has
  // it), in which case the caller must not run it.
  virtual Result<void> start_session(std::string_view id, std::string_view worker,
                                     TimePoint now) = 0;

  // Errors: `conflict` once the session is no longer running on `worker` (finished, cancelled,
  // or requeued because the worker was presumed dead): the worker should stop.
  virtual Result<void> heartbeat_session(std::string_view id, std::string_view worker,
                                         TimePoint now) = 0;

  // running → queued, for a retry after its worker died (see stale_sessions); the attempt count
  // stays, `error` says why. Errors: `conflict` unless it is running.
  virtual Result<void> requeue_session(std::string_view id, std::string_view error) = 0;

  // running → queued because forgehand stopped it on purpose (a restart): unlike requeue_session
  // the start is not counted as an attempt. Errors: `conflict` unless it is running.
  virtual Result<void> release_session(std::string_view id, std::string_view error) = 0;

  // Errors: `not_found`. Allowed in any state: results may arrive after a cancellation.
  virtual Result<void> update_session(std::string_view id, const SessionUpdate& update) = 0;

  // queued or running → succeeded, failed or cancelled, with `error` for people (may be empty).
  // Errors: `conflict` when it has finished already (the first finish wins), `invalid_argument`
  // for a state that is not succeeded, failed or cancelled, `not_found`.
  virtual Result<void> finish_session(std::string_view id, SessionState state,
                                      std::string_view error, TimePoint now) = 0;

  // The pull request numbered `number` in the repository was merged (by `merged_by`) or closed:
  // updates every session that opened it. Returns how many; 0 when none did.
  virtual Result<std::size_t> record_pull_request_outcome(
      std::string_view instance, std::string_view repo, std::int64_t number, PullRequestState state,
      std::string_view merged_by, TimePoint at) = 0;

  // The CI named `check` (Event::ci_check) finished on `head_sha`: updates the sessions that
  // pushed it. Each check's latest result wins (a re-run replaces it), and a session is red while
  // any check it has heard of is red, green when all are green: a commit is not green because
  // the last of several workflows to finish passed. Returns how many sessions. Errors:
  // `invalid_argument` without a head sha or a check, or for the result `unknown`.
  virtual Result<std::size_t> record_ci_result(std::string_view instance, std::string_view repo,
                                               std::string_view head_sha, std::string_view check,
                                               CiResult result) = 0;

  virtual Result<std::optional<SessionRecord>> find_session(std::string_view id) = 0;

  // The stored transcript; nullopt when the session has none (or does not exist). Errors:
  // `malformed` when the stored bytes are corrupt.
  virtual Result<std::optional<std::string>> find_transcript(std::string_view id) = 0;

  // The job create_session kept; nullopt once the session has finished, or when none was kept.
  virtual Result<std::optional<std::string>> find_session_job(std::string_view id) = 0;

  // Newest first.
  virtual Result<std::vector<SessionRecord>> list_sessions(const SessionFilter& filter) = 0;

  // Running sessions whose last heartbeat is before `heartbeat_before`: their worker died. Call
  // at start-up and periodically; requeue or fail each.
  virtual Result<std::vector<SessionRecord>> stale_sessions(TimePoint heartbeat_before) = 0;

  // Automatic CI fixes (task ci_fix, any state but denied) triggered by the failing `head_sha`,
  // or by the commit the session that pushed `head_sha` was fixing, and so on back: forgehand's
  // own fix failing CI again counts against the attempts on the commit it fixed.
  virtual Result<std::int64_t> count_ci_fix_attempts(std::string_view instance,
                                                     std::string_view repo,
                                                     std::string_view head_sha) = 0;

  // Sessions (any task, any state but denied) on the pull request numbered `number`.
  virtual Result<std::int64_t> count_pull_request_attempts(std::string_view instance,
                                                           std::string_view repo,
                                                           std::int64_t number) = 0;

  // Sessions created in the UTC calendar month holding `in_month`, denied ones left out.
  virtual Result<MonthlyUsage> monthly_usage(std::string_view instance, std::string_view repo,
                                             TimePoint in_month) = 0;
};

}  // namespace forgehand
