#pragma once
// An in-process GitLab REST API (v4) on loopback, answering with the shapes of
// docs.gitlab.com/api (notes, award_emoji, merge_requests, commits, repository_files, members,
// jobs, commits/statuses). It accepts "glpat-forgehand" as PRIVATE-TOKEN and the OAuth token
// "oauth-forgehand" as Authorization: Bearer.
// Thread-safe.

#include "support/fake_server.h"

namespace forgehand::testing {

class FakeGitlab final : public FakeServer {
 public:
  static constexpr const char* kToken = "glpat-forgehand";
  static constexpr const char* kOauthToken = "oauth-forgehand";
  FakeGitlab();

  std::string api_url() const { return url() + "/api/v4"; }
};

}  // namespace forgehand::testing
