#include "dispatch/outcome_recorder.h"

#include "util/log.h"

namespace forgehand {

OutcomeRecorder::OutcomeRecorder(SessionStore& store, const Clock& clock)
    : store_(store), clock_(clock) {}

Result<void> OutcomeRecorder::handle(const Event& event) {
  const std::string& repo = event.repo.full_name;
  if (event.kind == EventKind::pr_closed) {
    PullRequestState state = event.merged ? PullRequestState::merged : PullRequestState::closed;
    auto updated = store_.record_pull_request_outcome(event.instance, repo, event.number, state,
                                                      event.merged_by, clock_.now());
    if (!updated) return tl::unexpected(updated.error());
    if (*updated > 0) {
      log::info("pull request outcome recorded", {{"delivery", event.delivery_id},
                                                  {"instance", event.instance},
                                                  {"repo", repo},
                                                  {"number", event.number},
                                                  {"state", to_string(state)},
                                                  {"merged_by", event.merged_by},
                                                  {"sessions", *updated}});
    }
    return {};
  }
  bool verdict = event.kind == EventKind::ci_passed || event.kind == EventKind::ci_failed;
  if (!verdict || event.ci_check.empty() || event.head_sha.empty()) return {};
  CiResult result = event.kind == EventKind::ci_passed ? CiResult::green : CiResult::red;
  auto updated =
      store_.record_ci_result(event.instance, repo, event.head_sha, event.ci_check, result);
  if (!updated) return tl::unexpected(updated.error());
  if (*updated > 0) {
    log::info("CI result recorded", {{"delivery", event.delivery_id},
                                     {"instance", event.instance},
                                     {"repo", repo},
                                     {"head_sha", event.head_sha},
                                     {"check", event.ci_check},
                                     {"result", to_string(result)},
                                     {"sessions", *updated}});
  }
  return {};
}

}  // namespace forgehand
