// The Chat Completions mapping against the fake API: request bodies and headers for OpenAI, an
// OpenAI-compatible server and Azure, a tool-call round trip, usage, and errors for failover.
#include "providers/openai_chat.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "support/fake_openai.h"
#include "support/fixtures.h"

using namespace forgehand;
using nlohmann::json;

namespace {

struct Rig {
  testing::FakeOpenAi server;
  testing::ManualClock clock;
  HttplibClient http;
  RetryPolicy once{1, std::chrono::milliseconds(0), std::chrono::seconds(0), 0};
  ApiCaller api{http, clock, real_sleeper(), "openai", once};

  explicit Rig(bool require_key = true) : server(require_key) {}

  providers::OpenAiChatProvider provider(providers::OpenAiKind kind, std::string key,
                                         std::string base_url = {}) {
    providers::OpenAiChatSettings settings;
    settings.name = "openai";
    settings.kind = kind;
    settings.base_url = base_url.empty() ? server.url() + "/v1" : base_url;
    settings.model = "gpt-4o";
    settings.key = Secret(std::move(key));
    settings.max_output_tokens = 2048;
    return providers::OpenAiChatProvider(settings, api);
  }
};

const ToolDefinition kReadFile{
    "read_file", "Read a file of the repository",
    R"({"type":"object","properties":{"path":{"type":"string"}},"required":["path"]})"};

}  // namespace

TEST_CASE("a plain completion: request shape, answer, usage and attribution") {
  Rig rig;
  auto provider = rig.provider(providers::OpenAiKind::openai, testing::FakeOpenAi::kKey);
  auto response =
      provider.complete({{{Role::system, "You fix code."}, {Role::user, "Say hello."}}, {}, 0});
  REQUIRE_MESSAGE(response.has_value(), response.error().message);
  CHECK(response->message.role == Role::assistant);
  CHECK(response->message.content == "Hello from the fake.");
  CHECK(response->stop_reason == StopReason::end_turn);
  CHECK(response->usage.input_tokens == 42);
  CHECK(response->usage.output_tokens == 7);
  CHECK(response->model == "gpt-4o");
  CHECK(provider.endpoint_host().starts_with("127.0.0.1:"));

  auto sent = rig.server.requests_to("/v1/chat/completions");
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].header("Authorization") == "Bearer sk-test-key");
  CHECK(json::parse(sent[0].body) == json{{"model", "gpt-4o"},
                                          {"messages",
                                           {{{"role", "system"}, {"content", "You fix code."}},
                                            {{"role", "user"}, {"content", "Say hello."}}}},
                                          {"max_completion_tokens", 2048}});
}

TEST_CASE("a tool call and its result round-trip through the wire format") {
  Rig rig;
  auto provider = rig.provider(providers::OpenAiKind::openai, testing::FakeOpenAi::kKey);
  ChatRequest request{{{Role::user, "Read the README."}}, {kReadFile}, 100};
  auto first = provider.complete(request);
  REQUIRE_MESSAGE(first.has_value(), first.error().message);
  CHECK(first->stop_reason == StopReason::tool_use);
  REQUIRE(first->message.tool_calls.size() == 1);
  const ToolCall& call = first->message.tool_calls[0];
  CHECK(call.id == "call_abc123");
  CHECK(call.name == "read_file");
  CHECK(json::parse(call.arguments) == json{{"path", "README.md"}});

  request.messages.push_back(first->message);
  Message result{Role::tool, "# hello-world", {}, call.id, call.name};
  request.messages.push_back(result);
  auto second = provider.complete(request);
  REQUIRE_MESSAGE(second.has_value(), second.error().message);
  CHECK(second->message.content == "Done: # hello-world");
  CHECK(second->stop_reason == StopReason::end_turn);

  auto sent = rig.server.requests_to("/v1/chat/completions");
  REQUIRE(sent.size() == 2);
  auto body = json::parse(sent[1].body);
  CHECK(body["tools"][0] == json{{"type", "function"},
                                 {"function",
                                  {{"name", "read_file"},
                                   {"description", "Read a file of the repository"},
                                   {"parameters", json::parse(kReadFile.parameters_schema)}}}});
  CHECK(
      body["messages"][1] ==
      json{{"role", "assistant"},
           {"content", nullptr},
           {"tool_calls",
            {{{"id", "call_abc123"},
              {"type", "function"},
              {"function", {{"name", "read_file"}, {"arguments", R"({"path":"README.md"})"}}}}}}});
  CHECK(body["messages"][2] ==
        json{{"role", "tool"}, {"content", "# hello-world"}, {"tool_call_id", "call_abc123"}});
  CHECK(body["max_completion_tokens"] == 100);
}

TEST_CASE("OpenAI-compatible local servers: no key, max_tokens, extra headers") {
  Rig rig(/*require_key=*/false);
  providers::OpenAiChatSettings settings;
  settings.name = "ollama";
  settings.kind = providers::OpenAiKind::compatible;
  settings.base_url = rig.server.url() + "/v1";
  settings.model = "qwen2.5-coder:7b";
  settings.extra_headers = {{"X-Title", "forgehand"}};
  providers::OpenAiChatProvider provider(settings, rig.api);
  REQUIRE(provider.complete({{{Role::user, "hi"}}, {}, 0}));
  auto sent = rig.server.requests_to("/v1/chat/completions");
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].header("Authorization").empty());
  CHECK(sent[0].header("X-Title") == "forgehand");
  auto body = json::parse(sent[0].body);
  CHECK(body["max_tokens"] == 4096);
  CHECK_FALSE(body.contains("max_completion_tokens"));
}

TEST_CASE("Azure OpenAI: deployment in the path, api-version, api-key") {
  Rig rig;
  providers::OpenAiChatSettings settings;
  settings.name = "azure";
  settings.kind = providers::OpenAiKind::azure;
  settings.base_url = rig.server.url();
  settings.model = "gpt-4o-prod";
  settings.key = Secret(testing::FakeOpenAi::kAzureKey);
  providers::OpenAiChatProvider provider(settings, rig.api);
  auto response = provider.complete({{{Role::user, "hi"}}, {}, 0});
  REQUIRE_MESSAGE(response.has_value(), response.error().message);
  CHECK(response->model == "gpt-4o-2024-08-06");
  auto sent = rig.server.requests_to("/openai/deployments/gpt-4o-prod/chat/completions");
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].path == "/openai/deployments/gpt-4o-prod/chat/completions?api-version=2024-10-21");
  CHECK(sent[0].header("api-key") == "azure-test-key");
  CHECK(sent[0].header("Authorization").empty());
  CHECK_FALSE(json::parse(sent[0].body).contains("model"));
}

TEST_CASE("errors keep the HTTP outcome for failover and the provider's own message") {
  Rig rig;
  auto wrong_key = rig.provider(providers::OpenAiKind::openai, "sk-wrong");
  auto denied = wrong_key.complete({{{Role::user, "hi"}}, {}, 0});
  REQUIRE_FALSE(denied.has_value());
  CHECK(denied.error().code == ErrorCode::unauthorized);
  CHECK(denied.error().message == "openai: chat completion: HTTP 401: Incorrect API key provided");
  CHECK(denied.error().message.find("sk-wrong") == std::string::npos);

  auto provider = rig.provider(providers::OpenAiKind::openai, testing::FakeOpenAi::kKey);
  rig.server.inject(
      {429, R"({"error":{"message":"Rate limit reached for gpt-4o"}})", {{"Retry-After", "20"}}});
  auto limited = provider.complete({{{Role::user, "hi"}}, {}, 0});
  REQUIRE_FALSE(limited.has_value());
  CHECK(limited.error().code == ErrorCode::rate_limited);
  rig.server.inject({503, R"({"error":{"message":"The server is overloaded"}})", {}});
  CHECK(provider.complete({{{Role::user, "hi"}}, {}, 0}).error().code == ErrorCode::unavailable);
  rig.server.inject({200, R"({"choices":[]})", {}});
  CHECK(provider.complete({{{Role::user, "hi"}}, {}, 0}).error().code == ErrorCode::malformed);

  ToolDefinition broken{"x", "", "{not json"};
  CHECK(provider.complete({{{Role::user, "hi"}}, {broken}, 0}).error().code ==
        ErrorCode::invalid_argument);
}
