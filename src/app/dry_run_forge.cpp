#include "app/dry_run_forge.h"

#include <algorithm>

#include "config/policy_config.h"
#include "forges/common/response_json.h"

namespace forgehand {

namespace {

constexpr const char* kAskForge = " (not asked in a dry run; --read asks the forge)";

std::string thread_name(const IssueRef& issue) {
  return std::string(issue.is_pull_request ? "pull request " : "issue ") + issue.repo.full_name +
         "#" + std::to_string(issue.number);
}

}  // namespace

DryRunForge::DryRunForge(const Forge& inner, Event event, bool forward_reads)
    : inner_(inner), event_(std::move(event)), forward_reads_(forward_reads) {}

void DryRunForge::record(Action action) const {
  std::lock_guard lock(mutex_);
  actions_.push_back(std::move(action));
}

std::vector<DryRunForge::Action> DryRunForge::actions() const {
  std::lock_guard lock(mutex_);
  return actions_;
}

std::vector<std::string> DryRunForge::assumptions() const {
  std::lock_guard lock(mutex_);
  return assumptions_;
}

void DryRunForge::assume(std::string assumption) const {
  std::lock_guard lock(mutex_);
  if (std::find(assumptions_.begin(), assumptions_.end(), assumption) == assumptions_.end()) {
    assumptions_.push_back(std::move(assumption));
  }
}

Result<CommentRef> DryRunForge::post_comment(const IssueRef& issue, std::string_view body) const {
  std::lock_guard lock(mutex_);
  std::string id = "dry-run-" + std::to_string(++comments_posted_);
  actions_.push_back({"post a comment on " + thread_name(issue) + " (shown below as " + id + ")",
                      std::string(body)});
  return CommentRef{id, ""};
}

Result<void> DryRunForge::edit_comment(const IssueRef& issue, std::string_view comment_id,
                                       std::string_view body) const {
  record(
      {"edit comment " + std::string(comment_id) + " on " + thread_name(issue), std::string(body)});
  return {};
}

Result<void> DryRunForge::add_reaction(const IssueRef& issue, std::string_view comment_id,
                                       Reaction reaction) const {
  record({"react with " + std::string(forges::reaction_name(reaction)) + " to comment " +
              std::string(comment_id) + " on " + thread_name(issue),
          ""});
  return {};
}

Result<PullRequestInfo> DryRunForge::open_pull_request(const RepoRef& repo,
                                                       const PullRequestSpec& spec) const {
  record({"open a" + std::string(spec.draft ? " draft" : "") + " pull request on " +
              repo.full_name + " from " + spec.head + " into " + spec.base + ": " + spec.title,
          spec.body});
  return PullRequestInfo{0, "", "open", "", spec.head, repo.full_name, spec.base, false};
}

Result<void> DryRunForge::set_commit_status(const RepoRef& repo, const CommitStatus& status) const {
  record({"set the commit status " + status.context + " of " + repo.full_name + "@" + status.sha +
              " to " + std::string(forges::github_status_state(status.state)) + ": " +
              status.description,
          ""});
  return {};
}

Result<std::string> DryRunForge::upsert_check_run(const RepoRef& repo, const CheckRun& run) const {
  std::string verb = run.id.empty() ? "create" : "update";
  std::string state = run.status == "completed" ? run.conclusion : run.status;
  record({verb + " the check run " + run.name + " on " + repo.full_name + "@" + run.head_sha +
              " (" + state + "): " + run.title,
          run.summary});
  return run.id.empty() ? std::string("dry-run-check") : run.id;
}

Result<PullRequestInfo> DryRunForge::pull_request(const RepoRef& repo, std::int64_t number) const {
  if (forward_reads_) return inner_.pull_request(repo, number);
  assume("pull request " + repo.full_name + "#" + std::to_string(number) +
         ": open, at the head the event names" + kAskForge);
  PullRequestInfo info;
  info.number = number;
  info.state = "open";
  info.head_sha = event_.head_sha;
  info.head_ref = event_.head_ref;
  info.head_repo = event_.head_repo.empty() ? repo.full_name : event_.head_repo;
  info.base_ref = event_.base_ref;
  info.from_fork = event_.from_fork;
  return info;
}

Result<std::vector<PullRequestInfo>> DryRunForge::open_pull_requests_for_commit(
    const RepoRef& repo, std::string_view sha) const {
  if (forward_reads_) return inner_.open_pull_requests_for_commit(repo, sha);
  assume("open pull requests with head " + std::string(sha) + ": none found" + kAskForge);
  return std::vector<PullRequestInfo>{};
}

Result<std::optional<std::string>> DryRunForge::read_file(const RepoRef& repo,
                                                          std::string_view path,
                                                          std::string_view ref) const {
  if (forward_reads_) return inner_.read_file(repo, path, ref);
  assume(std::string(path) + " of " + repo.full_name + " at " + std::string(ref) +
         ": taken as absent, so the server's policy applies unnarrowed" + kAskForge);
  return std::optional<std::string>{};
}

Result<Permission> DryRunForge::permission(const RepoRef& repo, const Actor& actor) const {
  if (forward_reads_) return inner_.permission(repo, actor);
  assume("@" + actor.login + "'s permission on " + repo.full_name + ": taken as " +
         std::string(to_string(kAssumedPermission)) + kAskForge);
  return kAssumedPermission;
}

Result<bool> DryRunForge::is_team_member(const RepoRef& repo, std::string_view team,
                                         const Actor& actor) const {
  if (forward_reads_) return inner_.is_team_member(repo, team, actor);
  assume("@" + actor.login + " in team " + std::string(team) + ": taken as not a member" +
         kAskForge);
  return false;
}

Result<std::vector<CiJob>> DryRunForge::failed_jobs(const RepoRef& repo,
                                                    std::string_view run_id) const {
  if (forward_reads_) return inner_.failed_jobs(repo, run_id);
  assume("failed jobs of CI run " + std::string(run_id) + ": only those the event names" +
         kAskForge);
  return std::vector<CiJob>{};
}

Result<std::string> DryRunForge::job_log(const RepoRef& repo, std::string_view job_id) const {
  if (forward_reads_) return inner_.job_log(repo, job_id);
  assume("log of CI job " + std::string(job_id) + ": empty" + kAskForge);
  return std::string();
}

Result<GitCredentials> DryRunForge::git_credentials(const RepoRef&) const {
  return fail(ErrorCode::not_supported, "dry run: no repository is cloned");
}

}  // namespace forgehand
