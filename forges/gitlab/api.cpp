#include "forges/gitlab/api.h"

#include <ctime>
#include <nlohmann/json.hpp>

#include "forges/common/comment_text.h"
#include "forges/common/response_json.h"
#include "forges/common/team_ref.h"

namespace forgehand::gitlab {

namespace {

using nlohmann::json;

// A merge request (GET /projects/:id/merge_requests/:iid). A fork's has source_project_id !=
// target_project_id; GitLab's state "opened" is forgehand's "open".
Result<PullRequestInfo> pull_request_from(const json& mr, std::string_view operation) {
  if (!mr.is_object() || !mr.contains("iid") || !mr["iid"].is_number_integer()) {
    return fail(ErrorCode::malformed,
                "gitlab: " + std::string(operation) + ": the response has no merge request iid");
  }
  PullRequestInfo info;
  info.number = mr["iid"].get<std::int64_t>();
  info.url = forges::json_text(mr, "/web_url"_json_pointer);
  std::string state = forges::json_text(mr, "/state"_json_pointer);
  info.state = state == "opened" ? "open" : state;
  info.head_sha = forges::json_text(mr, "/sha"_json_pointer);
  info.head_ref = forges::json_text(mr, "/source_branch"_json_pointer);
  info.base_ref = forges::json_text(mr, "/target_branch"_json_pointer);
  info.from_fork = forges::json_id(mr, "/source_project_id"_json_pointer) !=
                   forges::json_id(mr, "/target_project_id"_json_pointer);
  return info;
}

// GitLab's commit status states: pending, running, success, failed, canceled, skipped.
std::string_view state_name(CommitState state) {
  switch (state) {
    case CommitState::pending:
      return "running";
    case CommitState::success:
      return "success";
    case CommitState::failure:
    case CommitState::error:
      return "failed";
  }
  return "failed";
}

// Access levels: 10 Guest, 15 Planner, 20 Reporter, 30 Developer, 40 Maintainer, 50 Owner
// (docs.gitlab.com/api/members, "Roles").
Permission permission_for(std::int64_t access_level) {
  if (access_level >= 50) return Permission::admin;
  if (access_level >= 40) return Permission::maintain;
  if (access_level >= 30) return Permission::write;
  if (access_level >= 15) return Permission::triage;
  if (access_level >= 10) return Permission::read;
  return Permission::none;
}

// "YYYY-MM-DD" in UTC, the form of a membership's expires_at.
std::string utc_date(TimePoint at) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(at);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[16];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%d", &utc);
  return buffer;
}

// A member as GET /groups/:id/members/all/:user_id shows it. Minimal access (5) shows nothing of
// the group, so it is not membership here; access ends on expires_at (the daily job that removes
// expired members may not have run yet); membership_state "awaiting" waits for an owner's
// approval (docs.gitlab.com/api/members); a blocked or deactivated account is not active.
bool active_member(const json& member, std::string_view today) {
  auto level = member.find("access_level");
  if (level == member.end() || !level->is_number_integer() || level->get<std::int64_t>() < 10) {
    return false;
  }
  std::string expires = forges::json_text(member, "/expires_at"_json_pointer);
  if (!expires.empty() && expires <= today) return false;
  std::string membership = forges::json_text(member, "/membership_state"_json_pointer);
  std::string account = forges::json_text(member, "/state"_json_pointer);
  return (membership.empty() || membership == "active") && (account.empty() || account == "active");
}

}  // namespace

GitlabApi::GitlabApi(const ApiCaller& api, const Clock& clock, std::string api_url, Secret token,
                     bool oauth_token)
    : api_(api),
      clock_(clock),
      api_url_(std::move(api_url)),
      token_(std::move(token)),
      oauth_token_(oauth_token) {}

Result<HttpResponse> GitlabApi::call(std::string_view operation, std::string method,
                                     std::string path, std::string body) const {
  HttpRequest request;
  request.method = std::move(method);
  request.url = api_url_ + path;
  if (oauth_token_) {
    request.headers.emplace_back("Authorization", "Bearer " + token_.reveal());
  } else {
    request.headers.emplace_back("PRIVATE-TOKEN", token_.reveal());
  }
  request.headers.emplace_back("User-Agent", "forgehand");
  request.body = std::move(body);
  return api_.call(operation, request);
}

std::string GitlabApi::project(const RepoRef& repo) const {
  return "/projects/" + (repo.id.empty() ? url_encode(repo.full_name) : repo.id);
}

std::string GitlabApi::noteable(const IssueRef& issue) {
  return (issue.is_pull_request ? "/merge_requests/" : "/issues/") + std::to_string(issue.number);
}

Result<CommentRef> GitlabApi::post_comment(const IssueRef& issue, std::string_view body) const {
  json payload = {{"body", forges::outgoing_comment(body, kMaxCommentLength)}};
  auto response =
      call("post note", "POST", project(issue.repo) + noteable(issue) + "/notes", payload.dump());
  if (!response) return tl::unexpected(response.error());
  auto note = forges::parse_response(*response, "gitlab", "post note");
  if (!note) return tl::unexpected(note.error());
  std::string note_id = forges::json_id(*note, "/id"_json_pointer);
  // Notes carry no URL of their own; the page's anchor is note_<id>.
  std::string page = issue.repo.html_url +
                     (issue.is_pull_request ? "/-/merge_requests/" : "/-/issues/") +
                     std::to_string(issue.number);
  return CommentRef{note_id, issue.repo.html_url.empty() ? "" : page + "#note_" + note_id};
}

Result<void> GitlabApi::edit_comment(const IssueRef& issue, std::string_view comment_id,
                                     std::string_view body) const {
  json payload = {{"body", forges::outgoing_comment(body, kMaxCommentLength)}};
  auto response = call("edit note", "PUT",
                       project(issue.repo) + noteable(issue) + "/notes/" + std::string(comment_id),
                       payload.dump());
  if (!response) return tl::unexpected(response.error());
  return {};
}

Result<void> GitlabApi::add_reaction(const IssueRef& issue, std::string_view comment_id,
                                     Reaction reaction) const {
  json payload = {{"name", forges::reaction_name(reaction)}};
  auto response = call(
      "award emoji", "POST",
      project(issue.repo) + noteable(issue) + "/notes/" + std::string(comment_id) + "/award_emoji",
      payload.dump());
  if (!response) return tl::unexpected(response.error());
  return {};
}

Result<PullRequestInfo> GitlabApi::open_pull_request(const RepoRef& repo,
                                                     const PullRequestSpec& spec) const {
  json payload = {{"source_branch", spec.head},
                  {"target_branch", spec.base},
                  {"title", (spec.draft ? "Draft: " : "") + spec.title},
                  {"description", forges::outgoing_comment(spec.body, kMaxCommentLength)},
                  {"remove_source_branch", true}};
  auto response =
      call("open merge request", "POST", project(repo) + "/merge_requests", payload.dump());
  if (!response) return tl::unexpected(response.error());
  auto mr = forges::parse_response(*response, "gitlab", "open merge request");
  if (!mr) return tl::unexpected(mr.error());
  return pull_request_from(*mr, "open merge request");
}

Result<PullRequestInfo> GitlabApi::pull_request(const RepoRef& repo, std::int64_t number) const {
  auto response =
      call("get merge request", "GET", project(repo) + "/merge_requests/" + std::to_string(number));
  if (!response) return tl::unexpected(response.error());
  auto mr = forges::parse_response(*response, "gitlab", "get merge request");
  if (!mr) return tl::unexpected(mr.error());
  return pull_request_from(*mr, "get merge request");
}

Result<std::vector<PullRequestInfo>> GitlabApi::open_pull_requests_for_commit(
    const RepoRef& repo, std::string_view sha) const {
  auto response =
      call("find merge requests for commit", "GET",
           project(repo) + "/repository/commits/" + std::string(sha) + "/merge_requests");
  if (!response) return tl::unexpected(response.error());
  auto list = forges::parse_response(*response, "gitlab", "find merge requests for commit");
  if (!list) return tl::unexpected(list.error());
  std::vector<PullRequestInfo> open;
  if (!list->is_array()) return open;
  for (const json& mr : *list) {
    auto info = pull_request_from(mr, "find merge requests for commit");
    if (info && info->state == "open" && info->head_sha == sha) open.push_back(*info);
  }
  return open;
}

Result<std::optional<std::string>> GitlabApi::read_file(const RepoRef& repo, std::string_view path,
                                                        std::string_view ref) const {
  // The whole path is one URL-encoded segment ("dir%2Ffile"), per the repository files API.
  auto response =
      call("read file", "GET",
           project(repo) + "/repository/files/" + url_encode(path) + "/raw?ref=" + url_encode(ref));
  if (!response) {
    if (response.error().code == ErrorCode::not_found) return std::optional<std::string>{};
    return tl::unexpected(response.error());
  }
  return std::optional<std::string>{std::move(response->body)};
}

Result<Permission> GitlabApi::permission(const RepoRef& repo, const Actor& actor) const {
  if (actor.id.empty()) {
    return fail(ErrorCode::invalid_argument, "gitlab: get member: no user id for " + actor.login);
  }
  auto response = call("get member", "GET", project(repo) + "/members/all/" + actor.id);
  if (!response) {
    if (response.error().code == ErrorCode::not_found) return Permission::none;
    return tl::unexpected(response.error());
  }
  auto member = forges::parse_response(*response, "gitlab", "get member");
  if (!member) return tl::unexpected(member.error());
  auto level = member->find("access_level");
  if (level == member->end() || !level->is_number_integer()) return Permission::none;
  return permission_for(level->get<std::int64_t>());
}

Result<std::optional<std::string>> GitlabApi::user_id(std::string_view username) const {
  // docs.gitlab.com/api/users#list-users: ?username= gives at most one user, matched without
  // regard to case; an unknown name gives [].
  auto response = call("find user", "GET", "/users?username=" + url_encode(username));
  if (!response) return tl::unexpected(response.error());
  auto users = forges::parse_response(*response, "gitlab", "find user");
  if (!users) return tl::unexpected(users.error());
  if (!users->is_array() || users->empty()) return std::optional<std::string>{};
  std::string id = forges::json_id((*users)[0], "/id"_json_pointer);
  if (id.empty()) return std::optional<std::string>{};
  return std::optional<std::string>{id};
}

Result<bool> GitlabApi::is_team_member(const RepoRef&, std::string_view team,
                                       const Actor& actor) const {
  auto group = forges::parse_group_path("gitlab", team);
  if (!group) return tl::unexpected(group.error());
  std::string member_id = actor.id;
  if (member_id.empty()) {
    if (actor.login.empty()) {
      return fail(ErrorCode::invalid_argument,
                  "gitlab: get group member: the actor has neither a user id nor a username");
    }
    auto found = user_id(actor.login);
    if (!found) return tl::unexpected(found.error());
    if (!*found) return false;
    member_id = **found;
  }
  // The group by URL-encoded path ("group%2Fsubgroup"); 404 for a non-member or an unseen group.
  // docs.gitlab.com/api/members#get-a-member-of-a-group-or-project-including-inherited-and-invited-members
  auto response = call("get group member", "GET",
                       "/groups/" + url_encode(*group) + "/members/all/" + url_encode(member_id));
  if (!response) {
    if (response.error().code == ErrorCode::not_found) return false;
    return tl::unexpected(response.error());
  }
  auto member = forges::parse_response(*response, "gitlab", "get group member");
  if (!member) return tl::unexpected(member.error());
  return member->is_object() && active_member(*member, utc_date(clock_.now()));
}

Result<std::vector<CiJob>> GitlabApi::failed_jobs(const RepoRef& repo,
                                                  std::string_view pipeline_id) const {
  auto response = call("list failed jobs", "GET",
                       project(repo) + "/pipelines/" + std::string(pipeline_id) +
                           "/jobs?scope[]=failed&per_page=100");
  if (!response) return tl::unexpected(response.error());
  auto list = forges::parse_response(*response, "gitlab", "list failed jobs");
  if (!list) return tl::unexpected(list.error());
  std::vector<CiJob> failed;
  if (!list->is_array()) return failed;
  for (const json& job : *list) {
    // A job allowed to fail does not fail the pipeline; its log is not the cause.
    if (job.value("allow_failure", false)) continue;
    failed.push_back(CiJob{forges::json_id(job, "/id"_json_pointer),
                           forges::json_text(job, "/name"_json_pointer),
                           forges::json_text(job, "/web_url"_json_pointer),
                           forges::json_text(job, "/status"_json_pointer)});
  }
  return failed;
}

Result<std::string> GitlabApi::job_log(const RepoRef& repo, std::string_view job_id) const {
  auto response =
      call("get job trace", "GET", project(repo) + "/jobs/" + std::string(job_id) + "/trace");
  if (!response) return tl::unexpected(response.error());
  return std::move(response->body);
}

Result<void> GitlabApi::set_commit_status(const RepoRef& repo, const CommitStatus& status) const {
  json payload = {{"state", state_name(status.state)},
                  {"name", status.context},
                  {"description", status.description.substr(0, 255)}};
  if (!status.target_url.empty()) payload["target_url"] = status.target_url;
  auto response =
      call("set commit status", "POST", project(repo) + "/statuses/" + status.sha, payload.dump());
  if (!response) return tl::unexpected(response.error());
  return {};
}

Result<GitCredentials> GitlabApi::git_credentials(const RepoRef& repo) const {
  if (repo.clone_url.empty()) {
    return fail(ErrorCode::invalid_argument, "gitlab: " + repo.full_name + " has no clone URL");
  }
  return GitCredentials{repo.clone_url, "oauth2", token_};
}

}  // namespace forgehand::gitlab
