#pragma once
// The API half of an adapter, written once: each Forge verb is forwarded to the adapter's REST
// client (GithubApi, GitlabApi, GiteaApi all have the same verbs), or fails with `config` when
// the instance was given no API credentials. Check runs are GitHub's; others say not_supported.
// Immutable; thread-safe when the client is.

#include <memory>
#include <string>

#include "forgehand/forge.h"

namespace forgehand::forges {

template <class Api>
class ApiForge : public Forge {
 public:
  Result<CommentRef> post_comment(const IssueRef& issue, std::string_view body) const override {
    return with_api([&](const Api& api) { return api.post_comment(issue, body); });
  }
  Result<void> edit_comment(const IssueRef& issue, std::string_view comment_id,
                            std::string_view body) const override {
    return with_api([&](const Api& api) { return api.edit_comment(issue, comment_id, body); });
  }
  Result<void> add_reaction(const IssueRef& issue, std::string_view comment_id,
                            Reaction reaction) const override {
    return with_api([&](const Api& api) { return api.add_reaction(issue, comment_id, reaction); });
  }
  Result<PullRequestInfo> open_pull_request(const RepoRef& repo,
                                            const PullRequestSpec& spec) const override {
    return with_api([&](const Api& api) { return api.open_pull_request(repo, spec); });
  }
  Result<PullRequestInfo> pull_request(const RepoRef& repo, std::int64_t number) const override {
    return with_api([&](const Api& api) { return api.pull_request(repo, number); });
  }
  Result<std::vector<PullRequestInfo>> open_pull_requests_for_commit(
      const RepoRef& repo, std::string_view sha) const override {
    return with_api([&](const Api& api) { return api.open_pull_requests_for_commit(repo, sha); });
  }
  Result<std::optional<std::string>> read_file(const RepoRef& repo, std::string_view path,
                                               std::string_view ref) const override {
    return with_api([&](const Api& api) { return api.read_file(repo, path, ref); });
  }
  Result<Permission> permission(const RepoRef& repo, const Actor& actor) const override {
    return with_api([&](const Api& api) { return api.permission(repo, actor); });
  }
  Result<bool> is_team_member(const RepoRef& repo, std::string_view team,
                              const Actor& actor) const override {
    return with_api([&](const Api& api) { return api.is_team_member(repo, team, actor); });
  }
  Result<std::vector<CiJob>> failed_jobs(const RepoRef& repo,
                                         std::string_view run_id) const override {
    return with_api([&](const Api& api) { return api.failed_jobs(repo, run_id); });
  }
  Result<std::string> job_log(const RepoRef& repo, std::string_view job_id) const override {
    return with_api([&](const Api& api) { return api.job_log(repo, job_id); });
  }
  Result<void> set_commit_status(const RepoRef& repo, const CommitStatus& status) const override {
    return with_api([&](const Api& api) { return api.set_commit_status(repo, status); });
  }
  Result<std::string> upsert_check_run(const RepoRef&, const CheckRun&) const override {
    return fail(ErrorCode::not_supported,
                std::string(to_string(kind())) + ": check runs are GitHub's; set a commit status");
  }
  Result<GitCredentials> git_credentials(const RepoRef& repo) const override {
    return with_api([&](const Api& api) { return api.git_credentials(repo); });
  }

 protected:
  // Null when the instance has no API credentials.
  virtual const Api* api() const = 0;

  template <class Call>
  auto with_api(Call call) const -> decltype(call(std::declval<const Api&>())) {
    if (const Api* client = api()) return call(*client);
    return fail(ErrorCode::config, std::string(to_string(kind())) + ": instance " + instance() +
                                       " has no API credentials configured");
  }
};

}  // namespace forgehand::forges
