#pragma once
// An in-process Gitea/Forgejo REST API (/api/v1) on loopback, answering with the shapes of
// Gitea's swagger (Comment, PullRequest, Reaction, RepoCollaboratorPermission, ActionWorkflowJob,
// CommitStatus). `actions_api` false plays a Forgejo before v16 (no Actions jobs endpoints);
// `bot_is_admin` false makes the permission endpoint answer 403 as Gitea does. Only the token
// "gitea-token" is accepted. Thread-safe.

#include "support/fake_server.h"

namespace forgehand::testing {

class FakeGitea final : public FakeServer {
 public:
  static constexpr const char* kToken = "gitea-token";
  explicit FakeGitea(bool actions_api = true, bool bot_is_admin = true);

  std::string api_url() const { return url() + "/api/v1"; }
};

}  // namespace forgehand::testing
