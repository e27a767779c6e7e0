#pragma once
// The machinery every fake forge shares: an httplib server on loopback, a record of every request
// (method, path with query, headers, body) and answers injected ahead of the routes (errors, rate
// limits). A fake adds its routes in its constructor, then calls start(). Thread-safe.

#include <httplib.h>

#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace forgehand::testing {

struct RecordedRequest {
  std::string method;
  std::string path;  // decoded, with the query string
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

class FakeServer {
 public:
  FakeServer();
  virtual ~FakeServer();
  FakeServer(const FakeServer&) = delete;
  FakeServer& operator=(const FakeServer&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<RecordedRequest> requests();
  std::vector<RecordedRequest> requests_to(const std::string& prefix);
  // The next requests get these answers instead of the routes', in order.
  void inject(InjectedResponse response);

 protected:
  void start();
  void record(const httplib::Request& request);
  // Wraps a route so it records its request (httplib has read the body by then).
  httplib::Server::Handler recorded(httplib::Server::Handler handler);

  httplib::Server server_;
  std::mutex mutex_;

 private:
  std::thread thread_;
  int port_ = 0;
  std::vector<RecordedRequest> requests_;
  std::deque<InjectedResponse> injected_;
};

}  // namespace forgehand::testing
