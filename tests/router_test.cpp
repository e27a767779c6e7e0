// The router: failover order and rules, the record of every call, cost and attribution; and one
// route across two real provider APIs (fakes on loopback).
#include "providers/router.h"

#include <doctest/doctest.h>

#include <deque>
#include <mutex>

#include "providers/anthropic.h"
#include "providers/openai_chat.h"
#include "support/fake_anthropic.h"
#include "support/fake_openai.h"
#include "support/fixtures.h"

using namespace forgehand;
using namespace forgehand::providers;

namespace {

// Answers from a script; counts its calls.
class ScriptedProvider final : public Provider {
 public:
  ScriptedProvider(std::string name, std::string model, std::deque<Result<ChatResponse>> script)
      : name_(std::move(name)),
        model_(std::move(model)),
        host_(name_ + ".example"),
        script_(std::move(script)) {}
  const std::string& name() const override { return name_; }
  const std::string& model() const override { return model_; }
  const std::string& endpoint_host() const override { return host_; }
  Result<ChatResponse> complete(const ChatRequest&) const override {
    std::lock_guard lock(mutex_);
    ++calls;
    auto next = script_.front();
    script_.pop_front();
    return next;
  }
  mutable int calls = 0;

 private:
  std::string name_, model_, host_;
  mutable std::mutex mutex_;
  mutable std::deque<Result<ChatResponse>> script_;
};

ChatResponse answer(std::int64_t in, std::int64_t out) {
  ChatResponse response;
  response.message = {Role::assistant, "done"};
  response.stop_reason = StopReason::end_turn;
  response.usage = {in, out};
  return response;
}

tl::unexpected<Error> http_error(ErrorCode code, int status, std::string message) {
  return tl::unexpected(Error{code, std::move(message), status});
}

const ChatRequest kRequest{{{Role::user, "fix it"}}, {}, 0};

testing::ManualClock g_clock;
testing::RecordingSleeper g_sleeper;

Router make_router(std::string name, std::vector<RouteStep> steps) {
  return Router(std::move(name), std::move(steps), g_clock, g_sleeper);
}

RouteOutcome complete(const Router& router, const ChatRequest& request = kRequest) {
  SessionLedger unlimited;
  return router.complete(request, unlimited);
}

}  // namespace

TEST_CASE("the first provider's answer is used, with its usage and cost recorded") {
  ScriptedProvider openai("openai", "gpt-4o", {answer(1'000'000, 500'000)});
  auto outcome = complete(make_router("default", {{&openai, {2.5, 10}}}));
  REQUIRE(outcome.result.has_value());
  REQUIRE(outcome.calls.size() == 1);
  CHECK(outcome.calls[0].http_status == 200);
  CHECK(outcome.calls[0].cost == doctest::Approx(2.5 + 5.0));
  CHECK(outcome.calls[0].failover_reason.empty());
  CHECK(describe_attribution(outcome.calls) == "openai gpt-4o (openai.example)");
}

TEST_CASE("429, 5xx, connection errors and timeouts fail over, in order, each recorded") {
  ScriptedProvider a("openai", "gpt-4o", {http_error(ErrorCode::rate_limited, 429, "openai: 429")});
  ScriptedProvider b("deepseek", "deepseek-chat",
                     {http_error(ErrorCode::unavailable, 503, "deepseek: 503")});
  ScriptedProvider c("ollama", "qwen2.5-coder", {fail(ErrorCode::unavailable, "refused")});
  ScriptedProvider d("azure", "gpt-4o-prod", {fail(ErrorCode::timeout, "slow")});
  ScriptedProvider e("anthropic", "claude-sonnet-4-5", {answer(10, 20)});
  auto outcome = complete(make_router("resilient", {{&a}, {&b}, {&c}, {&d}, {&e}}));
  REQUIRE(outcome.result.has_value());
  REQUIRE(outcome.calls.size() == 5);
  CHECK(outcome.calls[0].failover_reason == "rate limited (HTTP 429)");
  CHECK(outcome.calls[1].failover_reason == "unavailable (HTTP 503)");
  CHECK(outcome.calls[2].failover_reason == "connection failed");
  CHECK(outcome.calls[3].failover_reason == "timed out");
  CHECK(outcome.calls[4].http_status == 200);
  CHECK(describe_attribution(outcome.calls) ==
        "anthropic claude-sonnet-4-5 (anthropic.example), after openai gpt-4o: rate limited (HTTP "
        "429); deepseek deepseek-chat: unavailable (HTTP 503); ollama qwen2.5-coder: connection "
        "failed; azure gpt-4o-prod: timed out");
}

TEST_CASE("a refused key fails over only where configured, a bad request never does") {
  ScriptedProvider revoked("openai", "gpt-4o",
                           {http_error(ErrorCode::unauthorized, 401, "bad key"),
                            http_error(ErrorCode::unauthorized, 401, "bad key")});
  ScriptedProvider backup("anthropic", "claude", {answer(1, 1)});
  auto strict = complete(make_router("strict", {{&revoked}, {&backup}}));
  REQUIRE_FALSE(strict.result.has_value());
  CHECK(strict.result.error().code == ErrorCode::unauthorized);
  CHECK(strict.result.error().message == "route strict: bad key");
  CHECK(backup.calls == 0);
  auto lenient = complete(make_router("lenient", {{&revoked, {}, true}, {&backup}}));
  REQUIRE(lenient.result.has_value());
  CHECK(lenient.calls[0].failover_reason == "credentials refused (HTTP 401)");

  ScriptedProvider picky("openai", "gpt-4o",
                         {http_error(ErrorCode::invalid_argument, 400, "context too long")});
  ScriptedProvider unused("anthropic", "claude", {answer(1, 1)});
  auto refused = complete(make_router("r", {{&picky}, {&unused}}));
  CHECK_FALSE(refused.result.has_value());
  CHECK(unused.calls == 0);
  CHECK(refused.calls.size() == 1);
}

TEST_CASE("when every provider fails, the outcome says so and keeps every call") {
  ScriptedProvider a("openai", "gpt-4o", {http_error(ErrorCode::rate_limited, 429, "openai: 429")});
  ScriptedProvider b("anthropic", "claude",
                     {http_error(ErrorCode::unavailable, 529, "overloaded")});
  auto outcome = complete(make_router("default", {{&a}, {&b}}));
  REQUIRE_FALSE(outcome.result.has_value());
  CHECK(outcome.result.error().message == "route default: every provider failed: overloaded");
  REQUIRE(outcome.calls.size() == 2);
  CHECK(outcome.calls[1].http_status == 529);
  CHECK(describe_attribution(outcome.calls) ==
        "no answer; last tried anthropic claude (anthropic.example), after openai gpt-4o: rate "
        "limited (HTTP 429)");
}

TEST_CASE("over real HTTP: OpenAI rate-limits, Anthropic answers") {
  testing::FakeOpenAi openai_server;
  testing::FakeAnthropic anthropic_server;
  testing::ManualClock clock;
  HttplibClient http;
  RetryPolicy once{1, std::chrono::milliseconds(0), std::chrono::seconds(0), 0};
  ApiCaller openai_api(http, clock, real_sleeper(), "openai", once);
  ApiCaller anthropic_api(http, clock, real_sleeper(), "anthropic", once);
  OpenAiChatSettings openai_settings;
  openai_settings.name = "openai";
  openai_settings.base_url = openai_server.url() + "/v1";
  openai_settings.model = "gpt-4o";
  openai_settings.key = Secret(testing::FakeOpenAi::kKey);
  OpenAiChatProvider openai(openai_settings, openai_api);
  AnthropicProvider anthropic({"anthropic", anthropic_server.url(), "claude-sonnet-4-5",
                               Secret(testing::FakeAnthropic::kKey)},
                              anthropic_api);

  Router router("default", {{&openai, {2.5, 10}}, {&anthropic, {3, 15}}}, clock, g_sleeper);

  SUBCASE("a Retry-After that fits the session's deadline is waited for once") {
    openai_server.inject(
        {429, R"({"error":{"message":"Rate limit reached"}})", {{"Retry-After", "20"}}});
    SessionLedger ledger({0, 0, clock.now() + std::chrono::minutes(5)});
    auto before = g_sleeper.slept().size();
    auto outcome = router.complete(kRequest, ledger);
    REQUIRE_MESSAGE(outcome.result.has_value(), outcome.result.error().message);
    REQUIRE(outcome.calls.size() == 2);
    CHECK(outcome.calls[0].failover_reason == "rate limited (HTTP 429); waited 20 s as asked");
    CHECK(outcome.calls[1].provider == "openai");
    REQUIRE(g_sleeper.slept().size() == before + 1);
    CHECK(g_sleeper.slept().back() == std::chrono::seconds(20));
    CHECK(ledger.calls().size() == 2);
  }

  SUBCASE("a Retry-After past the deadline fails over at once; a second 429 is not waited for") {
    openai_server.inject(
        {429, R"({"error":{"message":"Rate limit reached"}})", {{"Retry-After", "30"}}});
    SessionLedger ledger({0, 0, clock.now() + std::chrono::seconds(10)});
    auto before = g_sleeper.slept().size();
    auto outcome = router.complete(kRequest, ledger);
    REQUIRE_MESSAGE(outcome.result.has_value(), outcome.result.error().message);
    CHECK(outcome.result->message.content == "Hello!");
    REQUIRE(outcome.calls.size() == 2);
    CHECK(outcome.calls[0].http_status == 429);
    CHECK(outcome.calls[0].failover_reason == "rate limited (HTTP 429)");
    CHECK(outcome.calls[1].provider == "anthropic");
    CHECK(outcome.calls[1].usage.output_tokens == 12);
    CHECK(outcome.calls[1].cost == doctest::Approx((31 * 3.0 + 12 * 15.0) / 1e6));
    CHECK(g_sleeper.slept().size() == before);
    CHECK(ledger.cost() == doctest::Approx(outcome.calls[1].cost));
  }
}

TEST_CASE("Retry-After is honoured once per completion, then the route moves on") {
  auto limited = [] {
    Error error{ErrorCode::rate_limited, "openai: 429", 429, std::chrono::seconds(1)};
    return tl::unexpected(error);
  };
  ScriptedProvider a("openai", "gpt-4o", {limited(), limited()});
  ScriptedProvider b("anthropic", "claude", {answer(1, 1)});
  auto outcome = complete(make_router("r", {{&a}, {&b}}));
  REQUIRE(outcome.result.has_value());
  REQUIRE(outcome.calls.size() == 3);
  CHECK(outcome.calls[0].failover_reason == "rate limited (HTTP 429); waited 1 s as asked");
  CHECK(outcome.calls[1].failover_reason == "rate limited (HTTP 429)");
  CHECK(outcome.calls[2].provider == "anthropic");
}

TEST_CASE("a spent budget stops the route before the next call, with what was spent") {
  SUBCASE("tokens") {
    ScriptedProvider a("openai", "gpt-4o", {answer(800, 300)});
    SessionLedger ledger({1000, 0, {}});
    Router router = make_router("r", {{&a, {}, false, 4096}});
    REQUIRE(router.complete(kRequest, ledger).result.has_value());
    auto refused = router.complete(kRequest, ledger);
    REQUIRE_FALSE(refused.result.has_value());
    CHECK(refused.result.error().code == ErrorCode::budget_exhausted);
    CHECK(refused.result.error().message ==
          "route r: the session's token budget is spent: 1100 of 1000 tokens used");
    CHECK(a.calls == 1);
    CHECK(refused.calls.empty());
  }
  SUBCASE("cost, summed over calls at each provider's price") {
    ScriptedProvider a("openai", "gpt-4o", {answer(1'000'000, 0), answer(1'000'000, 0)});
    SessionLedger ledger({0, 4.0, {}});
    Router router = make_router("r", {{&a, {2.5, 10}}});
    REQUIRE(router.complete(kRequest, ledger).result.has_value());
    REQUIRE(router.complete(kRequest, ledger).result.has_value());
    CHECK(ledger.cost() == doctest::Approx(5.0));
    auto refused = router.complete(kRequest, ledger);
    CHECK(refused.result.error().message ==
          "route r: the session's cost budget is spent: 5.0000 of 4.0000");
  }
  SUBCASE("time") {
    ScriptedProvider a("openai", "gpt-4o", {answer(1, 1)});
    SessionLedger ledger({0, 0, g_clock.now()});
    auto refused = make_router("r", {{&a}}).complete(kRequest, ledger);
    CHECK(refused.result.error().code == ErrorCode::budget_exhausted);
    CHECK(a.calls == 0);
  }
}

TEST_CASE("the output tokens asked for are capped by what is left of the token budget") {
  SessionLedger ledger({1000, 0, {}});
  CHECK(ledger.output_allowance(0, 4096) == 1000);
  CHECK(ledger.output_allowance(200, 4096) == 200);
  ledger.record({"p", "m", "h", 200, 0, {700, 100}, 0, "", ""});
  CHECK(ledger.output_allowance(0, 4096) == 200);
  CHECK(SessionLedger().output_allowance(0, 4096) == 4096);
}
