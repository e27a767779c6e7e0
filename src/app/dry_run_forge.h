#pragma once
// The forge a dry-run replay talks to. Parsing is the real adapter's; what would be written
// (comments, reactions, statuses, check runs, pull requests) is recorded and never sent. Reads go
// to the real adapter only when allowed; otherwise none reaches the network and each is answered
// from the replayed event or as "nothing there", with the assumption written down. Thread-safe.

#include <mutex>
#include <string>
#include <vector>

#include "forgehand/forge.h"

namespace forgehand {

class DryRunForge final : public Forge {
 public:
  struct Action {
    std::string what;  // "post a comment on acme/api#12"
    std::string body;  // the text it would carry, when there is one
  };

  // `inner` must outlive this. `event` is the replayed event: a pull request read without
  // `forward_reads` is answered from it.
  DryRunForge(const Forge& inner, Event event, bool forward_reads);

  // Adds what the pipeline would do beyond the forge (starting a session).
  void record(Action action) const;
  // Adds an assumption made beyond the forge (the store's history).
  void assume(std::string assumption) const;
  std::vector<Action> actions() const;
  // What was answered without asking the forge, once each, in the order it was first asked.
  std::vector<std::string> assumptions() const;

  ForgeKind kind() const override { return inner_.kind(); }
  const std::string& instance() const override { return inner_.instance(); }
  Result<Parsed> parse(const Delivery& delivery) const override { return inner_.parse(delivery); }

  Result<CommentRef> post_comment(const IssueRef& issue, std::string_view body) const override;
  Result<void> edit_comment(const IssueRef& issue, std::string_view comment_id,
                            std::string_view body) const override;
  Result<void> add_reaction(const IssueRef& issue, std::string_view comment_id,
                            Reaction reaction) const override;
  Result<PullRequestInfo> open_pull_request(const RepoRef& repo,
                                            const PullRequestSpec& spec) const override;
  Result<void> set_commit_status(const RepoRef& repo, const CommitStatus& status) const override;
  Result<std::string> upsert_check_run(const RepoRef& repo, const CheckRun& run) const override;

  Result<PullRequestInfo> pull_request(const RepoRef& repo, std::int64_t number) const override;
  Result<std::vector<PullRequestInfo>> open_pull_requests_for_commit(
      const RepoRef& repo, std::string_view sha) const override;
  Result<std::optional<std::string>> read_file(const RepoRef& repo, std::string_view path,
                                               std::string_view ref) const override;
  Result<Permission> permission(const RepoRef& repo, const Actor& actor) const override;
  Result<bool> is_team_member(const RepoRef& repo, std::string_view team,
                              const Actor& actor) const override;
  Result<std::vector<CiJob>> failed_jobs(const RepoRef& repo,
                                         std::string_view run_id) const override;
  Result<std::string> job_log(const RepoRef& repo, std::string_view job_id) const override;
  // Never forwarded: a dry run clones nothing.
  Result<GitCredentials> git_credentials(const RepoRef& repo) const override;

  std::vector<Capability> capabilities() const override { return inner_.capabilities(); }

  // The permission a dry run without reads assumes the actor has: the default minimum for
  // commands, so the rest of the policy is what decides.
  static constexpr Permission kAssumedPermission = Permission::write;

 private:
  const Forge& inner_;
  Event event_;
  bool forward_reads_;
  mutable std::mutex mutex_;
  mutable std::vector<Action> actions_;
  mutable std::vector<std::string> assumptions_;
  mutable int comments_posted_ = 0;
};

}  // namespace forgehand
