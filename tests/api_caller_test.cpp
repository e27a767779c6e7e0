#include "util/api_caller.h"

#include <doctest/doctest.h>

#include <deque>
#include <mutex>

#include "support/fixtures.h"

using namespace forgehand;
using namespace std::chrono_literals;

namespace {

// Answers from a script, one entry per call; records what it was asked.
class ScriptedHttp final : public HttpClient {
 public:
  void then(Result<HttpResponse> answer) { script_.push_back(std::move(answer)); }
  void then(int status, std::string body, HeaderMap headers = {}) {
    then(HttpResponse{status, std::move(headers), std::move(body)});
  }
  Result<HttpResponse> send(const HttpRequest& request) const override {
    std::lock_guard lock(mutex_);
    sent_.push_back(request);
    REQUIRE_FALSE(script_.empty());
    auto answer = script_.front();
    script_.pop_front();
    return answer;
  }
  std::size_t calls() const { return sent_.size(); }

 private:
  mutable std::mutex mutex_;
  mutable std::deque<Result<HttpResponse>> script_;
  mutable std::vector<HttpRequest> sent_;
};

struct Rig {
  ScriptedHttp http;
  testing::ManualClock clock;
  testing::RecordingSleeper sleeper;
  ApiCaller api{http, clock, sleeper, "github"};
  HttpRequest request{"POST", "https://api.github.com/repos/o/r/issues/1/comments", {}, "{}", ""};
};

}  // namespace

TEST_CASE("5xx and connection errors are retried with doubling backoff") {
  Rig rig;
  rig.http.then(502, R"({"message":"Bad gateway"})");
  rig.http.then(fail(ErrorCode::unavailable, "api.github.com: Connection"));
  rig.http.then(201, R"({"id":1})");
  auto response = rig.api.call("post comment", rig.request);
  REQUIRE(response.has_value());
  CHECK(response->status == 201);
  CHECK(rig.sleeper.slept() == std::vector<std::chrono::milliseconds>{500ms, 1000ms});
}

TEST_CASE("retries are bounded and the error names forge, operation, status and message") {
  Rig rig;
  for (int i = 0; i < 4; ++i) rig.http.then(503, R"({"message":"Service unavailable"})");
  auto response = rig.api.call("post comment", rig.request);
  REQUIRE_FALSE(response.has_value());
  CHECK(response.error().code == ErrorCode::unavailable);
  CHECK(response.error().message == "github: post comment: HTTP 503: Service unavailable");
  CHECK(rig.http.calls() == 4);

  Rig refused;
  for (int i = 0; i < 4; ++i) refused.http.then(fail(ErrorCode::unavailable, "host: Connection"));
  auto transport = refused.api.call("get pull request", refused.request);
  REQUIRE_FALSE(transport.has_value());
  CHECK(transport.error().message == "github: get pull request: host: Connection");
}

TEST_CASE("429 waits for Retry-After, then succeeds") {
  Rig rig;
  rig.http.then(429, R"({"message":"Too many requests"})", {{"retry-after", "3"}});
  rig.http.then(200, "{}");
  CHECK(rig.api.call("list jobs", rig.request).has_value());
  CHECK(rig.sleeper.slept() == std::vector<std::chrono::milliseconds>{3000ms});
}

TEST_CASE("GitHub's secondary rate limit 403 waits, a reset too far away fails clearly") {
  Rig rig;
  rig.http.then(
      403,
      R"({"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again."})");
  rig.http.then(201, "{}");
  CHECK(rig.api.call("post comment", rig.request).has_value());
  CHECK(rig.sleeper.slept() == std::vector<std::chrono::milliseconds>{60000ms});

  Rig exhausted;
  auto reset = std::chrono::duration_cast<std::chrono::seconds>(
                   (exhausted.clock.now() + 45min).time_since_epoch())
                   .count();
  exhausted.http.then(
      403, R"({"message":"API rate limit exceeded for installation ID 1."})",
      {{"x-ratelimit-remaining", "0"}, {"x-ratelimit-reset", std::to_string(reset)}});
  auto limited = exhausted.api.call("post comment", exhausted.request);
  REQUIRE_FALSE(limited.has_value());
  CHECK(limited.error().code == ErrorCode::rate_limited);
  CHECK(limited.error().http_status == 403);
  CHECK(limited.error().message ==
        "github: post comment: HTTP 403: API rate limit exceeded for installation ID 1. "
        "(the service asks to wait 2700 s)");
  CHECK(exhausted.sleeper.slept().empty());
}

TEST_CASE("GitLab's RateLimit-Reset is honoured, and waits are bounded in number") {
  Rig rig;
  auto reset =
      std::chrono::duration_cast<std::chrono::seconds>((rig.clock.now() + 10s).time_since_epoch())
          .count();
  for (int i = 0; i < 3; ++i) {
    rig.http.then(429, R"({"message":"Retry later"})",
                  {{"ratelimit-reset", std::to_string(reset)}});
  }
  auto limited = rig.api.call("post note", rig.request);
  REQUIRE_FALSE(limited.has_value());
  CHECK(limited.error().code == ErrorCode::rate_limited);
  CHECK(rig.sleeper.slept() == std::vector<std::chrono::milliseconds>{10000ms, 10000ms});
}

TEST_CASE("client errors are not retried and carry the forge's own message") {
  Rig rig;
  rig.http.then(
      422,
      R"({"message":"Validation Failed","errors":[{"resource":"PullRequest","code":"custom","message":"A pull request already exists for o:forgehand/1-fix."}]})");
  auto invalid = rig.api.call("open pull request", rig.request);
  REQUIRE_FALSE(invalid.has_value());
  CHECK(invalid.error().code == ErrorCode::invalid_argument);
  CHECK(invalid.error().http_status == 422);
  CHECK(invalid.error().message ==
        "github: open pull request: HTTP 422: Validation Failed: A pull request already exists "
        "for o:forgehand/1-fix.");
  CHECK(rig.http.calls() == 1);

  rig.http.then(404, R"({"message":"404 Project Not Found"})");
  auto missing = rig.api.call("get project", rig.request);
  CHECK(missing.error().code == ErrorCode::not_found);

  rig.http.then(400, R"({"message":{"title":["can't be blank"]}})");
  auto field_map = rig.api.call("open merge request", rig.request);
  CHECK(field_map.error().message ==
        R"(github: open merge request: HTTP 400: {"title":["can't be blank"]})");

  rig.http.then(403, "<html>forbidden by proxy</html>");
  auto forbidden = rig.api.call("get permission", rig.request);
  CHECK(forbidden.error().code == ErrorCode::forbidden);
  CHECK(forbidden.error().message ==
        "github: get permission: HTTP 403: <html>forbidden by proxy</html>");
}

TEST_CASE("redirects come back to the caller") {
  Rig rig;
  rig.http.then(302, "", {{"location", "https://pipelines.actions.githubusercontent.com/log"}});
  auto redirect = rig.api.call("download job log", rig.request);
  REQUIRE(redirect.has_value());
  CHECK(redirect->status == 302);
  CHECK(redirect->header("location") == "https://pipelines.actions.githubusercontent.com/log");
}

TEST_CASE("the real client reports a refused connection as unavailable") {
  HttplibClient http({std::chrono::milliseconds(500), std::chrono::milliseconds(500), ""});
  // Port 1 on loopback: nothing listens there in a test sandbox.
  auto response = http.send({"GET", "http://127.0.0.1:1/api/v1/version", {}, "", ""});
  REQUIRE_FALSE(response.has_value());
  CHECK(is_transient(response.error().code));
  CHECK(response.error().message.find("http://127.0.0.1:1") != std::string::npos);
}

TEST_CASE("url helpers") {
  CHECK(split_url("https://ghe.example.com:8443/api/v3/repos?x=1") ==
        std::pair<std::string, std::string>{"https://ghe.example.com:8443", "/api/v3/repos?x=1"});
  CHECK(split_url("http://gitea.local")->second == "/");
  CHECK_FALSE(split_url("ftp://x/y").has_value());
  CHECK(url_encode("group/sub group/project.git") == "group%2Fsub%20group%2Fproject.git");
}

TEST_CASE("model providers' nested error objects give their message") {
  CHECK(
      api_error_message(
          R"({"error":{"message":"Incorrect API key provided","type":"invalid_request_error"}})") ==
      "Incorrect API key provided");
  CHECK(api_error_message(
            R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})") ==
        "Overloaded");
}
