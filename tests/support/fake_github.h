#pragma once
// An in-process GitHub REST API on loopback, answering with the documented shapes
// (docs.github.com/en/rest: apps, issues/comments, reactions, pulls, repos/contents,
// collaborators, actions/workflow-jobs, commits/statuses, checks/runs) and recording every
// request so tests can assert method, path, headers and body. Thread-safe.

#include <chrono>

#include "support/fake_server.h"

namespace forgehand::testing {

class FakeGithub final : public FakeServer {
 public:
  FakeGithub();

  // Tokens the fake hands out expire an hour after this time.
  void set_now(std::chrono::system_clock::time_point now);

 private:
  void install_routes();

  std::chrono::system_clock::time_point now_;
  int tokens_issued_ = 0;
  int next_id_ = 1000;
};

}  // namespace forgehand::testing
