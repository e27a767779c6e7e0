#include "support/fake_server.h"

namespace forgehand::testing {

namespace {
std::string path_with_query(const httplib::Request& req) {
  std::string query;
  for (const auto& [key, value] : req.params) {
    query += (query.empty() ? "?" : "&") + key + "=" + value;
  }
  return req.path + query;
}
}  // namespace

FakeServer::FakeServer() {
  // Injected answers come before the routes. httplib has not read the body at this point, so
  // an injected request is recorded without it.
  server_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mutex_);
    if (injected_.empty()) return httplib::Server::HandlerResponse::Unhandled;
    requests_.push_back({req.method, path_with_query(req), req.headers, req.body});
    InjectedResponse injected = injected_.front();
    injected_.pop_front();
    res.status = injected.status;
    for (const auto& [name, value] : injected.headers) res.set_header(name, value);
    res.set_content(injected.body, "application/json; charset=utf-8");
    return httplib::Server::HandlerResponse::Handled;
  });
}

FakeServer::~FakeServer() {
  server_.stop();
  if (thread_.joinable()) thread_.join();
}

void FakeServer::start() {
  port_ = server_.bind_to_any_port("127.0.0.1");
  thread_ = std::thread([this] { server_.listen_after_bind(); });
  while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void FakeServer::record(const httplib::Request& request) {
  std::lock_guard lock(mutex_);
  requests_.push_back({request.method, path_with_query(request), request.headers, request.body});
}

httplib::Server::Handler FakeServer::recorded(httplib::Server::Handler handler) {
  return [this, handler](const httplib::Request& req, httplib::Response& res) {
    record(req);
    handler(req, res);
  };
}

std::vector<RecordedRequest> FakeServer::requests() {
  std::lock_guard lock(mutex_);
  return requests_;
}

std::vector<RecordedRequest> FakeServer::requests_to(const std::string& prefix) {
  std::lock_guard lock(mutex_);
  std::vector<RecordedRequest> matching;
  for (const auto& request : requests_) {
    if (request.path.starts_with(prefix)) matching.push_back(request);
  }
  return matching;
}

void FakeServer::inject(InjectedResponse response) {
  std::lock_guard lock(mutex_);
  injected_.push_back(std::move(response));
}

}  // namespace forgehand::testing
