#include "forges/gitea/parse.h"

#include <charconv>

#include "forgehand/forge.h"
#include "forges/common/actor.h"
#include "forges/common/payload_fields.h"

namespace forgehand::gitea {

namespace {

using forges::PayloadFields;

struct Converter {
  PayloadFields& f;
  Event& event;
  std::string_view bot_login;

  Actor actor(const std::string& prefix) {
    // Gitea users have no bot type; forgehand's own account is recognised by bot_login.
    return forges::make_actor(f.string(prefix + ".login"), f.optional_id(prefix + ".id"), false,
                              bot_login);
  }

  void repository(const std::string& object = "repository") {
    event.repo.full_name = f.string(object + ".full_name");
    event.repo.id = f.id(object + ".id");
    event.repo.clone_url = f.optional_string(object + ".clone_url");
    event.repo.html_url = f.optional_string(object + ".html_url");
    event.repo.default_branch = f.optional_string(object + ".default_branch");
  }

  // A fork's pull request has a head repository other than its base (head.repo_id != base.repo_id).
  void pull_request_branches(const std::string& object) {
    event.head_sha = f.optional_string(object + ".head.sha");
    event.head_ref = f.optional_string(object + ".head.ref");
    event.base_sha = f.optional_string(object + ".base.sha");
    event.base_ref = f.optional_string(object + ".base.ref");
    std::string head_repo = f.optional_id(object + ".head.repo_id");
    std::string base_repo = f.optional_id(object + ".base.repo_id");
    event.from_fork = !head_repo.empty() && !base_repo.empty() && head_repo != base_repo;
    if (event.from_fork) event.head_repo = f.optional_string(object + ".head.repo.full_name");
  }

  Parsed issue_comment(std::string_view event_type) {
    event.action = f.string("action");
    if (event.action != "created") {
      return Ignored{"comment " + event.action + ": only new comments carry commands"};
    }
    repository();
    event.kind = EventKind::comment;
    event.number = f.integer("issue.number");
    // `is_pull` arrived in Gitea 1.13; older payloads only have issue.pull_request, and the
    // fine-grained event type says "pull_request_comment" for pull requests.
    event.is_pull_request = f.optional_boolean(
        "is_pull", f.has("issue.pull_request") || event_type == "pull_request_comment");
    event.comment_id = f.id("comment.id");
    event.comment_body = f.string("comment.body");
    event.comment_url = f.optional_string("comment.html_url");
    event.actor = actor("comment.user");
    if (f.has("pull_request")) pull_request_branches("pull_request");
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
    pull_request_branches("pull_request");
    event.actor = actor("sender");
    return event;
  }

  // Commit statuses (Gitea 1.23+) come from Gitea Actions and external CI alike, one per
  // context; a re-run reports its context again.
  Parsed status() {
    event.action = f.string("state");
    event.ci_name = f.optional_string("context");
    // Gitea reports the status forgehand sets on its own pull requests back to it.
    if (event.ci_name == kStatusContext) return Ignored{"forgehand's own commit status"};
    if (event.action == "failure" || event.action == "error") {
      event.kind = EventKind::ci_failed;
    } else if (event.action == "success") {
      event.kind = EventKind::ci_passed;
    } else {
      return Ignored{"commit status " + event.action};
    }
    repository();
    event.ci_conclusion = event.action;
    event.ci_check = "status " + event.ci_name;
    event.head_sha = f.string("sha");
    event.ci_url = f.optional_string("target_url");
    event.actor = actor("sender");
    return event;
  }

  // workflow_run (Gitea) and workflow_job (Gitea 1.24+, newer Forgejo) follow GitHub's shape. A
  // run's success is recorded on sessions like a commit status is (a re-run keeps the run's id);
  // a job's is not: its run reports.
  std::optional<Parsed> workflow_completed(const std::string& object,
                                           bool reports_success = false) {
    event.action = f.string("action");
    if (event.action != "completed") return Ignored{object + " " + event.action};
    event.ci_conclusion = f.optional_string(object + ".conclusion");
    if (event.ci_conclusion == "failure") {
      event.kind = EventKind::ci_failed;
    } else if (reports_success && event.ci_conclusion == "success") {
      event.kind = EventKind::ci_passed;
    } else {
      return Ignored{object + " concluded " +
                     (event.ci_conclusion.empty() ? "nothing" : event.ci_conclusion)};
    }
    repository();
    event.head_sha = f.string(object + ".head_sha");
    event.head_ref = f.optional_string(object + ".head_branch");
    event.ci_url = f.optional_string(object + ".html_url");
    event.actor = actor("sender");
    return std::nullopt;
  }

  Parsed workflow_run() {
    if (auto done = workflow_completed("workflow_run", true)) return *done;
    event.ci_run_id = f.id("workflow_run.id");
    event.ci_check = "workflow run " + event.ci_run_id;
    event.ci_name = f.optional_string("workflow_run.name");
    return event;
  }

  Parsed workflow_job() {
    if (auto done = workflow_completed("workflow_job")) return *done;
    event.ci_job_ids.push_back(f.id("workflow_job.id"));
    event.ci_run_id = f.optional_id("workflow_job.run_id");
    event.ci_name = f.optional_string("workflow_job.name");
    return event;
  }

  // Forgejo's own CI events: action_run_failure, _recover and _success (ActionPayload). The
  // payload has no top-level repository or sender: both live in `run`. Forgejo sends _success
  // for every run that passes, and _recover besides when the workflow's previous run had failed
  // (services/webhook/notifier.go ActionRunNowDone), so _recover adds nothing.
  Parsed action_run(std::string_view name) {
    event.action = f.string("action");
    if (name == "action_run_failure") {
      event.kind = EventKind::ci_failed;
      event.ci_conclusion = "failure";
    } else if (name == "action_run_success") {
      event.kind = EventKind::ci_passed;
      event.ci_conclusion = "success";
    } else {
      return Ignored{std::string(name)};
    }
    repository("run.repository");
    event.ci_run_id = f.id("run.id");
    event.ci_check = "run " + event.ci_run_id;
    event.ci_name = f.optional_string("run.title");
    event.ci_url = f.optional_string("run.html_url");
    event.head_sha = f.string("run.commit_sha");
    // prettyref is "#<number>" for a pull request's run and the branch name otherwise.
    std::string ref = f.optional_string("run.prettyref");
    std::int64_t number = 0;
    auto [end, ec] =
        std::from_chars(ref.data() + (ref.empty() ? 0 : 1), ref.data() + ref.size(), number);
    if (ref.starts_with('#') && ec == std::errc{} && end == ref.data() + ref.size()) {
      event.number = number;
      event.is_pull_request = true;
    } else {
      event.head_ref = ref;
    }
    event.from_fork = f.optional_boolean("run.is_fork_pull_request");
    event.actor = actor("run.trigger_user");
    return event;
  }
};

}  // namespace

Result<Parsed> parse_delivery(const Delivery& delivery, Flavour flavour,
                              std::string_view bot_login) {
  std::string_view forge = flavour == Flavour::gitea ? "gitea" : "forgejo";
  // Forgejo sends X-Forgejo-* and, like Gitea, X-Gitea-*; older Forgejo only the latter.
  std::string_view event_type = delivery.header("x-forgejo-event-type");
  if (event_type.empty()) event_type = delivery.header("x-gitea-event-type");
  return forges::convert_payload(delivery, forge, [&](PayloadFields& fields, Event& event) {
    Converter convert{fields, event, bot_login};
    const std::string& name = delivery.event;
    if (name == "issue_comment") return convert.issue_comment(event_type);
    if (name == "pull_request") return convert.pull_request();
    if (name == "workflow_job") return convert.workflow_job();
    if (flavour == Flavour::gitea && name == "status") return convert.status();
    if (flavour == Flavour::gitea && name == "workflow_run") return convert.workflow_run();
    if (flavour == Flavour::forgejo && name.starts_with("action_run_")) {
      return convert.action_run(name);
    }
    return Parsed{Ignored{std::string(forge) + " event " + name + " is not handled"}};
  });
}

}  // namespace forgehand::gitea
