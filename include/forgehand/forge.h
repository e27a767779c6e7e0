#pragma once
// One adapter per forge behind one contract: it turns a recorded delivery into an Event (or says
// why it is ignored) and offers the API verbs the bot needs, in forgehand's own vocabulary.
// Adapters are immutable after construction and safe to use from any thread.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "forgehand/delivery.h"
#include "forgehand/error.h"
#include "forgehand/event.h"
#include "forgehand/forge_kind.h"
#include "forgehand/permission.h"
#include "forgehand/secret.h"

namespace forgehand {

// The vocabulary of the forge API verbs.

// A pull request's or an issue's conversation.
struct IssueRef {
  RepoRef repo;
  std::int64_t number = 0;
  bool is_pull_request = false;
};

// Mapped to each forge's own names (GitHub "eyes", GitLab "eyes", ...).
enum class Reaction { eyes, rocket, confused };

struct CommentRef {
  std::string id;
  std::string url;
};

struct PullRequestSpec {
  std::string title;
  std::string body;
  std::string head;  // the branch forgehand pushed
  std::string base;  // the branch it should merge into
  bool draft = false;
};

struct PullRequestInfo {
  std::int64_t number = 0;
  std::string url;
  std::string state;  // open, closed, merged
  std::string head_sha;
  std::string head_ref;
  std::string head_repo;  // full name; empty when the fork is gone
  std::string base_ref;
  bool from_fork = false;
};

struct CiJob {
  std::string id;
  std::string name;
  std::string url;
  std::string conclusion;
};

enum class CommitState { pending, success, failure, error };

// The context of the status forgehand sets on what it pushed. Forges that report commit statuses
// back as webhooks send forgehand its own; the parsers know it by this name and skip it.
inline constexpr std::string_view kStatusContext = "forgehand";

struct CommitStatus {
  std::string sha;
  CommitState state = CommitState::pending;
  std::string context = std::string(kStatusContext);
  std::string description;
  std::string target_url;
};

// GitHub check runs: created without an id, updated with one.
struct CheckRun {
  std::string id;
  std::string name = "forgehand";
  std::string head_sha;
  std::string status = "in_progress";  // queued, in_progress, completed
  std::string conclusion;              // with status completed: success, failure, neutral, ...
  std::string details_url;
  std::string title;
  std::string summary;
};

// How git reaches the repository: the password goes to libgit2's credential callback only.
struct GitCredentials {
  std::string clone_url;
  std::string username;
  Secret password;
};

// One line of `forgehand capabilities`: what an adapter can do, and how it degrades.
struct Capability {
  std::string operation;
  std::string support;  // "yes", "degrades" or "no"
  std::string note;
};

// What an adapter needs to know about its configured instance.
struct ForgeSettings {
  std::string instance;
  ForgeKind kind = ForgeKind::github;
  std::string api_url;
  std::string bot_login;  // forgehand's own account there; its actions are recognised as its own
  // API credentials; without them the adapter parses events but its API verbs fail with `config`.
  std::string app_id;        // GitHub: the App's client id or app id
  Secret private_key;        // GitHub: the App's private key (PEM)
  Secret token;              // GitLab, Gitea, Forgejo: the bot's access token
  bool oauth_token = false;  // GitLab: send the token as Bearer (OAuth) instead of PRIVATE-TOKEN
};

class Forge {
 public:
  virtual ~Forge() = default;

  virtual ForgeKind kind() const = 0;
  // The configured instance this adapter serves.
  virtual const std::string& instance() const = 0;

  // Reads the delivery's event header and body. Returns an Event, or Ignored with the reason
  // (an action, state or event forgehand does not act on). A payload missing or mistyping a field
  // the conversion needs is a `malformed` error naming the forge, the event and the field, e.g.
  // "github: parse issue_comment: comment.body is missing". Never throws.
  virtual Result<Parsed> parse(const Delivery& delivery) const = 0;

  // The API verbs. Every call has a timeout and bounded retries; errors name the forge, the
  // operation, the HTTP status and the forge's own message ("gitlab: post note: HTTP 404: ...").
  // `config` when the instance has no API credentials; `not_supported` for what a forge lacks.
  // Comments longer than the forge allows are cut with a visible note.
  virtual Result<CommentRef> post_comment(const IssueRef& issue, std::string_view body) const = 0;
  virtual Result<void> edit_comment(const IssueRef& issue, std::string_view comment_id,
                                    std::string_view body) const = 0;
  virtual Result<void> add_reaction(const IssueRef& issue, std::string_view comment_id,
                                    Reaction reaction) const = 0;
  virtual Result<PullRequestInfo> open_pull_request(const RepoRef& repo,
                                                    const PullRequestSpec& spec) const = 0;
  virtual Result<PullRequestInfo> pull_request(const RepoRef& repo, std::int64_t number) const = 0;
  // Open pull requests whose head is `sha`: how a CI failure that names no pull request (a fork's
  // on GitHub, a branch pipeline, a commit status) finds one.
  virtual Result<std::vector<PullRequestInfo>> open_pull_requests_for_commit(
      const RepoRef& repo, std::string_view sha) const = 0;
  // The file's bytes at `ref`, or nullopt when it is not there.
  virtual Result<std::optional<std::string>> read_file(const RepoRef& repo, std::string_view path,
                                                       std::string_view ref) const = 0;
  virtual Result<Permission> permission(const RepoRef& repo, const Actor& actor) const = 0;
  // Whether `actor` belongs to `team`, for policy's team allowlists. `team` is written as the
  // forge names it: GitHub "org/team-slug" (members of child teams count), GitLab a group path
  // such as "group/subgroup" (members inherited from ancestor groups and from invited groups
  // count), Gitea and Forgejo "org/team-name" (the name matched case-insensitively). `repo` is
  // the repository acted on (GitHub takes the installation token from it). A team that does not
  // exist or that the bot cannot see answers false, as a non-member does; so do GitHub's pending
  // invitations and GitLab's expired, awaiting or below-Guest memberships. Errors:
  // `invalid_argument` for a malformed team or an actor without a login (GitLab: without a user
  // id either); `forbidden` naming the right the bot lacks; `not_supported` when a Gitea or
  // Forgejo organization has more teams than the adapter pages through.
  virtual Result<bool> is_team_member(const RepoRef& repo, std::string_view team,
                                      const Actor& actor) const = 0;
  virtual Result<std::vector<CiJob>> failed_jobs(const RepoRef& repo,
                                                 std::string_view run_id) const = 0;
  virtual Result<std::string> job_log(const RepoRef& repo, std::string_view job_id) const = 0;
  virtual Result<void> set_commit_status(const RepoRef& repo, const CommitStatus& status) const = 0;
  // GitHub only: creates (no id) or updates a check run and returns its id.
  virtual Result<std::string> upsert_check_run(const RepoRef& repo, const CheckRun& run) const = 0;
  virtual Result<GitCredentials> git_credentials(const RepoRef& repo) const = 0;

  // What this adapter supports and what degrades, for `forgehand capabilities`.
  virtual std::vector<Capability> capabilities() const = 0;
};

}  // namespace forgehand
