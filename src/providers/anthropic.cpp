#include "providers/anthropic.h"

#include <nlohmann/json.hpp>

#include "providers/wire.h"

namespace forgehand::providers {

namespace {

using nlohmann::json;

StopReason stop_reason(std::string_view reason) {
  if (reason == "end_turn" || reason == "stop_sequence") return StopReason::end_turn;
  if (reason == "tool_use") return StopReason::tool_use;
  if (reason == "max_tokens") return StopReason::max_tokens;
  return StopReason::other;
}

// System messages join into the top-level system prompt; consecutive tool results become one
// user turn of tool_result blocks, as the API requires them right after the tool_use turn.
void build_messages(const std::vector<Message>& messages, json& body) {
  std::string system;
  json wire = json::array();
  for (const Message& message : messages) {
    switch (message.role) {
      case Role::system:
        system += (system.empty() ? "" : "\n\n") + message.content;
        break;
      case Role::user:
        wire.push_back({{"role", "user"}, {"content", message.content}});
        break;
      case Role::assistant: {
        json blocks = json::array();
        if (!message.content.empty())
          blocks.push_back({{"type", "text"}, {"text", message.content}});
        for (const ToolCall& call : message.tool_calls) {
          blocks.push_back({{"type", "tool_use"},
                            {"id", call.id},
                            {"name", call.name},
                            {"input", arguments_object(call.arguments)}});
        }
        wire.push_back({{"role", "assistant"}, {"content", std::move(blocks)}});
        break;
      }
      case Role::tool: {
        json result = {{"type", "tool_result"},
                       {"tool_use_id", message.tool_call_id},
                       {"content", message.content}};
        bool continues =
            !wire.empty() && wire.back()["role"] == "user" && wire.back()["content"].is_array();
        if (continues) {
          wire.back()["content"].push_back(std::move(result));
        } else {
          wire.push_back({{"role", "user"}, {"content", json::array({std::move(result)})}});
        }
        break;
      }
    }
  }
  if (!system.empty()) body["system"] = system;
  body["messages"] = std::move(wire);
}

}  // namespace

AnthropicProvider::AnthropicProvider(AnthropicSettings settings, const ApiCaller& api)
    : settings_(std::move(settings)), api_(api), host_(url_host(settings_.base_url)) {}

Result<ChatResponse> AnthropicProvider::complete(const ChatRequest& request) const {
  json body = {{"model", settings_.model},
               {"max_tokens", request.max_output_tokens > 0 ? request.max_output_tokens
                                                            : settings_.max_output_tokens}};
  build_messages(request.messages, body);
  if (!request.tools.empty()) {
    json tools = json::array();
    for (const ToolDefinition& tool : request.tools) {
      json schema = json::parse(tool.parameters_schema, nullptr, false);
      if (schema.is_discarded()) {
        return fail(ErrorCode::invalid_argument, settings_.name + ": tool " + tool.name +
                                                     " has a parameters schema that is not JSON");
      }
      tools.push_back({{"name", tool.name},
                       {"description", tool.description},
                       {"input_schema", std::move(schema)}});
    }
    body["tools"] = std::move(tools);
  }
  HttpRequest http;
  http.method = "POST";
  http.url = settings_.base_url + "/v1/messages";
  http.headers = {{"x-api-key", settings_.key.reveal()},
                  {"anthropic-version", settings_.version},
                  {"User-Agent", "forgehand"}};
  http.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  http.content_type = "application/json";

  auto response = api_.call("messages", http);
  if (!response) return tl::unexpected(response.error());
  auto parsed = json::parse(response->body, nullptr, false);
  if (!parsed.is_object() || !parsed.contains("content") || !parsed["content"].is_array()) {
    return fail(ErrorCode::malformed, settings_.name + ": messages: the response has no content");
  }
  ChatResponse out;
  out.message.role = Role::assistant;
  for (const json& block : parsed["content"]) {
    std::string type = block.value("type", "");
    if (type == "text") {
      out.message.content += block.value("text", "");
    } else if (type == "tool_use") {
      json input = block.contains("input") ? block["input"] : json::object();
      out.message.tool_calls.push_back(
          ToolCall{block.value("id", ""), block.value("name", ""), input.dump()});
    }
  }
  out.stop_reason = stop_reason(parsed.value("stop_reason", ""));
  if (parsed.contains("usage") && parsed["usage"].is_object()) {
    out.usage.input_tokens = parsed["usage"].value("input_tokens", std::int64_t{0});
    out.usage.output_tokens = parsed["usage"].value("output_tokens", std::int64_t{0});
  }
  out.model = parsed.value("model", settings_.model);
  return out;
}

}  // namespace forgehand::providers
