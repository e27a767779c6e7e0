#pragma once
// GitHub REST calls the bot makes, as an App installation (docs.github.com/en/rest; API version
// pinned in api_headers.h). Every call takes the installation's token from InstallationTokens,
// goes through ApiCaller (retries, rate limits, error messages) and speaks forgehand's types.
// Thread-safe.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "forgehand/forge.h"
#include "forges/github/app_auth.h"
#include "util/api_caller.h"

namespace forgehand::github {

// GitHub's documented maximum for issue and pull request comment bodies.
inline constexpr std::size_t kMaxCommentLength = 65536;

class GithubApi {
 public:
  GithubApi(const ApiCaller& api, std::string api_url, InstallationTokens& tokens);

  Result<CommentRef> post_comment(const IssueRef& issue, std::string_view body) const;
  Result<void> edit_comment(const IssueRef& issue, std::string_view comment_id,
                            std::string_view body) const;
  Result<void> add_reaction(const IssueRef& issue, std::string_view comment_id,
                            Reaction reaction) const;
  Result<PullRequestInfo> open_pull_request(const RepoRef& repo, const PullRequestSpec& spec) const;
  Result<PullRequestInfo> pull_request(const RepoRef& repo, std::int64_t number) const;
  // Open pull requests whose head is `sha`: how a CI failure without a pull request (a fork's)
  // finds its pull request.
  Result<std::vector<PullRequestInfo>> open_pull_requests_for_commit(const RepoRef& repo,
                                                                     std::string_view sha) const;
  // The file's bytes at `ref`, or nullopt when it does not exist there.
  Result<std::optional<std::string>> read_file(const RepoRef& repo, std::string_view path,
                                               std::string_view ref) const;
  Result<Permission> permission(const RepoRef& repo, const Actor& actor) const;
  // "org/team-slug"; needs the App's organization permission Members (read), else `forbidden`.
  Result<bool> is_team_member(const RepoRef& repo, std::string_view team, const Actor& actor) const;
  // Jobs of a workflow run's latest attempt that failed, timed out or failed to start; for a run
  // id marked kCheckSuiteRun (parse.h), the suite's latest check runs that did.
  Result<std::vector<CiJob>> failed_jobs(const RepoRef& repo, std::string_view run_id) const;
  // GitHub answers 302 to a short-lived storage URL; it is fetched without the token.
  Result<std::string> job_log(const RepoRef& repo, std::string_view job_id) const;
  Result<void> set_commit_status(const RepoRef& repo, const CommitStatus& status) const;
  // Creates the check run (no id) or updates it; returns its id.
  Result<std::string> upsert_check_run(const RepoRef& repo, const CheckRun& run) const;
  // user x-access-token, password the installation token (docs: "Authenticating as a GitHub App
  // installation", git access).
  Result<GitCredentials> git_credentials(const RepoRef& repo) const;

 private:
  Result<Secret> installation_token(const RepoRef& repo) const;
  Result<HttpRequest> request(const RepoRef& repo, std::string method, std::string path,
                              std::string body = {}) const;
  Result<HttpResponse> call(std::string_view operation, const RepoRef& repo, std::string method,
                            std::string path, std::string body = {}) const;

  const ApiCaller& api_;
  std::string api_url_;
  InstallationTokens& tokens_;
};

}  // namespace forgehand::github
