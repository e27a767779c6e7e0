#include "support/fake_openai.h"

#include <nlohmann/json.hpp>

namespace forgehand::testing {

namespace {

using nlohmann::json;

void invalid(httplib::Response& res, int status, const std::string& message, const char* type) {
  res.status = status;
  res.set_content(
      json{{"error", {{"message", message}, {"type", type}, {"param", nullptr}, {"code", nullptr}}}}
          .dump(),
      "application/json");
}

}  // namespace

std::string chat_request_problem(const json& body, bool azure) {
  if (!body.is_object()) return "We could not parse the JSON body of your request.";
  if (!azure && !body.contains("model")) return "you must provide a model parameter";
  if (!body.contains("messages") || !body["messages"].is_array() || body["messages"].empty()) {
    return "'messages' must contain at least one message";
  }
  for (const json& message : body["messages"]) {
    std::string role = message.value("role", "");
    if (role != "system" && role != "user" && role != "assistant" && role != "tool") {
      return "Invalid value for 'role': " + role;
    }
    if (role == "tool" && !message.contains("tool_call_id")) {
      return "Missing parameter 'tool_call_id'";
    }
    if (message.contains("tool_calls")) {
      for (const json& call : message["tool_calls"]) {
        if (!call.contains("id") || call.value("type", "") != "function" ||
            !call["function"].contains("arguments") || !call["function"]["arguments"].is_string()) {
          return "Invalid tool_calls";
        }
      }
    }
  }
  if (body.contains("tools")) {
    for (const json& tool : body["tools"]) {
      if (tool.value("type", "") != "function" || !tool["function"].contains("name")) {
        return "Invalid tools";
      }
    }
  }
  return {};
}

namespace {

json answer(const json& body, const std::string& model) {
  const json& last = body["messages"].back();
  json message = {{"role", "assistant"}};
  std::string finish = "stop";
  if (last["role"] == "tool") {
    message["content"] = "Done: " + last.value("content", "");
  } else if (body.contains("tools") && !body["tools"].empty()) {
    message["content"] = nullptr;
    message["tool_calls"] = json::array({{{"id", "call_abc123"},
                                          {"type", "function"},
                                          {"function",
                                           {{"name", body["tools"][0]["function"]["name"]},
                                            {"arguments", R"({"path":"README.md"})"}}}}});
    finish = "tool_calls";
  } else {
    message["content"] = "Hello from the fake.";
  }
  return {
      {"id", "chatcmpl-123"},
      {"object", "chat.completion"},
      {"created", 1677652288},
      {"model", model},
      {"choices", json::array({{{"index", 0}, {"message", message}, {"finish_reason", finish}}})},
      {"usage", {{"prompt_tokens", 42}, {"completion_tokens", 7}, {"total_tokens", 49}}}};
}

}  // namespace

FakeOpenAi::FakeOpenAi(bool require_key) {
  server_.Post(
      "/v1/chat/completions",
      recorded([require_key](const httplib::Request& req, httplib::Response& res) {
        if (require_key && req.get_header_value("Authorization") != std::string("Bearer ") + kKey) {
          invalid(res, 401, "Incorrect API key provided", "invalid_request_error");
          return;
        }
        auto body = json::parse(req.body, nullptr, false);
        if (auto problem = chat_request_problem(body, false); !problem.empty()) {
          invalid(res, 400, problem, "invalid_request_error");
          return;
        }
        res.set_content(answer(body, body["model"]).dump(), "application/json");
      }));
  server_.Post(R"(/openai/deployments/([^/]+)/chat/completions)",
               recorded([](const httplib::Request& req, httplib::Response& res) {
                 if (req.get_header_value("api-key") != kAzureKey) {
                   invalid(res, 401, "Access denied due to invalid subscription key", "401");
                   return;
                 }
                 if (!req.has_param("api-version")) {
                   invalid(res, 404, "Resource not found", "404");
                   return;
                 }
                 auto body = json::parse(req.body, nullptr, false);
                 if (auto problem = chat_request_problem(body, true); !problem.empty()) {
                   invalid(res, 400, problem, "invalid_request_error");
                   return;
                 }
                 res.set_content(answer(body, "gpt-4o-2024-08-06").dump(), "application/json");
               }));
  start();
}

}  // namespace forgehand::testing
