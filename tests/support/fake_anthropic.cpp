#include "support/fake_anthropic.h"

#include <nlohmann/json.hpp>

namespace forgehand::testing {

namespace {

using nlohmann::json;

void error(httplib::Response& res, int status, const char* type, const std::string& message) {
  res.status = status;
  res.set_content(json{{"type", "error"}, {"error", {{"type", type}, {"message", message}}}}.dump(),
                  "application/json");
}

std::string problem_with(const json& body) {
  if (!body.is_object()) return "invalid JSON";
  if (!body.contains("model")) return "model: Field required";
  if (!body.contains("max_tokens") || !body["max_tokens"].is_number_integer()) {
    return "max_tokens: Field required";
  }
  if (!body.contains("messages") || !body["messages"].is_array() || body["messages"].empty()) {
    return "messages: at least one message is required";
  }
  for (const json& message : body["messages"]) {
    std::string role = message.value("role", "");
    if (role != "user" && role != "assistant") {
      return "messages: Unexpected role \"" + role + "\"";
    }
    if (message["content"].is_array()) {
      for (const json& block : message["content"]) {
        if (block.value("type", "") == "tool_result" && !block.contains("tool_use_id")) {
          return "tool_result: tool_use_id: Field required";
        }
        if (block.value("type", "") == "tool_use" && !block["input"].is_object()) {
          return "tool_use: input: Input should be an object";
        }
      }
    }
  }
  return {};
}

}  // namespace

FakeAnthropic::FakeAnthropic() {
  server_.Post("/v1/messages", recorded([](const httplib::Request& req, httplib::Response& res) {
                 if (req.get_header_value("x-api-key") != kKey) {
                   error(res, 401, "authentication_error", "invalid x-api-key");
                   return;
                 }
                 if (req.get_header_value("anthropic-version").empty()) {
                   error(res, 400, "invalid_request_error",
                         "anthropic-version: header is required");
                   return;
                 }
                 auto body = json::parse(req.body, nullptr, false);
                 if (auto problem = problem_with(body); !problem.empty()) {
                   error(res, 400, "invalid_request_error", problem);
                   return;
                 }
                 const json& last = body["messages"].back();
                 bool after_tool = last["content"].is_array() && !last["content"].empty() &&
                                   last["content"].back().value("type", "") == "tool_result";
                 json content = json::array();
                 std::string stop = "end_turn";
                 if (after_tool) {
                   content.push_back({{"type", "text"}, {"text", "Read it."}});
                 } else if (body.contains("tools")) {
                   content.push_back({{"type", "text"}, {"text", "Let me look."}});
                   content.push_back({{"type", "tool_use"},
                                      {"id", "toolu_01A09q90qw90lq917835lq9"},
                                      {"name", body["tools"][0]["name"]},
                                      {"input", {{"path", "README.md"}}}});
                   stop = "tool_use";
                 } else {
                   content.push_back({{"type", "text"}, {"text", "Hello!"}});
                 }
                 res.set_content(json{{"id", "msg_013Zva2CMHLNnXjNJJKqJ2EF"},
                                      {"type", "message"},
                                      {"role", "assistant"},
                                      {"model", body["model"]},
                                      {"content", content},
                                      {"stop_reason", stop},
                                      {"stop_sequence", nullptr},
                                      {"usage", {{"input_tokens", 31}, {"output_tokens", 12}}}}
                                     .dump(),
                                 "application/json");
               }));
  start();
}

}  // namespace forgehand::testing
