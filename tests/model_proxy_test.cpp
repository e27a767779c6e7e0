// The keyless model proxy, driven the way an agent CLI drives it: over HTTP, with the OpenAI
// request and response shapes, against fake provider APIs behind a real router.
#include "proxy/model_proxy.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "providers/anthropic.h"
#include "providers/openai_chat.h"
#include "support/fake_anthropic.h"
#include "support/fake_openai.h"
#include "support/fixtures.h"

using namespace forgehand;
using namespace forgehand::providers;
using nlohmann::json;

namespace {

// The provider key never reaches the client in any answer; only forgehand's session token does.
constexpr const char* kOpenAiKey = testing::FakeOpenAi::kKey;

class ProxyRig {
 public:
  ProxyRig()
      : openai_api_(http_, clock_, sleeper_, "openai", kOnce),
        anthropic_api_(http_, clock_, sleeper_, "anthropic", kOnce),
        openai_(openai_settings(), openai_api_),
        anthropic_({"anthropic", anthropic_server.url(), "claude-sonnet-4-5",
                    Secret(testing::FakeAnthropic::kKey)},
                   anthropic_api_),
        main_route_("main", {{&openai_, {2.5, 10}}, {&anthropic_, {3, 15}}}, clock_, sleeper_),
        claude_route_("claude-only", {{&anthropic_, {3, 15}}}, clock_, sleeper_),
        proxy_(proxy_options(), clock_) {
    REQUIRE(proxy_.start());
  }

  proxy::ModelProxy& proxy() { return proxy_; }
  const Router& main_route() const { return main_route_; }
  const Router& claude_route() const { return claude_route_; }

  httplib::Result post(const std::string& token, const json& body) {
    return client(token).Post("/v1/chat/completions", body.dump(), "application/json");
  }
  httplib::Client client(const std::string& token) {
    httplib::Client client("127.0.0.1", proxy_.port());
    if (!token.empty()) client.set_bearer_token_auth(token.c_str());
    client.set_read_timeout(std::chrono::seconds(10));
    return client;
  }

  testing::FakeOpenAi openai_server;
  testing::FakeAnthropic anthropic_server;

 private:
  static constexpr RetryPolicy kOnce{1, std::chrono::milliseconds(0), std::chrono::seconds(0), 0};
  OpenAiChatSettings openai_settings() const {
    OpenAiChatSettings settings;
    settings.name = "openai";
    settings.base_url = openai_server.url() + "/v1";
    settings.model = "gpt-4o";
    settings.key = Secret(kOpenAiKey);
    return settings;
  }
  static proxy::ModelProxyOptions proxy_options() {
    proxy::ModelProxyOptions options;
    options.keepalive_interval = std::chrono::milliseconds(50);
    options.max_body_bytes = 1 << 20;
    return options;
  }

  testing::ManualClock clock_;
  testing::RecordingSleeper sleeper_;
  HttplibClient http_;
  ApiCaller openai_api_;
  ApiCaller anthropic_api_;
  OpenAiChatProvider openai_;
  AnthropicProvider anthropic_;
  Router main_route_;
  Router claude_route_;
  proxy::ModelProxy proxy_;
};

const json kHello = {{"model", "anything"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}};

void check_openai_error(const httplib::Result& result, int status, const std::string& code) {
  REQUIRE(result);
  CHECK(result->status == status);
  auto body = json::parse(result->body, nullptr, false);
  REQUIRE(body.contains("error"));
  CHECK(body["error"]["code"] == code);
  CHECK(body["error"]["message"].is_string());
  CHECK(body["error"].contains("type"));
}

// An SSE body as its `data:` payloads, in order; comments are counted apart.
struct Events {
  std::vector<std::string> data;
  int comments = 0;
};
Events parse_sse(const std::string& body) {
  Events events;
  std::size_t start = 0;
  while (start < body.size()) {
    std::size_t end = body.find("\n\n", start);
    if (end == std::string::npos) end = body.size();
    std::string event = body.substr(start, end - start);
    if (event.starts_with("data: ")) events.data.push_back(event.substr(6));
    if (event.starts_with(":")) ++events.comments;
    start = end + 2;
  }
  return events;
}

}  // namespace

TEST_CASE("the proxy answers a chat completion through the route, in OpenAI's shape") {
  ProxyRig rig;
  auto ledger = std::make_shared<SessionLedger>();
  auto grant = rig.proxy().grant("s-1", rig.main_route(), ledger);
  CHECK(grant.token().starts_with("fh_proxy_"));
  CHECK(grant.base_url() == "http://127.0.0.1:" + std::to_string(rig.proxy().port()) + "/v1");

  auto result = rig.post(grant.token(), kHello);
  REQUIRE(result);
  REQUIRE(result->status == 200);
  auto body = json::parse(result->body);
  CHECK(body["object"] == "chat.completion");
  CHECK(std::string(body["id"]).starts_with("chatcmpl-"));
  CHECK(body["model"] == "gpt-4o");
  CHECK(body["choices"][0]["message"]["content"] == "Hello from the fake.");
  CHECK(body["choices"][0]["finish_reason"] == "stop");
  CHECK(body["usage"]["total_tokens"] == 49);
  CHECK(result->body.find(kOpenAiKey) == std::string::npos);

  // The provider saw forgehand's key, not the session token.
  auto upstream = rig.openai_server.requests_to("/v1/chat/completions");
  REQUIRE(upstream.size() == 1);
  CHECK(upstream[0].header("Authorization") == std::string("Bearer ") + kOpenAiKey);
  CHECK(upstream[0].body.find(grant.token()) == std::string::npos);
  REQUIRE(ledger->calls().size() == 1);
  CHECK(ledger->calls()[0].provider == "openai");
  CHECK(ledger->cost() == doctest::Approx((42 * 2.5 + 7 * 10.0) / 1e6));
}

TEST_CASE("tool calls and tool results cross the proxy into another provider's format") {
  ProxyRig rig;
  auto grant = rig.proxy().grant("s-1", rig.claude_route(), std::make_shared<SessionLedger>());
  json request = {
      {"model", "gpt-4o"},
      {"messages",
       {{{"role", "developer"}, {"content", "You fix code."}},
        {{"role", "user"}, {"content", {{{"type", "text"}, {"text", "Read the README."}}}}},
        {{"role", "assistant"},
         {"content", nullptr},
         {"tool_calls",
          {{{"id", "toolu_01"},
            {"type", "function"},
            {"function", {{"name", "read_file"}, {"arguments", R"({"path":"README.md"})"}}}}}}},
        {{"role", "tool"}, {"tool_call_id", "toolu_01"}, {"content", "# Project"}}}},
      {"tools",
       {{{"type", "function"},
         {"function",
          {{"name", "read_file"},
           {"description", "Read a file"},
           {"parameters",
            {{"type", "object"}, {"properties", {{"path", {{"type", "string"}}}}}}}}}}}},
      {"max_tokens", 512}};
  auto result = rig.post(grant.token(), request);
  REQUIRE(result);
  REQUIRE_MESSAGE(result->status == 200, result->body);

  auto upstream = rig.anthropic_server.requests_to("/v1/messages");
  REQUIRE(upstream.size() == 1);
  auto sent = json::parse(upstream[0].body);
  CHECK(sent["system"] == "You fix code.");
  CHECK(sent["max_tokens"] == 512);
  CHECK(sent["tools"][0]["name"] == "read_file");
  CHECK(sent["tools"][0]["input_schema"]["properties"]["path"]["type"] == "string");
  const json& assistant = sent["messages"][1];
  CHECK(assistant["content"][0]["type"] == "tool_use");
  CHECK(assistant["content"][0]["input"]["path"] == "README.md");
  const json& result_turn = sent["messages"][2];
  CHECK(result_turn["role"] == "user");
  CHECK(result_turn["content"][0]["type"] == "tool_result");
  CHECK(result_turn["content"][0]["tool_use_id"] == "toolu_01");
}

TEST_CASE("a rate-limited first provider fails over, the answer names the model that gave it") {
  ProxyRig rig;
  auto ledger = std::make_shared<SessionLedger>();
  auto grant = rig.proxy().grant("s-1", rig.main_route(), ledger);
  rig.openai_server.inject({429, R"({"error":{"message":"Rate limit reached"}})", {}});
  auto result = rig.post(grant.token(), kHello);
  REQUIRE(result);
  REQUIRE(result->status == 200);
  CHECK(json::parse(result->body)["model"] == "claude-sonnet-4-5");
  auto calls = ledger->calls();
  REQUIRE(calls.size() == 2);
  CHECK(calls[0].failover_reason == "rate limited (HTTP 429)");
  CHECK(describe_attribution(calls).starts_with("anthropic claude-sonnet-4-5"));
}

TEST_CASE("tokens are scoped to their session's route and stop working when revoked") {
  ProxyRig rig;
  auto main_grant =
      rig.proxy().grant("s-main", rig.main_route(), std::make_shared<SessionLedger>());
  auto claude_grant =
      rig.proxy().grant("s-claude", rig.claude_route(), std::make_shared<SessionLedger>());
  CHECK(main_grant.token() != claude_grant.token());
  CHECK(rig.proxy().active_grants() == 2);

  REQUIRE(rig.post(claude_grant.token(), kHello)->status == 200);
  CHECK(rig.openai_server.requests().empty());
  CHECK(rig.anthropic_server.requests().size() == 1);

  auto models = rig.client(claude_grant.token()).Get("/v1/models");
  REQUIRE(models);
  auto listed = json::parse(models->body);
  CHECK(listed["object"] == "list");
  CHECK(listed["data"][0]["id"] == "claude-only");
  CHECK(listed["data"].size() == 2);
  CHECK(rig.client(claude_grant.token()).Get("/v1/models/claude-only")->status == 200);
  check_openai_error(rig.client(claude_grant.token()).Get("/v1/models/gpt-4o"), 404,
                     "model_not_found");

  std::string revoked = claude_grant.token();
  claude_grant.revoke();
  check_openai_error(rig.post(revoked, kHello), 401, "invalid_api_key");
  check_openai_error(rig.client(revoked).Get("/v1/models"), 401, "invalid_api_key");
  CHECK(rig.proxy().active_grants() == 1);
  {
    auto scoped = rig.proxy().grant("s-short", rig.main_route(), std::make_shared<SessionLedger>());
    revoked = scoped.token();
  }
  check_openai_error(rig.post(revoked, kHello), 401, "invalid_api_key");
  check_openai_error(rig.post("", kHello), 401, "invalid_api_key");
  check_openai_error(rig.post(kOpenAiKey, kHello), 401, "invalid_api_key");
  REQUIRE(rig.post(main_grant.token(), kHello)->status == 200);
}

TEST_CASE("an exhausted budget answers 429 insufficient_quota with what was spent") {
  ProxyRig rig;
  auto ledger = std::make_shared<SessionLedger>(Budget{60, 0, {}});
  auto grant = rig.proxy().grant("s-1", rig.main_route(), ledger);
  REQUIRE(rig.post(grant.token(), kHello)->status == 200);  // 49 tokens of 60
  // The next call may ask for at most what is left.
  REQUIRE(rig.post(grant.token(), kHello)->status == 200);
  auto sent = json::parse(rig.openai_server.requests().back().body);
  CHECK(sent["max_completion_tokens"] == 11);
  auto refused = rig.post(grant.token(), kHello);
  check_openai_error(refused, 429, "insufficient_quota");
  CHECK(json::parse(refused->body)["error"]["message"] ==
        "forgehand: the session's token budget is spent: 98 of 60 tokens used");
  CHECK(rig.openai_server.requests().size() == 2);
}

TEST_CASE("stream: true answers with SSE chunks, usage when asked, and [DONE]") {
  ProxyRig rig;
  auto grant = rig.proxy().grant("s-1", rig.main_route(), std::make_shared<SessionLedger>());
  json request = kHello;
  request["stream"] = true;
  request["stream_options"] = {{"include_usage", true}};
  auto result = rig.post(grant.token(), request);
  REQUIRE(result);
  REQUIRE(result->status == 200);
  CHECK(result->get_header_value("Content-Type") == "text/event-stream");
  auto events = parse_sse(result->body);
  REQUIRE(events.data.size() == 5);
  CHECK(events.data.back() == "[DONE]");
  std::string text;
  for (std::size_t i = 0; i + 1 < events.data.size(); ++i) {
    auto chunk = json::parse(events.data[i]);
    CHECK(chunk["object"] == "chat.completion.chunk");
    CHECK(chunk["model"] == "gpt-4o");
    if (!chunk["choices"].empty()) text += chunk["choices"][0]["delta"].value("content", "");
  }
  CHECK(text == "Hello from the fake.");
  CHECK(json::parse(events.data[0])["choices"][0]["delta"]["role"] == "assistant");
  CHECK(json::parse(events.data[2])["choices"][0]["finish_reason"] == "stop");
  CHECK(json::parse(events.data[3])["usage"]["completion_tokens"] == 7);
}

TEST_CASE("a streamed tool call arrives as one indexed delta") {
  ProxyRig rig;
  auto grant = rig.proxy().grant("s-1", rig.main_route(), std::make_shared<SessionLedger>());
  json request = kHello;
  request["stream"] = true;
  request["tools"] = {
      {{"type", "function"},
       {"function", {{"name", "read_file"}, {"parameters", {{"type", "object"}}}}}}};
  auto events = parse_sse(rig.post(grant.token(), request)->body);
  REQUIRE(events.data.size() == 4);
  auto call = json::parse(events.data[1])["choices"][0]["delta"]["tool_calls"][0];
  CHECK(call["index"] == 0);
  CHECK(call["id"] == "call_abc123");
  CHECK(call["function"]["name"] == "read_file");
  CHECK(json::parse(events.data[2])["choices"][0]["finish_reason"] == "tool_calls");
}

TEST_CASE("a stream whose route fails ends with an error event") {
  ProxyRig rig;
  auto grant = rig.proxy().grant("s-1", rig.main_route(), std::make_shared<SessionLedger>());
  rig.openai_server.inject({503, R"({"error":{"message":"overloaded"}})", {}});
  rig.anthropic_server.inject({529,
                               R"({"type":"error","error":{"type":"overloaded_error",)"
                               R"("message":"Overloaded"}})",
                               {}});
  json request = kHello;
  request["stream"] = true;
  auto result = rig.post(grant.token(), request);
  REQUIRE(result);
  CHECK(result->status == 200);  // the headers went out before the route's answer was known
  auto events = parse_sse(result->body);
  REQUIRE(events.data.size() == 2);
  auto error = json::parse(events.data[0]);
  CHECK(error["error"]["code"] == "upstream_failed");
  CHECK(std::string(error["error"]["message"]).find("every provider failed") != std::string::npos);
  CHECK(events.data[1] == "[DONE]");
}

TEST_CASE("bad requests get OpenAI-shaped errors and never reach a provider") {
  ProxyRig rig;
  auto grant = rig.proxy().grant("s-1", rig.main_route(), std::make_shared<SessionLedger>());
  auto client = rig.client(grant.token());
  check_openai_error(client.Post("/v1/chat/completions", "{not json", "application/json"), 400,
                     "invalid_json");
  json two = kHello;
  two["n"] = 2;
  check_openai_error(rig.post(grant.token(), two), 400, "invalid_request");
  json image = {{"messages",
                 {{{"role", "user"},
                   {"content", {{{"type", "image_url"}, {"image_url", {{"url", "x"}}}}}}}}}};
  auto refused = rig.post(grant.token(), image);
  check_openai_error(refused, 400, "invalid_request");
  CHECK(json::parse(refused->body)["error"]["message"] ==
        "messages[0].content[0]: only text parts are supported, not image_url");
  check_openai_error(rig.post(grant.token(), json{{"messages", json::array()}}), 400,
                     "invalid_request");
  check_openai_error(client.Post("/v1/embeddings", "{}", "application/json"), 404, "unknown_url");
  std::string huge(2 << 20, 'x');
  check_openai_error(client.Post("/v1/chat/completions", huge, "application/json"), 413,
                     "request_too_large");
  CHECK(rig.openai_server.requests().empty());
}

TEST_CASE("a provider error that echoes forgehand's key reaches the client redacted") {
  ProxyRig rig;
  auto grant = rig.proxy().grant("s-1", rig.claude_route(), std::make_shared<SessionLedger>());
  rig.anthropic_server.inject(
      {400,
       R"({"type":"error","error":{"type":"invalid_request_error","message":"bad key sk-ant-)"
       R"(api03-abcdefghijklmnopqrstuvwxyz0123 for this request"}})",
       {}});
  auto result = rig.post(grant.token(), kHello);
  check_openai_error(result, 400, "invalid_request");
  CHECK(result->body.find("abcdefghijklmnopqrstuvwxyz0123") == std::string::npos);
  CHECK(result->body.find("[redacted]") != std::string::npos);
}

TEST_CASE("the proxy refuses to listen beyond loopback") {
  testing::ManualClock clock;
  proxy::ModelProxyOptions options;
  options.host = "0.0.0.0";
  proxy::ModelProxy proxy(options, clock);
  auto started = proxy.start();
  REQUIRE_FALSE(started);
  CHECK(started.error().code == ErrorCode::config);
}

namespace {
class SlowProvider final : public Provider {
 public:
  const std::string& name() const override { return name_; }
  const std::string& model() const override { return name_; }
  const std::string& endpoint_host() const override { return name_; }
  Result<ChatResponse> complete(const ChatRequest&) const override {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    ChatResponse response;
    response.message = {Role::assistant, "slow but sure"};
    response.stop_reason = StopReason::end_turn;
    return response;
  }

 private:
  std::string name_ = "slow";
};
}  // namespace

TEST_CASE("keep-alive comments cover a slow streamed answer") {
  testing::ManualClock clock;
  testing::RecordingSleeper sleeper;
  SlowProvider slow;
  Router route("slow", {{&slow}}, clock, sleeper);
  proxy::ModelProxyOptions options;
  options.keepalive_interval = std::chrono::milliseconds(50);
  proxy::ModelProxy proxy(options, clock);
  REQUIRE(proxy.start());
  auto grant = proxy.grant("s-1", route, std::make_shared<SessionLedger>());
  httplib::Client client("127.0.0.1", proxy.port());
  client.set_bearer_token_auth(grant.token().c_str());
  json request = kHello;
  request["stream"] = true;
  auto result = client.Post("/v1/chat/completions", request.dump(), "application/json");
  REQUIRE(result);
  auto events = parse_sse(result->body);
  CHECK(events.comments >= 2);
  REQUIRE(events.data.size() == 4);
  CHECK(json::parse(events.data[1])["choices"][0]["delta"]["content"] == "slow but sure");
}
