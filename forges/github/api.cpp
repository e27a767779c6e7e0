#include "forges/github/api.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "forges/common/comment_text.h"
#include "forges/common/response_json.h"
#include "forges/common/team_ref.h"
#include "forges/github/api_headers.h"
#include "forges/github/parse.h"

namespace forgehand::github {

namespace {

using nlohmann::json;

// A pull request object (GET /repos/{o}/{r}/pulls/{n}); a fork's head repository differs from
// its base's, and is null once the fork is deleted.
Result<PullRequestInfo> pull_request_from(const json& pr, std::string_view operation) {
  if (!pr.is_object() || !pr.contains("number") || !pr["number"].is_number_integer()) {
    return fail(ErrorCode::malformed,
                "github: " + std::string(operation) + ": the response has no pull request number");
  }
  PullRequestInfo info;
  info.number = pr["number"].get<std::int64_t>();
  info.url = forges::json_text(pr, "/html_url"_json_pointer);
  info.state = pr.value("merged", false) ? "merged" : forges::json_text(pr, "/state"_json_pointer);
  info.head_sha = forges::json_text(pr, "/head/sha"_json_pointer);
  info.head_ref = forges::json_text(pr, "/head/ref"_json_pointer);
  info.head_repo = forges::json_text(pr, "/head/repo/full_name"_json_pointer);
  info.base_ref = forges::json_text(pr, "/base/ref"_json_pointer);
  info.from_fork = info.head_repo != forges::json_text(pr, "/base/repo/full_name"_json_pointer);
  return info;
}

bool failed_conclusion(std::string_view conclusion) {
  return conclusion == "failure" || conclusion == "timed_out" || conclusion == "startup_failure";
}

}  // namespace

GithubApi::GithubApi(const ApiCaller& api, std::string api_url, InstallationTokens& tokens)
    : api_(api), api_url_(std::move(api_url)), tokens_(tokens) {}

Result<Secret> GithubApi::installation_token(const RepoRef& repo) const {
  if (repo.installation_id.empty()) {
    return fail(ErrorCode::invalid_argument,
                "github: " + repo.full_name + " has no App installation id");
  }
  return tokens_.token(repo.installation_id);
}

Result<HttpRequest> GithubApi::request(const RepoRef& repo, std::string method, std::string path,
                                       std::string body) const {
  auto token = installation_token(repo);
  if (!token) return tl::unexpected(token.error());
  HttpRequest out;
  out.method = std::move(method);
  out.url = api_url_ + path;
  out.headers = api_headers("Bearer " + token->reveal());
  out.body = std::move(body);
  return out;
}

Result<HttpResponse> GithubApi::call(std::string_view operation, const RepoRef& repo,
                                     std::string method, std::string path, std::string body) const {
  auto built = request(repo, std::move(method), std::move(path), std::move(body));
  if (!built) return tl::unexpected(built.error());
  return api_.call(operation, *built);
}

Result<CommentRef> GithubApi::post_comment(const IssueRef& issue, std::string_view body) const {
  json payload = {{"body", forges::outgoing_comment(body, kMaxCommentLength)}};
  auto response = call(
      "post comment", issue.repo, "POST",
      "/repos/" + issue.repo.full_name + "/issues/" + std::to_string(issue.number) + "/comments",
      payload.dump());
  if (!response) return tl::unexpected(response.error());
  auto comment = forges::parse_response(*response, "github", "post comment");
  if (!comment) return tl::unexpected(comment.error());
  return CommentRef{forges::json_id(*comment, "/id"_json_pointer),
                    forges::json_text(*comment, "/html_url"_json_pointer)};
}

Result<void> GithubApi::edit_comment(const IssueRef& issue, std::string_view comment_id,
                                     std::string_view body) const {
  json payload = {{"body", forges::outgoing_comment(body, kMaxCommentLength)}};
  auto response =
      call("edit comment", issue.repo, "PATCH",
           "/repos/" + issue.repo.full_name + "/issues/comments/" + std::string(comment_id),
           payload.dump());
  if (!response) return tl::unexpected(response.error());
  return {};
}

Result<void> GithubApi::add_reaction(const IssueRef& issue, std::string_view comment_id,
                                     Reaction reaction) const {
  json payload = {{"content", forges::reaction_name(reaction)}};
  auto response = call("add reaction", issue.repo, "POST",
                       "/repos/" + issue.repo.full_name + "/issues/comments/" +
                           std::string(comment_id) + "/reactions",
                       payload.dump());
  if (!response) return tl::unexpected(response.error());
  return {};
}

Result<PullRequestInfo> GithubApi::open_pull_request(const RepoRef& repo,
                                                     const PullRequestSpec& spec) const {
  json payload = {
      {"title", spec.title}, {"head", spec.head},
      {"base", spec.base},   {"body", forges::outgoing_comment(spec.body, kMaxCommentLength)},
      {"draft", spec.draft}, {"maintainer_can_modify", true}};
  auto response = call("open pull request", repo, "POST", "/repos/" + repo.full_name + "/pulls",
                       payload.dump());
  if (!response) return tl::unexpected(response.error());
  auto pr = forges::parse_response(*response, "github", "open pull request");
  if (!pr) return tl::unexpected(pr.error());
  return pull_request_from(*pr, "open pull request");
}

Result<PullRequestInfo> GithubApi::pull_request(const RepoRef& repo, std::int64_t number) const {
  auto response = call("get pull request", repo, "GET",
                       "/repos/" + repo.full_name + "/pulls/" + std::to_string(number));
  if (!response) return tl::unexpected(response.error());
  auto pr = forges::parse_response(*response, "github", "get pull request");
  if (!pr) return tl::unexpected(pr.error());
  return pull_request_from(*pr, "get pull request");
}

Result<std::vector<PullRequestInfo>> GithubApi::open_pull_requests_for_commit(
    const RepoRef& repo, std::string_view sha) const {
  // GET /repos/{o}/{r}/commits/{sha}/pulls lists the pull requests associated with a commit.
  auto response = call("find pull requests for commit", repo, "GET",
                       "/repos/" + repo.full_name + "/commits/" + std::string(sha) + "/pulls");
  if (!response) return tl::unexpected(response.error());
  auto list = forges::parse_response(*response, "github", "find pull requests for commit");
  if (!list) return tl::unexpected(list.error());
  std::vector<PullRequestInfo> open;
  if (!list->is_array()) return open;
  for (const json& pr : *list) {
    auto info = pull_request_from(pr, "find pull requests for commit");
    if (info && info->state == "open" && info->head_sha == sha) open.push_back(*info);
  }
  return open;
}

Result<std::optional<std::string>> GithubApi::read_file(const RepoRef& repo, std::string_view path,
                                                        std::string_view ref) const {
  auto built = request(repo, "GET",
                       "/repos/" + repo.full_name + "/contents/" + url_encode_path(path) +
                           "?ref=" + url_encode(ref));
  if (!built) return tl::unexpected(built.error());
  // The raw media type returns the file's bytes instead of base64 in JSON.
  for (auto& [name, value] : built->headers) {
    if (name == "Accept") value = "application/vnd.github.raw+json";
  }
  auto response = api_.call("read file", *built);
  if (!response) {
    if (response.error().code == ErrorCode::not_found) return std::optional<std::string>{};
    return tl::unexpected(response.error());
  }
  return std::optional<std::string>{std::move(response->body)};
}

Result<Permission> GithubApi::permission(const RepoRef& repo, const Actor& actor) const {
  auto response =
      call("get permission", repo, "GET",
           "/repos/" + repo.full_name + "/collaborators/" + actor.login + "/permission");
  if (!response) {
    if (response.error().code == ErrorCode::not_found) return Permission::none;
    return tl::unexpected(response.error());
  }
  auto body = forges::parse_response(*response, "github", "get permission");
  if (!body) return tl::unexpected(body.error());
  // role_name adds maintain and triage to the legacy admin/write/read/none in `permission`.
  std::string role = forges::json_text(*body, "/role_name"_json_pointer);
  if (role.empty()) role = forges::json_text(*body, "/permission"_json_pointer);
  if (role == "admin") return Permission::admin;
  if (role == "maintain") return Permission::maintain;
  if (role == "write") return Permission::write;
  if (role == "triage") return Permission::triage;
  if (role == "read") return Permission::read;
  return Permission::none;
}

Result<bool> GithubApi::is_team_member(const RepoRef& repo, std::string_view team,
                                       const Actor& actor) const {
  auto org_team = forges::parse_org_team("github", team);
  if (!org_team) return tl::unexpected(org_team.error());
  if (actor.login.empty()) {
    return fail(ErrorCode::invalid_argument, "github: get team membership: the actor has no login");
  }
  // Slugs are the lower-cased team name with spaces as hyphens; accept "Org/Core-Team" as written.
  std::string slug = org_team->team;
  std::transform(slug.begin(), slug.end(), slug.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  // docs.github.com/en/rest/teams/members#get-team-membership-for-a-user: 200 with state active
  // or pending (an invitation not yet accepted); 404 for a non-member or a team the token cannot
  // see. Members of child teams are members.
  auto response =
      call("get team membership", repo, "GET",
           "/orgs/" + org_team->org + "/teams/" + slug + "/memberships/" + url_encode(actor.login));
  if (!response) {
    Error error = response.error();
    if (error.code == ErrorCode::not_found) return false;
    if (error.code == ErrorCode::forbidden) {
      error.message +=
          " (team allowlists need the GitHub App's organization permission Members: "
          "read, granted and accepted for " +
          org_team->org + ")";
    }
    return tl::unexpected(error);
  }
  auto membership = forges::parse_response(*response, "github", "get team membership");
  if (!membership) return tl::unexpected(membership.error());
  return forges::json_text(*membership, "/state"_json_pointer) == "active";
}

Result<std::vector<CiJob>> GithubApi::failed_jobs(const RepoRef& repo,
                                                  std::string_view run_id) const {
  // A check suite's check runs (docs.github.com/en/rest/checks/runs#list-check-runs-in-a-check-
  // suite) carry the fields of a run's jobs. GitHub Actions gives each job a check run of the
  // same id, so job_log reads their logs; other apps' check runs have none there.
  bool suite = run_id.starts_with(kCheckSuiteRun);
  std::string id(suite ? run_id.substr(kCheckSuiteRun.size()) : run_id);
  const char* operation = suite ? "list check runs" : "list run jobs";
  auto response =
      call(operation, repo, "GET",
           "/repos/" + repo.full_name +
               (suite ? "/check-suites/" + id + "/check-runs" : "/actions/runs/" + id + "/jobs") +
               "?filter=latest&per_page=100");
  if (!response) return tl::unexpected(response.error());
  auto body = forges::parse_response(*response, "github", operation);
  if (!body) return tl::unexpected(body.error());
  std::vector<CiJob> failed;
  const char* list = suite ? "check_runs" : "jobs";
  if (!body->contains(list) || !(*body)[list].is_array()) return failed;
  for (const json& job : (*body)[list]) {
    std::string conclusion = forges::json_text(job, "/conclusion"_json_pointer);
    if (!failed_conclusion(conclusion)) continue;
    failed.push_back(CiJob{forges::json_id(job, "/id"_json_pointer),
                           forges::json_text(job, "/name"_json_pointer),
                           forges::json_text(job, "/html_url"_json_pointer), conclusion});
  }
  return failed;
}

Result<std::string> GithubApi::job_log(const RepoRef& repo, std::string_view job_id) const {
  auto response =
      call("get job log", repo, "GET",
           "/repos/" + repo.full_name + "/actions/jobs/" + std::string(job_id) + "/logs");
  if (!response) return tl::unexpected(response.error());
  if (response->status != 302) return std::move(response->body);
  std::string location(response->header("location"));
  if (location.empty()) {
    return fail(ErrorCode::malformed, "github: get job log: 302 without a Location");
  }
  // The storage URL is pre-signed; the installation token must not travel there.
  HttpRequest download{"GET", location, {{"User-Agent", "forgehand"}}, "", ""};
  auto log = api_.call("download job log", download);
  if (!log) return tl::unexpected(log.error());
  return std::move(log->body);
}

Result<void> GithubApi::set_commit_status(const RepoRef& repo, const CommitStatus& status) const {
  json payload = {{"state", forges::github_status_state(status.state)},
                  {"context", status.context},
                  {"description", status.description.substr(0, 140)}};
  if (!status.target_url.empty()) payload["target_url"] = status.target_url;
  auto response = call("set commit status", repo, "POST",
                       "/repos/" + repo.full_name + "/statuses/" + status.sha, payload.dump());
  if (!response) return tl::unexpected(response.error());
  return {};
}

Result<std::string> GithubApi::upsert_check_run(const RepoRef& repo, const CheckRun& run) const {
  json payload = {{"name", run.name}, {"status", run.status}};
  if (run.id.empty()) payload["head_sha"] = run.head_sha;
  if (!run.conclusion.empty()) payload["conclusion"] = run.conclusion;
  if (!run.details_url.empty()) payload["details_url"] = run.details_url;
  if (!run.title.empty() || !run.summary.empty()) {
    payload["output"] = {{"title", run.title}, {"summary", run.summary}};
  }
  bool create = run.id.empty();
  auto response = call(
      create ? "create check run" : "update check run", repo, create ? "POST" : "PATCH",
      "/repos/" + repo.full_name + "/check-runs" + (create ? "" : "/" + run.id), payload.dump());
  if (!response) return tl::unexpected(response.error());
  auto body = forges::parse_response(*response, "github", "check run");
  if (!body) return tl::unexpected(body.error());
  return forges::json_id(*body, "/id"_json_pointer);
}

Result<GitCredentials> GithubApi::git_credentials(const RepoRef& repo) const {
  if (repo.clone_url.empty()) {
    return fail(ErrorCode::invalid_argument, "github: " + repo.full_name + " has no clone URL");
  }
  auto token = installation_token(repo);
  if (!token) return tl::unexpected(token.error());
  return GitCredentials{repo.clone_url, "x-access-token", *token};
}

}  // namespace forgehand::github
