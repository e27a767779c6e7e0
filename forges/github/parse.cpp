#include "forges/github/parse.h"

#include <algorithm>
#include <array>

#include "forges/common/actor.h"
#include "forges/common/payload_fields.h"

namespace forgehand::github {

namespace {

using forges::PayloadFields;

// Conclusions that mean the code is broken. `cancelled`, `neutral`, `skipped`, `stale` and
// `action_required` do not (octokit/webhooks check_suite and workflow_run completed schemas).
bool failed(std::string_view conclusion) {
  static constexpr std::array<std::string_view, 3> kFailed = {"failure", "timed_out",
                                                              "startup_failure"};
  return std::find(kFailed.begin(), kFailed.end(), conclusion) != kFailed.end();
}

struct Converter {
  PayloadFields& f;
  Event& event;
  std::string_view bot_login;

  Actor actor(const std::string& prefix) {
    std::string login = f.string(prefix + ".login");
    std::string type = f.optional_string(prefix + ".type");
    // App accounts are type "Bot" and log in as "<app-slug>[bot]".
    bool bot = type == "Bot" || login.ends_with("[bot]");
    return forges::make_actor(std::move(login), f.optional_id(prefix + ".id"), bot, bot_login);
  }

  void repository() {
    event.repo.full_name = f.string("repository.full_name");
    event.repo.id = f.id("repository.id");
    event.repo.clone_url = f.optional_string("repository.clone_url");
    event.repo.html_url = f.optional_string("repository.html_url");
    event.repo.default_branch = f.optional_string("repository.default_branch");
    event.repo.installation_id = f.optional_id("installation.id");
  }

  // CI payloads list the open pull requests whose head is the commit, in this repository only;
  // fork pull requests are missing (empty list), so `number` stays 0 and the head sha finds them.
  void first_pull_request(const std::string& list) {
    if (f.array_size(list) == 0) return;
    std::string first = list + ".0";
    event.number = f.integer(first + ".number");
    event.is_pull_request = true;
    event.head_ref = f.string(first + ".head.ref");
    event.base_ref = f.string(first + ".base.ref");
    event.base_sha = f.optional_string(first + ".base.sha");
  }

  Parsed issue_comment() {
    event.action = f.string("action");
    if (event.action != "created") {
      return Ignored{"comment " + event.action + ": only new comments carry commands"};
    }
    repository();
    event.kind = EventKind::comment;
    event.number = f.integer("issue.number");
    // A pull request's conversation is an issue with a `pull_request` object attached.
    event.is_pull_request = f.has("issue.pull_request");
    event.comment_id = f.id("comment.id");
    event.comment_body = f.string("comment.body");
    event.comment_url = f.optional_string("comment.html_url");
    event.actor = actor("comment.user");
    return event;
  }

  Parsed pull_request() {
    event.action = f.string("action");
    if (event.action != "closed") return Ignored{"pull_request " + event.action};
    repository();
    event.kind = EventKind::pr_closed;
    event.is_pull_request = true;
    event.number = f.integer("pull_request.number");
    event.merged = f.optional_boolean("pull_request.merged");
    event.merged_by = f.optional_string("pull_request.merged_by.login");
    event.head_sha = f.string("pull_request.head.sha");
    event.head_ref = f.string("pull_request.head.ref");
    event.base_sha = f.optional_string("pull_request.base.sha");
    event.base_ref = f.string("pull_request.base.ref");
    // head.repo is null when the fork was deleted; a fork all the same.
    event.head_repo = f.optional_string("pull_request.head.repo.full_name");
    event.from_fork = event.head_repo != f.optional_string("pull_request.base.repo.full_name");
    event.actor = actor("sender");
    return event;
  }

  // check_suite, check_run, workflow_run and workflow_job share this shape: an object with a
  // conclusion, a head sha and a branch. Failures of each start CI fixes; passing ones become
  // events only where `reports_success` (the check suite, see check_suite()).
  std::optional<Parsed> ci_completed(const std::string& object, bool reports_success = false) {
    event.action = f.string("action");
    if (event.action != "completed") return Ignored{object + " " + event.action};
    event.ci_conclusion = f.optional_string(object + ".conclusion");
    if (failed(event.ci_conclusion)) {
      event.kind = EventKind::ci_failed;
    } else if (reports_success && event.ci_conclusion == "success") {
      event.kind = EventKind::ci_passed;
    } else {
      return Ignored{object + " concluded " +
                     (event.ci_conclusion.empty() ? "nothing" : event.ci_conclusion)};
    }
    repository();
    event.head_sha = f.string(object + ".head_sha");
    event.actor = actor("sender");
    return std::nullopt;
  }

  // The check suite is the one verdict per CI run recorded on sessions: every App's checks have
  // one (GitHub Actions one per workflow run, other CI Apps one per commit), and a re-run
  // completes it again (a workflow run keeps its id and check_suite_id across attempts; were a
  // re-run ever a new suite, the old red would stay, erring towards red). Check runs and
  // workflow jobs are parts of a suite and a workflow run is an Actions suite again: recording
  // those too would count one failure several times.
  Parsed check_suite() {
    if (auto done = ci_completed("check_suite", true)) return *done;
    std::string suite = f.id("check_suite.id");
    event.ci_run_id = std::string(kCheckSuiteRun) + suite;
    event.ci_check = "check suite " + suite;
    event.ci_name = f.optional_string("check_suite.app.slug");
    event.ci_url = f.optional_string("check_suite.url");
    event.head_ref = f.optional_string("check_suite.head_branch");
    first_pull_request("check_suite.pull_requests");
    return event;
  }

  Parsed check_run() {
    if (auto done = ci_completed("check_run")) return *done;
    event.ci_job_ids.push_back(f.id("check_run.id"));
    if (std::string suite = f.optional_id("check_run.check_suite.id"); !suite.empty()) {
      event.ci_run_id = std::string(kCheckSuiteRun) + suite;
    }
    event.ci_name = f.optional_string("check_run.name");
    event.ci_url = f.optional_string("check_run.html_url");
    event.head_ref = f.optional_string("check_run.check_suite.head_branch");
    first_pull_request("check_run.pull_requests");
    return event;
  }

  Parsed workflow_run() {
    if (auto done = ci_completed("workflow_run")) return *done;
    event.ci_run_id = f.id("workflow_run.id");
    event.ci_name = f.optional_string("workflow_run.name");
    event.ci_url = f.optional_string("workflow_run.html_url");
    event.head_ref = f.optional_string("workflow_run.head_branch");
    event.head_repo = f.optional_string("workflow_run.head_repository.full_name");
    event.from_fork = !event.head_repo.empty() && event.head_repo != event.repo.full_name;
    if (f.has("workflow_run.actor")) event.actor = actor("workflow_run.actor");
    first_pull_request("workflow_run.pull_requests");
    return event;
  }

  Parsed workflow_job() {
    if (auto done = ci_completed("workflow_job")) return *done;
    event.ci_job_ids.push_back(f.id("workflow_job.id"));
    event.ci_run_id = f.id("workflow_job.run_id");
    event.ci_name = f.optional_string("workflow_job.workflow_name");
    if (event.ci_name.empty()) event.ci_name = f.optional_string("workflow_job.name");
    event.ci_url = f.optional_string("workflow_job.html_url");
    event.head_ref = f.optional_string("workflow_job.head_branch");
    return event;
  }

  void repository_names(const std::string& list) {
    for (std::size_t i = 0, n = f.array_size(list); i < n; ++i) {
      event.repositories.push_back(f.string(list + "." + std::to_string(i) + ".full_name"));
    }
  }

  Parsed installation() {
    event.action = f.string("action");
    event.kind = EventKind::installation;
    event.repo.installation_id = f.id("installation.id");
    event.actor = actor("sender");
    repository_names("repositories");
    return event;
  }

  Parsed installation_repositories() {
    event.action = f.string("action");
    event.kind = EventKind::installation;
    event.repo.installation_id = f.id("installation.id");
    event.actor = actor("sender");
    repository_names(event.action == "removed" ? "repositories_removed" : "repositories_added");
    return event;
  }
};

}  // namespace

Result<Parsed> parse_delivery(const Delivery& delivery, std::string_view bot_login) {
  return forges::convert_payload(delivery, "github", [&](PayloadFields& fields, Event& event) {
    Converter convert{fields, event, bot_login};
    const std::string& name = delivery.event;
    if (name == "issue_comment") return convert.issue_comment();
    if (name == "pull_request") return convert.pull_request();
    if (name == "check_suite") return convert.check_suite();
    if (name == "check_run") return convert.check_run();
    if (name == "workflow_run") return convert.workflow_run();
    if (name == "workflow_job") return convert.workflow_job();
    if (name == "installation") return convert.installation();
    if (name == "installation_repositories") return convert.installation_repositories();
    return Parsed{Ignored{"github event " + name + " is not handled"}};
  });
}

}  // namespace forgehand::github
