#pragma once
// One adapter per forge behind one contract. An adapter turns a recorded delivery into an Event
// (or says why it is ignored); the API verbs the bot needs are added to this contract as they
// are implemented. Adapters are immutable after construction and safe to use from any thread.

#include <memory>
#include <cstdint>
#include <string>

#include "forgehand/delivery.h"
#include "forgehand/error.h"
#include "forgehand/event.h"
#include "forgehand/forge_kind.h"
#include "forgehand/secret.h"

namespace forgehand {

// The vocabulary of the forge API verbs. Adapters implement the verbs on their API clients
// (forges/<forge>/api.h); the verbs join the Forge contract once every adapter has them.

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

// The commenter's standing in the repository, in GitHub's terms; other forges map onto it.
enum class Permission { none, read, triage, write, maintain, admin };

struct CiJob {
  std::string id;
  std::string name;
  std::string url;
  std::string conclusion;
};

enum class CommitState { pending, success, failure, error };

struct CommitStatus {
  std::string sha;
  CommitState state = CommitState::pending;
  std::string context = "forgehand";
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

// What an adapter needs to know about its configured instance.
struct ForgeSettings {
  std::string instance;
  ForgeKind kind = ForgeKind::github;
  std::string api_url;
  std::string bot_login;  // forgehand's own account there; its actions are recognised as its own
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
};

}  // namespace forgehand
