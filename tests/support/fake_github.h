#pragma once
// An in-process GitHub REST API on loopback, answering with the documented shapes
// (docs.github.com/en/rest: apps, issues/comments, reactions, pulls, repos/contents,
// collaborators, actions/workflow-jobs, commits/statuses, checks/runs) and recording every
// request so tests can assert method, path, headers and body. Thread-safe.

#include <httplib.h>

#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace forgehand::testing {

struct RecordedRequest {
  std::string method;
  std::string path;  // with the query string
  httplib::Headers headers;
  std::string body;

  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string{} : it->second;
  }
};

struct InjectedResponse {
  int status;
  std::string body;
  httplib::Headers headers;
};

class FakeGithub {
 public:
  FakeGithub();
  ~FakeGithub();

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<RecordedRequest> requests();
  // The requests made to paths starting with `prefix`.
  std::vector<RecordedRequest> requests_to(const std::string& prefix);
  // Tokens the fake hands out expire this long after `now`.
  void set_token_lifetime(std::chrono::seconds lifetime);
  void set_now(std::chrono::system_clock::time_point now);
  // The next requests get these answers instead of the route's, in order.
  void inject(InjectedResponse response);

 private:
  void install_routes();
  void record(const httplib::Request& request);

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mutex_;
  std::vector<RecordedRequest> requests_;
  std::deque<InjectedResponse> injected_;
  std::chrono::seconds token_lifetime_{3600};
  std::chrono::system_clock::time_point now_;
  int tokens_issued_ = 0;
  int next_id_ = 1000;
};

}  // namespace forgehand::testing
