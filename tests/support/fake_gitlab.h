#pragma once
// An in-process GitLab REST API (v4) on loopback, answering with the shapes of
// docs.gitlab.com/api (notes, award_emoji, merge_requests, commits, repository_files, members,
// jobs, commits/statuses). Only the token "glpat-forgehand" is accepted, as PRIVATE-TOKEN.
// Thread-safe.

#include "support/fake_server.h"

namespace forgehand::testing {

class FakeGitlab final : public FakeServer {
 public:
  static constexpr const char* kToken = "glpat-forgehand";
  FakeGitlab();

  std::string api_url() const { return url() + "/api/v4"; }
};

}  // namespace forgehand::testing
