// The generateContent mapping against the fake Gemini API.
#include "providers/gemini.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "support/fake_gemini.h"
#include "support/fixtures.h"

using namespace forgehand;
using nlohmann::json;

namespace {

struct Rig {
  testing::FakeGemini server;
  testing::ManualClock clock;
  HttplibClient http;
  ApiCaller api{http, clock, real_sleeper(), "gemini",
                RetryPolicy{1, std::chrono::milliseconds(0), std::chrono::seconds(0), 0}};

  providers::GeminiProvider provider(std::string key = testing::FakeGemini::kKey) {
    return providers::GeminiProvider(
        {"gemini", server.url() + "/v1beta", "gemini-2.5-pro", Secret(std::move(key)), 2000}, api);
  }
};

const ToolDefinition kReadFile{
    "read_file", "Read a file",
    R"({"type":"object","properties":{"path":{"type":"string"}},"required":["path"]})"};

}  // namespace

TEST_CASE("Gemini: systemInstruction, functionCall and functionResponse, usageMetadata") {
  Rig rig;
  auto provider = rig.provider();
  ChatRequest request{
      {{Role::system, "You fix code."}, {Role::user, "Read the README."}}, {kReadFile}, 0};
  auto first = provider.complete(request);
  REQUIRE_MESSAGE(first.has_value(), first.error().message);
  CHECK(first->stop_reason == StopReason::tool_use);
  REQUIRE(first->message.tool_calls.size() == 1);
  const ToolCall call = first->message.tool_calls[0];
  CHECK(call.id == "call_0");
  CHECK(call.name == "read_file");
  CHECK(json::parse(call.arguments) == json{{"path", "README.md"}});
  CHECK(first->usage.input_tokens == 25);
  CHECK(first->usage.output_tokens == 9);
  CHECK(first->model == "gemini-2.5-pro-001");

  request.messages.push_back(first->message);
  request.messages.push_back({Role::tool, "# hello", {}, call.id, call.name});
  auto second = provider.complete(request);
  REQUIRE_MESSAGE(second.has_value(), second.error().message);
  CHECK(second->message.content == "Read it.");
  CHECK(second->stop_reason == StopReason::end_turn);

  auto sent = rig.server.requests_to("/v1beta/models/gemini-2.5-pro:generateContent");
  REQUIRE(sent.size() == 2);
  CHECK(sent[0].header("x-goog-api-key") == "AIza-test");
  auto body = json::parse(sent[1].body);
  CHECK(body["systemInstruction"] == json{{"parts", {{{"text", "You fix code."}}}}});
  CHECK(body["generationConfig"] == json{{"maxOutputTokens", 2000}});
  CHECK(body["tools"] ==
        json::array({{{"functionDeclarations",
                       {{{"name", "read_file"},
                         {"description", "Read a file"},
                         {"parameters", json::parse(kReadFile.parameters_schema)}}}}}}));
  CHECK(body["contents"][1] ==
        json{{"role", "model"},
             {"parts",
              {{{"functionCall",
                 {{"name", "read_file"}, {"args", {{"path", "README.md"}}}, {"id", "call_0"}}}}}}});
  CHECK(body["contents"][2] == json{{"role", "user"},
                                    {"parts",
                                     {{{"functionResponse",
                                        {{"name", "read_file"},
                                         {"response", {{"content", "# hello"}}},
                                         {"id", "call_0"}}}}}}});
}

TEST_CASE("Gemini: errors keep Google's message") {
  Rig rig;
  auto denied = rig.provider("AIza-wrong").complete({{{Role::user, "hi"}}, {}, 0});
  REQUIRE_FALSE(denied.has_value());
  CHECK(denied.error().code == ErrorCode::invalid_argument);
  CHECK(denied.error().message ==
        "gemini: generate content: HTTP 400: API key not valid. Please pass a valid API key.");
  rig.server.inject({200, R"({"promptFeedback":{"blockReason":"SAFETY"}})", {}});
  auto blocked = rig.provider().complete({{{Role::user, "hi"}}, {}, 0});
  REQUIRE_FALSE(blocked.has_value());
  CHECK(blocked.error().message.find("prompt blocked") != std::string::npos);
}
