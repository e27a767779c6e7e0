#pragma once
// An in-process GitHub REST API on loopback, answering with the documented shapes and recording
// every request so tests can assert method, path, headers and body. Endpoints follow
// docs.github.com/en/rest (apps: "Create an installation access token for an app").
// Thread-safe.

#include <httplib.h>

#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace forgehand::testing {

struct RecordedRequest {
  std::string method;
  std::string path;
  httplib::Headers headers;
  std::string body;
};

class FakeGithub {
 public:
  FakeGithub();
  ~FakeGithub();

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<RecordedRequest> requests();
  // Tokens the fake hands out expire this long after they are issued.
  void set_token_lifetime(std::chrono::seconds lifetime);
  // The time the fake believes it is (GitHub's clock), for expires_at.
  void set_now(std::chrono::system_clock::time_point now);

 private:
  void record(const httplib::Request& request);

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mutex_;
  std::vector<RecordedRequest> requests_;
  std::chrono::seconds token_lifetime_{3600};
  std::chrono::system_clock::time_point now_;
  int tokens_issued_ = 0;
};

}  // namespace forgehand::testing
