#pragma once
// GitLab REST calls the bot makes (docs.gitlab.com/api: notes, award_emoji, merge_requests,
// repository_files, members, jobs, commits), with a bot user's or a project/group access token
// sent as PRIVATE-TOKEN. Merge requests are pull requests here; projects are addressed by numeric
// id when the event gave one, else by URL-encoded path. Thread-safe.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "forgehand/clock.h"
#include "forgehand/forge.h"
#include "util/api_caller.h"

namespace forgehand::gitlab {

// GitLab's documented maximum note length (docs.gitlab.com/api/notes: 1,000,000 characters).
inline constexpr std::size_t kMaxCommentLength = 1'000'000;

class GitlabApi {
 public:
  // `api_url` ends in /api/v4. An OAuth token goes in Authorization: Bearer; access tokens
  // (personal, project, group) in PRIVATE-TOKEN (docs.gitlab.com/api/rest/authentication).
  // `clock` tells whether a membership's expiry date has passed.
  GitlabApi(const ApiCaller& api, const Clock& clock, std::string api_url, Secret token,
            bool oauth_token = false);

  Result<CommentRef> post_comment(const IssueRef& issue, std::string_view body) const;
  Result<void> edit_comment(const IssueRef& issue, std::string_view comment_id,
                            std::string_view body) const;
  Result<void> add_reaction(const IssueRef& issue, std::string_view comment_id,
                            Reaction reaction) const;
  // A draft is opened with GitLab's "Draft: " title prefix.
  Result<PullRequestInfo> open_pull_request(const RepoRef& repo, const PullRequestSpec& spec) const;
  Result<PullRequestInfo> pull_request(const RepoRef& repo, std::int64_t number) const;
  Result<std::vector<PullRequestInfo>> open_pull_requests_for_commit(const RepoRef& repo,
                                                                     std::string_view sha) const;
  Result<std::optional<std::string>> read_file(const RepoRef& repo, std::string_view path,
                                               std::string_view ref) const;
  // From the member's access level, inherited and group membership included; not a member: none.
  Result<Permission> permission(const RepoRef& repo, const Actor& actor) const;
  // `team` is a group path; the actor is found by username when the event gave no user id. A
  // group the bot cannot see (a private one it is not a member of) answers 404: false.
  Result<bool> is_team_member(const RepoRef& repo, std::string_view team, const Actor& actor) const;
  Result<std::vector<CiJob>> failed_jobs(const RepoRef& repo, std::string_view pipeline_id) const;
  Result<std::string> job_log(const RepoRef& repo, std::string_view job_id) const;
  Result<void> set_commit_status(const RepoRef& repo, const CommitStatus& status) const;
  // Username oauth2 and the token as password (GitLab accepts any username with an access token
  // and requires oauth2 with OAuth tokens).
  Result<GitCredentials> git_credentials(const RepoRef& repo) const;

 private:
  Result<HttpResponse> call(std::string_view operation, std::string method, std::string path,
                            std::string body = {}) const;
  std::string project(const RepoRef& repo) const;
  // The user's numeric id, or nullopt when no user has that username.
  Result<std::optional<std::string>> user_id(std::string_view username) const;
  static std::string noteable(const IssueRef& issue);

  const ApiCaller& api_;
  const Clock& clock_;
  std::string api_url_;
  Secret token_;
  bool oauth_token_;
};

}  // namespace forgehand::gitlab
