#include "forges/gitea/api.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <nlohmann/json.hpp>

#include "forges/common/comment_text.h"
#include "forges/common/response_json.h"
#include "forges/common/team_ref.h"

namespace forgehand::gitea {

namespace {

using nlohmann::json;

constexpr int kPageSize = 50;
constexpr int kMaxPages = 10;

std::string repo_path(const RepoRef& repo) { return "/repos/" + repo.full_name; }

// X-Total-Count, which Gitea's list endpoints set; nullopt when absent or not a number.
std::optional<std::size_t> total_count(const HttpResponse& response) {
  std::string_view text = response.header("x-total-count");
  std::size_t count = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), count);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return count;
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

GiteaApi::GiteaApi(const ApiCaller& api, std::string forge, std::string api_url, Secret token,
                   std::string git_username)
    : api_(api),
      forge_(std::move(forge)),
      api_url_(std::move(api_url)),
      token_(std::move(token)),
      git_username_(std::move(git_username)) {}

Result<HttpResponse> GiteaApi::call(std::string_view operation, std::string method,
                                    std::string path, std::string body) const {
  HttpRequest request;
  request.method = std::move(method);
  request.url = api_url_ + path;
  request.headers = {{"Authorization", "token " + token_.reveal()},
                     {"Accept", "application/json"},
                     {"User-Agent", "forgehand"}};
  request.body = std::move(body);
  return api_.call(operation, request);
}

namespace {

// A pull request (GET /repos/{owner}/{repo}/pulls/{index}); a fork's head.repo_id differs from
// base.repo_id.
Result<PullRequestInfo> pull_request_from(const json& pr, const std::string& forge,
                                          std::string_view operation) {
  if (!pr.is_object() || !pr.contains("number") || !pr["number"].is_number_integer()) {
    return fail(ErrorCode::malformed, forge + ": " + std::string(operation) +
                                          ": the response has no pull request number");
  }
  PullRequestInfo info;
  info.number = pr["number"].get<std::int64_t>();
  info.url = forges::json_text(pr, "/html_url"_json_pointer);
  info.state = pr.value("merged", false) ? "merged" : forges::json_text(pr, "/state"_json_pointer);
  info.head_sha = forges::json_text(pr, "/head/sha"_json_pointer);
  info.head_ref = forges::json_text(pr, "/head/ref"_json_pointer);
  info.head_repo = forges::json_text(pr, "/head/repo/full_name"_json_pointer);
  info.base_ref = forges::json_text(pr, "/base/ref"_json_pointer);
  info.from_fork = forges::json_id(pr, "/head/repo_id"_json_pointer) !=
                   forges::json_id(pr, "/base/repo_id"_json_pointer);
  return info;
}

}  // namespace

Result<CommentRef> GiteaApi::post_comment(const IssueRef& issue, std::string_view body) const {
  json payload = {{"body", forges::outgoing_comment(body, kMaxCommentLength)}};
  auto response =
      call("post comment", "POST",
           repo_path(issue.repo) + "/issues/" + std::to_string(issue.number) + "/comments",
           payload.dump());
  if (!response) return tl::unexpected(response.error());
  auto comment = forges::parse_response(*response, forge_, "post comment");
  if (!comment) return tl::unexpected(comment.error());
  return CommentRef{forges::json_id(*comment, "/id"_json_pointer),
                    forges::json_text(*comment, "/html_url"_json_pointer)};
}

Result<void> GiteaApi::edit_comment(const IssueRef& issue, std::string_view comment_id,
                                    std::string_view body) const {
  json payload = {{"body", forges::outgoing_comment(body, kMaxCommentLength)}};
  auto response =
      call("edit comment", "PATCH",
           repo_path(issue.repo) + "/issues/comments/" + std::string(comment_id), payload.dump());
  if (!response) return tl::unexpected(response.error());
  return {};
}

Result<void> GiteaApi::add_reaction(const IssueRef& issue, std::string_view comment_id,
                                    Reaction reaction) const {
  json payload = {{"content", forges::reaction_name(reaction)}};
  auto response =
      call("add reaction", "POST",
           repo_path(issue.repo) + "/issues/comments/" + std::string(comment_id) + "/reactions",
           payload.dump());
  if (!response) return tl::unexpected(response.error());
  return {};
}

Result<PullRequestInfo> GiteaApi::open_pull_request(const RepoRef& repo,
                                                    const PullRequestSpec& spec) const {
  json payload = {{"head", spec.head},
                  {"base", spec.base},
                  {"title", (spec.draft ? "WIP: " : "") + spec.title},
                  {"body", forges::outgoing_comment(spec.body, kMaxCommentLength)}};
  auto response = call("open pull request", "POST", repo_path(repo) + "/pulls", payload.dump());
  if (!response) return tl::unexpected(response.error());
  auto pr = forges::parse_response(*response, forge_, "open pull request");
  if (!pr) return tl::unexpected(pr.error());
  return pull_request_from(*pr, forge_, "open pull request");
}

Result<PullRequestInfo> GiteaApi::pull_request(const RepoRef& repo, std::int64_t number) const {
  auto response =
      call("get pull request", "GET", repo_path(repo) + "/pulls/" + std::to_string(number));
  if (!response) return tl::unexpected(response.error());
  auto pr = forges::parse_response(*response, forge_, "get pull request");
  if (!pr) return tl::unexpected(pr.error());
  return pull_request_from(*pr, forge_, "get pull request");
}

Result<std::vector<PullRequestInfo>> GiteaApi::open_pull_requests_for_commit(
    const RepoRef& repo, std::string_view sha) const {
  // No endpoint maps an open pull request's head commit back to it on every supported release,
  // so page through the open ones (bounded) and match head.sha.
  std::vector<PullRequestInfo> matching;
  for (int page = 1; page <= kMaxPages; ++page) {
    auto response = call("list open pull requests", "GET",
                         repo_path(repo) + "/pulls?state=open&limit=" + std::to_string(kPageSize) +
                             "&page=" + std::to_string(page));
    if (!response) return tl::unexpected(response.error());
    auto list = forges::parse_response(*response, forge_, "list open pull requests");
    if (!list) return tl::unexpected(list.error());
    if (!list->is_array()) break;
    for (const json& pr : *list) {
      auto info = pull_request_from(pr, forge_, "list open pull requests");
      if (info && info->head_sha == sha) matching.push_back(*info);
    }
    if (list->size() < static_cast<std::size_t>(kPageSize)) break;
  }
  return matching;
}

Result<std::optional<std::string>> GiteaApi::read_file(const RepoRef& repo, std::string_view path,
                                                       std::string_view ref) const {
  auto response =
      call("read file", "GET",
           repo_path(repo) + "/raw/" + url_encode_path(path) + "?ref=" + url_encode(ref));
  if (!response) {
    if (response.error().code == ErrorCode::not_found) return std::optional<std::string>{};
    return tl::unexpected(response.error());
  }
  return std::optional<std::string>{std::move(response->body)};
}

Result<Permission> GiteaApi::permission(const RepoRef& repo, const Actor& actor) const {
  auto response =
      call("get permission", "GET",
           repo_path(repo) + "/collaborators/" + url_encode(actor.login) + "/permission");
  if (!response) {
    const Error& error = response.error();
    if (error.code == ErrorCode::forbidden) {
      // routers/api/v1/repo/collaborators.go: only site admins, repository admins and the user
      // asked about may read a permission.
      return fail(ErrorCode::forbidden,
                  error.message + " (" + forge_ +
                      " lets only repository admins read permissions: make the bot an admin of " +
                      repo.full_name + ")");
    }
    if (error.code == ErrorCode::not_found) return Permission::none;
    return tl::unexpected(error);
  }
  auto body = forges::parse_response(*response, forge_, "get permission");
  if (!body) return tl::unexpected(body.error());
  std::string level = forges::json_text(*body, "/permission"_json_pointer);
  if (level == "owner" || level == "admin") return Permission::admin;
  if (level == "write") return Permission::write;
  if (level == "read") return Permission::read;
  return Permission::none;
}

Error GiteaApi::teams_api_error(const Error& error, std::string_view org) const {
  if (error.code != ErrorCode::forbidden) return error;
  // routers/api/v1/api.go: an organization's teams are listed to its members, a team's members
  // to the organization's owners, the team's own members and site admins, and both only to
  // tokens with the read:organization scope.
  Error explained = error;
  explained.message += " (" + forge_ + " shows a team's members only to owners of " +
                       std::string(org) +
                       " and to the team's members: make the bot one of them, with a token that "
                       "has read:organization)";
  return explained;
}

Result<std::optional<std::string>> GiteaApi::team_id(std::string_view org,
                                                     std::string_view name) const {
  // GET /orgs/{org}/teams (gitea.com/api/swagger#/organization/orgListTeams) lists every team
  // to a member of the organization. GET /orgs/{org}/teams/search would answer in one call, but for
  // anyone except a site admin it finds only the teams the caller belongs to
  // (routers/api/v1/org/team.go, SearchTeam), so the bot would miss the very teams it is asked
  // about.
  std::string wanted = lower(name);
  std::size_t seen = 0;
  for (int page = 1; page <= kMaxPages; ++page) {
    auto response = call("list teams", "GET",
                         "/orgs/" + std::string(org) + "/teams?limit=" + std::to_string(kPageSize) +
                             "&page=" + std::to_string(page));
    if (!response) {
      // No such organization, or one the bot cannot see: it has no team the bot could find.
      if (response.error().code == ErrorCode::not_found) return std::optional<std::string>{};
      return tl::unexpected(teams_api_error(response.error(), org));
    }
    auto teams = forges::parse_response(*response, forge_, "list teams");
    if (!teams) return tl::unexpected(teams.error());
    if (!teams->is_array() || teams->empty()) return std::optional<std::string>{};
    for (const json& team : *teams) {
      // Names are unique within an organization regardless of case (the team's lower_name).
      if (lower(forges::json_text(team, "/name"_json_pointer)) == wanted) {
        return std::optional<std::string>{forges::json_id(team, "/id"_json_pointer)};
      }
    }
    // The server may cap a page below kPageSize ([api] MAX_RESPONSE_ITEMS), so the end is told
    // by X-Total-Count, or else by an empty page.
    seen += teams->size();
    if (auto total = total_count(*response); total && seen >= *total) {
      return std::optional<std::string>{};
    }
  }
  return fail(ErrorCode::not_supported, forge_ + ": list teams: " + std::string(org) +
                                            " has more teams than forgehand looks through (" +
                                            std::to_string(kMaxPages) + " pages)");
}

Result<bool> GiteaApi::is_team_member(const RepoRef&, std::string_view team,
                                      const Actor& actor) const {
  auto org_team = forges::parse_org_team(forge_, team);
  if (!org_team) return tl::unexpected(org_team.error());
  if (actor.login.empty()) {
    return fail(ErrorCode::invalid_argument, forge_ + ": get team member: the actor has no login");
  }
  auto id = team_id(org_team->org, org_team->team);
  if (!id) return tl::unexpected(id.error());
  if (!*id) return false;
  // GET /teams/{id}/members/{username} (gitea.com/api/swagger#/organization/orgListTeamMember):
  // 200 with the user for a member, 404 for anyone else, unknown users included.
  auto response =
      call("get team member", "GET", "/teams/" + **id + "/members/" + url_encode(actor.login));
  if (!response) {
    if (response.error().code == ErrorCode::not_found) return false;
    return tl::unexpected(teams_api_error(response.error(), org_team->org));
  }
  return true;
}

Error GiteaApi::actions_api_error(std::string_view operation, const Error& error,
                                  const std::string& page) const {
  if (error.code != ErrorCode::not_found) return error;
  return Error{ErrorCode::not_supported,
               forge_ + ": " + std::string(operation) +
                   ": this server has no Actions jobs API (Gitea 1.24+, Forgejo v16+); see " +
                   page};
}

Result<std::vector<CiJob>> GiteaApi::failed_jobs(const RepoRef& repo,
                                                 std::string_view run_id) const {
  auto response = call("list run jobs", "GET",
                       repo_path(repo) + "/actions/runs/" + std::string(run_id) + "/jobs");
  if (!response) {
    return tl::unexpected(actions_api_error(
        "list run jobs", response.error(), repo.html_url + "/actions/runs/" + std::string(run_id)));
  }
  auto body = forges::parse_response(*response, forge_, "list run jobs");
  if (!body) return tl::unexpected(body.error());
  std::vector<CiJob> failed;
  if (!body->contains("jobs") || !(*body)["jobs"].is_array()) return failed;
  for (const json& job : (*body)["jobs"]) {
    std::string conclusion = forges::json_text(job, "/conclusion"_json_pointer);
    if (conclusion != "failure") continue;
    failed.push_back(CiJob{forges::json_id(job, "/id"_json_pointer),
                           forges::json_text(job, "/name"_json_pointer),
                           forges::json_text(job, "/html_url"_json_pointer), conclusion});
  }
  return failed;
}

Result<std::string> GiteaApi::job_log(const RepoRef& repo, std::string_view job_id) const {
  auto response = call("get job log", "GET",
                       repo_path(repo) + "/actions/jobs/" + std::string(job_id) + "/logs");
  if (!response) {
    return tl::unexpected(
        actions_api_error("get job log", response.error(), repo.html_url + "/actions"));
  }
  return std::move(response->body);
}

Result<void> GiteaApi::set_commit_status(const RepoRef& repo, const CommitStatus& status) const {
  json payload = {{"state", forges::github_status_state(status.state)},
                  {"context", status.context},
                  {"description", status.description}};
  if (!status.target_url.empty()) payload["target_url"] = status.target_url;
  auto response = call("set commit status", "POST", repo_path(repo) + "/statuses/" + status.sha,
                       payload.dump());
  if (!response) return tl::unexpected(response.error());
  return {};
}

Result<GitCredentials> GiteaApi::git_credentials(const RepoRef& repo) const {
  if (repo.clone_url.empty()) {
    return fail(ErrorCode::invalid_argument, forge_ + ": " + repo.full_name + " has no clone URL");
  }
  return GitCredentials{repo.clone_url, git_username_, token_};
}

}  // namespace forgehand::gitea
