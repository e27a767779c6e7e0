#pragma once
// A delivery turned into the few things forgehand acts on, in one vocabulary for all forges
// (a GitLab merge request is a pull request here). Plain values.

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace forgehand {

enum class EventKind {
  comment,       // a comment was created on a pull request or an issue
  ci_failed,     // CI failed for a commit, usually a pull request's head
  ci_passed,     // CI passed for a commit: a run's verdict (ci_check says which run)
  pr_closed,     // a pull request was closed, merged or not
  installation,  // GitHub: the App was installed or its repositories changed
};
inline constexpr EventKind kAllEventKinds[] = {EventKind::comment, EventKind::ci_failed,
                                               EventKind::ci_passed, EventKind::pr_closed,
                                               EventKind::installation};

constexpr std::string_view to_string(EventKind kind) {
  switch (kind) {
    case EventKind::comment:
      return "comment";
    case EventKind::ci_failed:
      return "ci_failed";
    case EventKind::ci_passed:
      return "ci_passed";
    case EventKind::pr_closed:
      return "pr_closed";
    case EventKind::installation:
      return "installation";
  }
  return "unknown";
}

struct RepoRef {
  std::string full_name;  // "owner/repo"; GitLab: "group/subgroup/project"
  std::string id;         // the forge's numeric id (GitLab's API addresses projects by it)
  std::string clone_url;  // https clone URL
  std::string html_url;
  std::string default_branch;   // empty when the payload does not say
  std::string installation_id;  // GitHub: the App installation whose token acts on it
};

struct Actor {
  std::string login;
  std::string id;
  bool is_bot = false;   // a bot account, forgehand's own included
  bool is_self = false;  // forgehand's own account (the instance's bot_login)
};

struct Event {
  EventKind kind = EventKind::comment;
  std::string instance;
  std::string delivery_id;
  std::string action;  // the forge's own action/state, for logs and audit
  RepoRef repo;
  Actor actor;  // who commented, who pushed the failing commit, who closed

  // The pull request or issue; 0 when a CI event does not name one (fork pull requests on
  // GitHub, branch pipelines on GitLab, commit statuses): find it by head_sha.
  std::int64_t number = 0;
  bool is_pull_request = false;

  std::string comment_id;
  std::string comment_body;
  std::string comment_url;

  std::string head_sha;
  std::string head_ref;
  std::string head_repo;  // full name of the head's repository when it differs (forks)
  std::string base_sha;
  std::string base_ref;
  bool from_fork = false;

  std::string ci_name;                  // workflow, check, pipeline or status context
  std::string ci_run_id;                // workflow run, check suite, pipeline, Actions run
  std::vector<std::string> ci_job_ids;  // the failed jobs the payload names, if any
  std::string ci_url;                   // a page a human can open
  std::string ci_conclusion;            // failure, timed_out, startup_failure, failed, error, ...
  // Which CI's verdict on head_sha this is, stable across re-runs of it ("check suite 42",
  // "pipeline 7", "status CI / test (push)"): set on the CI events that report a run passing as
  // well as failing, empty on the rest (single jobs; GitHub's check runs and workflow runs, which
  // their check suite reports), so each run counts once in the sessions' CI results.
  std::string ci_check;

  bool merged = false;    // pr_closed
  std::string merged_by;  // pr_closed, when merged and the forge says who

  std::vector<std::string> repositories;  // installation: the repositories it covers or changed
};

// A delivery forgehand does not act on, and why, in words for the log.
struct Ignored {
  std::string reason;
};

using Parsed = std::variant<Event, Ignored>;

}  // namespace forgehand
