// The Messages API mapping against the fake Anthropic API.
#include "providers/anthropic.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "support/fake_anthropic.h"
#include "support/fixtures.h"

using namespace forgehand;
using nlohmann::json;

namespace {

struct Rig {
  testing::FakeAnthropic server;
  testing::ManualClock clock;
  HttplibClient http;
  ApiCaller api{http, clock, real_sleeper(), "anthropic",
                RetryPolicy{1, std::chrono::milliseconds(0), std::chrono::seconds(0), 0}};

  providers::AnthropicProvider provider(std::string key = testing::FakeAnthropic::kKey) {
    return providers::AnthropicProvider({"anthropic", server.url(), "claude-sonnet-4-5",
                                         Secret(std::move(key)), "2023-06-01", 1024},
                                        api);
  }
};

const ToolDefinition kReadFile{
    "read_file", "Read a file",
    R"({"type":"object","properties":{"path":{"type":"string"}},"required":["path"]})"};

}  // namespace

TEST_CASE("Anthropic: system on top, tool_use and tool_result blocks, usage") {
  Rig rig;
  auto provider = rig.provider();
  ChatRequest request{{{Role::system, "You fix code."},
                       {Role::system, "Be brief."},
                       {Role::user, "Read the README."}},
                      {kReadFile},
                      0};
  auto first = provider.complete(request);
  REQUIRE_MESSAGE(first.has_value(), first.error().message);
  CHECK(first->stop_reason == StopReason::tool_use);
  CHECK(first->message.content == "Let me look.");
  REQUIRE(first->message.tool_calls.size() == 1);
  CHECK(first->message.tool_calls[0].id == "toolu_01A09q90qw90lq917835lq9");
  CHECK(json::parse(first->message.tool_calls[0].arguments) == json{{"path", "README.md"}});
  CHECK(first->usage.input_tokens == 31);
  CHECK(first->usage.output_tokens == 12);

  request.messages.push_back(first->message);
  request.messages.push_back(
      {Role::tool, "# hello", {}, "toolu_01A09q90qw90lq917835lq9", "read_file"});
  auto second = provider.complete(request);
  REQUIRE_MESSAGE(second.has_value(), second.error().message);
  CHECK(second->message.content == "Read it.");
  CHECK(second->stop_reason == StopReason::end_turn);

  auto sent = rig.server.requests_to("/v1/messages");
  REQUIRE(sent.size() == 2);
  CHECK(sent[0].header("x-api-key") == "sk-ant-test");
  CHECK(sent[0].header("anthropic-version") == "2023-06-01");
  auto body = json::parse(sent[1].body);
  CHECK(body["system"] == "You fix code.\n\nBe brief.");
  CHECK(body["max_tokens"] == 1024);
  CHECK(body["tools"][0] == json{{"name", "read_file"},
                                 {"description", "Read a file"},
                                 {"input_schema", json::parse(kReadFile.parameters_schema)}});
  CHECK(body["messages"][1] == json{{"role", "assistant"},
                                    {"content",
                                     {{{"type", "text"}, {"text", "Let me look."}},
                                      {{"type", "tool_use"},
                                       {"id", "toolu_01A09q90qw90lq917835lq9"},
                                       {"name", "read_file"},
                                       {"input", {{"path", "README.md"}}}}}}});
  CHECK(body["messages"][2] == json{{"role", "user"},
                                    {"content",
                                     {{{"type", "tool_result"},
                                       {"tool_use_id", "toolu_01A09q90qw90lq917835lq9"},
                                       {"content", "# hello"}}}}});
}

TEST_CASE("Anthropic: several tool results in a row share one user turn") {
  Rig rig;
  ChatRequest request{{{Role::user, "go"},
                       {Role::assistant, "", {{"t1", "a", "{}"}, {"t2", "b", "{}"}}},
                       {Role::tool, "one", {}, "t1", "a"},
                       {Role::tool, "two", {}, "t2", "b"}},
                      {},
                      0};
  REQUIRE(rig.provider().complete(request));
  auto body = json::parse(rig.server.requests_to("/v1/messages")[0].body);
  REQUIRE(body["messages"].size() == 3);
  CHECK(body["messages"][2]["content"].size() == 2);
  CHECK(body["messages"][1]["content"].size() == 2);  // no empty text block
}

TEST_CASE("Anthropic: errors carry the API's message and the status's code") {
  Rig rig;
  auto denied = rig.provider("sk-ant-wrong").complete({{{Role::user, "hi"}}, {}, 0});
  REQUIRE_FALSE(denied.has_value());
  CHECK(denied.error().code == ErrorCode::unauthorized);
  CHECK(denied.error().message == "anthropic: messages: HTTP 401: invalid x-api-key");
  rig.server.inject(
      {529, R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})", {}});
  auto overloaded = rig.provider().complete({{{Role::user, "hi"}}, {}, 0});
  CHECK(overloaded.error().code == ErrorCode::unavailable);
  CHECK(overloaded.error().message == "anthropic: messages: HTTP 529: Overloaded");
}
