#include "providers/openai_chat.h"

#include <nlohmann/json.hpp>

#include "providers/wire.h"

namespace forgehand::providers {

namespace {

using nlohmann::json;

std::string_view role_name(Role role) {
  switch (role) {
    case Role::system:
      return "system";
    case Role::user:
      return "user";
    case Role::assistant:
      return "assistant";
    case Role::tool:
      return "tool";
  }
  return "user";
}

// Messages: assistant turns carry tool_calls with JSON-text arguments; tool results answer one
// call by tool_call_id.
json wire_message(const Message& message) {
  json out = {{"role", role_name(message.role)}};
  if (message.role == Role::assistant && !message.tool_calls.empty()) {
    out["content"] = message.content.empty() ? json(nullptr) : json(message.content);
    json calls = json::array();
    for (const ToolCall& call : message.tool_calls) {
      calls.push_back({{"id", call.id},
                       {"type", "function"},
                       {"function", {{"name", call.name}, {"arguments", call.arguments}}}});
    }
    out["tool_calls"] = std::move(calls);
  } else {
    out["content"] = message.content;
  }
  if (message.role == Role::tool) out["tool_call_id"] = message.tool_call_id;
  return out;
}

StopReason stop_reason(std::string_view finish_reason) {
  if (finish_reason == "stop") return StopReason::end_turn;
  if (finish_reason == "tool_calls" || finish_reason == "function_call")
    return StopReason::tool_use;
  if (finish_reason == "length") return StopReason::max_tokens;
  return StopReason::other;
}

std::string text_at(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

std::int64_t count_at(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_number_integer() ? it->get<std::int64_t>() : 0;
}

}  // namespace

OpenAiChatProvider::OpenAiChatProvider(OpenAiChatSettings settings, const ApiCaller& api)
    : settings_(std::move(settings)), api_(api), host_(url_host(settings_.base_url)) {}

Result<ChatResponse> OpenAiChatProvider::complete(const ChatRequest& request) const {
  json body;
  json messages = json::array();
  for (const Message& message : request.messages) messages.push_back(wire_message(message));
  body["messages"] = std::move(messages);
  if (!request.tools.empty()) {
    json tools = json::array();
    for (const ToolDefinition& tool : request.tools) {
      json parameters = json::parse(tool.parameters_schema, nullptr, false);
      if (parameters.is_discarded()) {
        return fail(ErrorCode::invalid_argument, settings_.name + ": tool " + tool.name +
                                                     " has a parameters schema that is not JSON");
      }
      tools.push_back({{"type", "function"},
                       {"function",
                        {{"name", tool.name},
                         {"description", tool.description},
                         {"parameters", std::move(parameters)}}}});
    }
    body["tools"] = std::move(tools);
  }
  std::int64_t limit =
      request.max_output_tokens > 0 ? request.max_output_tokens : settings_.max_output_tokens;
  HttpRequest http;
  http.method = "POST";
  if (settings_.kind == OpenAiKind::azure) {
    // The deployment names the model; api-key authenticates.
    http.url = settings_.base_url + "/openai/deployments/" + url_encode(settings_.model) +
               "/chat/completions?api-version=" + url_encode(settings_.api_version);
    http.headers.emplace_back("api-key", settings_.key.reveal());
    body["max_completion_tokens"] = limit;
  } else {
    http.url = settings_.base_url + "/chat/completions";
    body["model"] = settings_.model;
    if (!settings_.key.empty()) {
      http.headers.emplace_back("Authorization", "Bearer " + settings_.key.reveal());
    }
    // OpenAI replaced max_tokens with max_completion_tokens (required by its reasoning models);
    // compatible servers (Ollama, vLLM, LM Studio, OpenRouter, ...) document max_tokens.
    body[settings_.kind == OpenAiKind::openai ? "max_completion_tokens" : "max_tokens"] = limit;
  }
  http.headers.emplace_back("User-Agent", "forgehand");
  for (const auto& header : settings_.extra_headers) http.headers.push_back(header);
  http.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  http.content_type = "application/json";

  auto response = api_.call("chat completion", http);
  if (!response) return tl::unexpected(response.error());
  auto parsed = json::parse(response->body, nullptr, false);
  auto malformed = [&](const std::string& what) {
    return fail(ErrorCode::malformed, settings_.name + ": chat completion: " + what);
  };
  if (!parsed.is_object()) return malformed("the response is not a JSON object");
  auto choices = parsed.find("choices");
  if (choices == parsed.end() || !choices->is_array() || choices->empty() ||
      !(*choices)[0].is_object() || !(*choices)[0].contains("message") ||
      !(*choices)[0]["message"].is_object()) {
    return malformed("the response has no choices[0].message");
  }
  const json& choice = (*choices)[0];
  const json& message = choice["message"];

  ChatResponse out;
  out.message.role = Role::assistant;
  out.message.content = text_at(message, "content");
  if (auto calls = message.find("tool_calls"); calls != message.end() && calls->is_array()) {
    for (const json& call : *calls) {
      if (!call.is_object() || !call.contains("function") || !call["function"].is_object()) {
        return malformed("a tool call has no function");
      }
      out.message.tool_calls.push_back(ToolCall{text_at(call, "id"),
                                                text_at(call["function"], "name"),
                                                text_at(call["function"], "arguments")});
    }
  }
  out.stop_reason = stop_reason(text_at(choice, "finish_reason"));
  if (auto usage = parsed.find("usage"); usage != parsed.end() && usage->is_object()) {
    out.usage.input_tokens = count_at(*usage, "prompt_tokens");
    out.usage.output_tokens = count_at(*usage, "completion_tokens");
  }
  out.model = text_at(parsed, "model");
  if (out.model.empty()) out.model = settings_.model;
  return out;
}

}  // namespace forgehand::providers
