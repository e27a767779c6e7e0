#include "forges/gitlab/parse.h"

#include <regex>

#include "forges/common/actor.h"
#include "forges/common/payload_fields.h"

namespace forgehand::gitlab {

namespace {

using forges::PayloadFields;

// Project and group access tokens act through bot users named project_<id>_bot_<random> and
// group_<id>_bot_<random> (docs.gitlab.com/user/project/settings/project_access_tokens,
// "Bot users for projects"); service accounts are named service_account_<...>.
bool bot_username(const std::string& username) {
  static const std::regex kBot(R"(^((project|group)_\d+_bot(_\w+)?|service_account_\w+)$)");
  return std::regex_match(username, kBot);
}

struct Converter {
  PayloadFields& f;
  Event& event;
  std::string_view bot_login;

  void project_and_user() {
    event.repo.full_name = f.string("project.path_with_namespace");
    event.repo.id = f.id("project.id");
    event.repo.clone_url = f.optional_string("project.git_http_url");
    event.repo.html_url = f.optional_string("project.web_url");
    event.repo.default_branch = f.optional_string("project.default_branch");
    std::string username = f.string("user.username");
    bool bot = bot_username(username);
    event.actor = forges::make_actor(std::move(username), f.optional_id("user.id"), bot, bot_login);
  }

  // A fork's merge request has different source and target projects.
  void merge_request(const std::string& object) {
    event.is_pull_request = true;
    event.number = f.integer(object + ".iid");
    event.head_ref = f.optional_string(object + ".source_branch");
    event.base_ref = f.optional_string(object + ".target_branch");
    std::string source = f.optional_id(object + ".source_project_id");
    std::string target = f.optional_id(object + ".target_project_id");
    event.from_fork = !source.empty() && !target.empty() && source != target;
  }

  Parsed note() {
    f.string("object_kind");
    // System notes ("added 1 commit", "changed the description") are GitLab's, never commands.
    if (f.optional_boolean("object_attributes.system")) {
      return Ignored{"system note"};
    }
    // `action` exists since GitLab 16.11 (edits fire Note Hooks too); older notes are creations.
    event.action = f.optional_string("object_attributes.action");
    if (!event.action.empty() && event.action != "create") {
      return Ignored{"note " + event.action + ": only new comments carry commands"};
    }
    std::string noteable = f.string("object_attributes.noteable_type");
    if (noteable == "MergeRequest") {
      merge_request("merge_request");
      event.head_sha = f.optional_string("merge_request.last_commit.id");
    } else if (noteable == "Issue") {
      event.number = f.integer("issue.iid");
    } else {
      return Ignored{"comment on a " + noteable};
    }
    project_and_user();
    event.kind = EventKind::comment;
    event.comment_id = f.id("object_attributes.id");
    event.comment_body = f.string("object_attributes.note");
    event.comment_url = f.optional_string("object_attributes.url");
    return event;
  }

  // A pipeline's status is the verdict on all its jobs; retrying a job runs the same pipeline
  // again, so its id names the check across re-runs.
  Parsed pipeline() {
    event.action = f.string("object_attributes.status");
    if (event.action == "failed") {
      event.kind = EventKind::ci_failed;
    } else if (event.action == "success") {
      event.kind = EventKind::ci_passed;
    } else {
      return Ignored{"pipeline " + event.action};
    }
    project_and_user();
    // forgehand's commit status on a commit without a branch pipeline (one with only merge
    // request pipelines, or no CI at all) makes a pipeline of its own, source `external`, by the
    // status's author (docs.gitlab.com/ci/ci_cd_for_external_repos/external_commit_statuses).
    // That is forgehand reporting on itself, not CI.
    if (event.actor.is_self && f.optional_string("object_attributes.source") == "external") {
      return Ignored{"pipeline made by forgehand's own commit status"};
    }
    event.ci_conclusion = event.action;
    event.ci_run_id = f.id("object_attributes.id");
    event.ci_check = "pipeline " + event.ci_run_id;
    event.ci_url = f.optional_string("object_attributes.url");
    event.ci_name = f.optional_string("object_attributes.name");
    event.head_sha = f.string("object_attributes.sha");
    event.head_ref = f.optional_string("object_attributes.ref");
    // Only merge request pipelines carry the merge request; branch pipelines are found by sha.
    if (f.has("merge_request")) merge_request("merge_request");
    for (std::size_t i = 0, n = f.array_size("builds"); i < n; ++i) {
      std::string build = "builds." + std::to_string(i);
      bool failed_build = f.string(build + ".status") == "failed";
      if (failed_build && !f.optional_boolean(build + ".allow_failure")) {
        event.ci_job_ids.push_back(f.id(build + ".id"));
      }
    }
    return event;
  }

  Parsed merge_request_hook() {
    event.action = f.optional_string("object_attributes.action");
    if (event.action != "merge" && event.action != "close") {
      return Ignored{"merge request " + (event.action.empty() ? "event" : event.action)};
    }
    project_and_user();
    event.kind = EventKind::pr_closed;
    merge_request("object_attributes");
    event.head_sha = f.optional_string("object_attributes.last_commit.id");
    event.merged = event.action == "merge";
    // The hook's user is whoever performed the action: the merger, for a merge.
    if (event.merged) event.merged_by = event.actor.login;
    return event;
  }
};

}  // namespace

Result<Parsed> parse_delivery(const Delivery& delivery, std::string_view bot_login) {
  return forges::convert_payload(delivery, "gitlab", [&](PayloadFields& fields, Event& event) {
    Converter convert{fields, event, bot_login};
    const std::string& name = delivery.event;
    if (name == "Note Hook" || name == "Confidential Note Hook") return convert.note();
    if (name == "Pipeline Hook") return convert.pipeline();
    if (name == "Merge Request Hook") return convert.merge_request_hook();
    return Parsed{Ignored{"gitlab event " + name + " is not handled"}};
  });
}

}  // namespace forgehand::gitlab
