#pragma once
// Gitea and Forgejo REST calls the bot makes (Gitea's /api/swagger; Forgejo serves the same API
// for these endpoints), with a bot user's token sent as "Authorization: token ...".
// Where a server is too old or the bot lacks a right, the error says so plainly:
// Actions jobs and logs need Gitea 1.24+ or Forgejo v16+ (else `not_supported` with the run's
// page), reading a user's permission needs the bot to be a repository admin, and reading a team's
// members needs it to be an owner of the organization or a member of that team.
// Thread-safe.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "forgehand/forge.h"
#include "util/api_caller.h"

namespace forgehand::gitea {

// Gitea documents no comment length limit; stay well inside what its database column holds.
inline constexpr std::size_t kMaxCommentLength = 1'000'000;

class GiteaApi {
 public:
  // `forge` is "gitea" or "forgejo" (for messages); `api_url` ends in /api/v1; `git_username`
  // is sent with the token for git (Gitea accepts any name with a token as password).
  GiteaApi(const ApiCaller& api, std::string forge, std::string api_url, Secret token,
           std::string git_username);

  Result<CommentRef> post_comment(const IssueRef& issue, std::string_view body) const;
  Result<void> edit_comment(const IssueRef& issue, std::string_view comment_id,
                            std::string_view body) const;
  Result<void> add_reaction(const IssueRef& issue, std::string_view comment_id,
                            Reaction reaction) const;
  // A draft is opened with Gitea's default work-in-progress prefix "WIP: ".
  Result<PullRequestInfo> open_pull_request(const RepoRef& repo, const PullRequestSpec& spec) const;
  Result<PullRequestInfo> pull_request(const RepoRef& repo, std::int64_t number) const;
  Result<std::vector<PullRequestInfo>> open_pull_requests_for_commit(const RepoRef& repo,
                                                                     std::string_view sha) const;
  Result<std::optional<std::string>> read_file(const RepoRef& repo, std::string_view path,
                                               std::string_view ref) const;
  Result<Permission> permission(const RepoRef& repo, const Actor& actor) const;
  // "org/team-name": the team is found among the organization's teams (ten pages at most) by its
  // name, case-insensitively, then asked whether the actor is a member.
  Result<bool> is_team_member(const RepoRef& repo, std::string_view team, const Actor& actor) const;
  Result<std::vector<CiJob>> failed_jobs(const RepoRef& repo, std::string_view run_id) const;
  Result<std::string> job_log(const RepoRef& repo, std::string_view job_id) const;
  Result<void> set_commit_status(const RepoRef& repo, const CommitStatus& status) const;
  Result<GitCredentials> git_credentials(const RepoRef& repo) const;

 private:
  Result<HttpResponse> call(std::string_view operation, std::string method, std::string path,
                            std::string body = {}) const;
  // A 404 from the Actions jobs API means the server predates it: not_supported, with the page
  // a human can open instead. Other errors pass through.
  Error actions_api_error(std::string_view operation, const Error& error,
                          const std::string& page) const;
  // The team's id, or nullopt when the organization has no team of that name.
  Result<std::optional<std::string>> team_id(std::string_view org, std::string_view name) const;
  // A 403 from the teams API, with what the bot needs.
  Error teams_api_error(const Error& error, std::string_view org) const;

  const ApiCaller& api_;
  std::string forge_;
  std::string api_url_;
  Secret token_;
  std::string git_username_;
};

}  // namespace forgehand::gitea
