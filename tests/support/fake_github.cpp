#include "support/fake_github.h"

#include <ctime>

namespace forgehand::testing {

namespace {
std::string iso8601(std::chrono::system_clock::time_point at) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(at);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buffer;
}
}  // namespace

FakeGithub::FakeGithub() : now_(std::chrono::system_clock::now()) {
  // POST /app/installations/{installation_id}/access_tokens → 201 {token, expires_at, ...};
  // 404 {"message":"Not Found"} for an installation the App does not have. Only an App JWT
  // (Bearer) is accepted.
  server_.Post(R"(/app/installations/(\d+)/access_tokens)",
               [this](const httplib::Request& req, httplib::Response& res) {
                 record(req);
                 if (!req.get_header_value("Authorization").starts_with("Bearer ")) {
                   res.status = 401;
                   res.set_content(R"({"message":"Requires authentication"})", "application/json");
                   return;
                 }
                 if (req.matches[1] == "404") {
                   res.status = 404;
                   res.set_content(
                       R"({"message":"Not Found","documentation_url":"https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app"})",
                       "application/json");
                   return;
                 }
                 std::lock_guard lock(mutex_);
                 ++tokens_issued_;
                 res.status = 201;
                 res.set_content(R"({"token":"ghs_token)" + std::to_string(tokens_issued_) +
                                     R"(","expires_at":")" + iso8601(now_ + token_lifetime_) +
                                     R"(","permissions":{"issues":"write","contents":"write"},)"
                                     R"("repository_selection":"all"})",
                                 "application/json");
               });
  port_ = server_.bind_to_any_port("127.0.0.1");
  thread_ = std::thread([this] { server_.listen_after_bind(); });
  while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

FakeGithub::~FakeGithub() {
  server_.stop();
  thread_.join();
}

void FakeGithub::record(const httplib::Request& request) {
  std::lock_guard lock(mutex_);
  requests_.push_back({request.method, request.path, request.headers, request.body});
}

std::vector<RecordedRequest> FakeGithub::requests() {
  std::lock_guard lock(mutex_);
  return requests_;
}

void FakeGithub::set_token_lifetime(std::chrono::seconds lifetime) {
  std::lock_guard lock(mutex_);
  token_lifetime_ = lifetime;
}

void FakeGithub::set_now(std::chrono::system_clock::time_point now) {
  std::lock_guard lock(mutex_);
  now_ = now;
}

}  // namespace forgehand::testing
