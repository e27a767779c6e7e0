#include "providers/gemini.h"

#include <nlohmann/json.hpp>

#include "providers/wire.h"

namespace forgehand::providers {

namespace {

using nlohmann::json;

// Gemini has two roles, user and model. A function's result is a functionResponse part in a
// user turn; its `response` must be an object, so the tool's text goes in {"content": ...}.
// Consecutive parts of the same role share one content entry.
void append_part(json& contents, const char* role, json part) {
  if (!contents.empty() && contents.back()["role"] == role) {
    contents.back()["parts"].push_back(std::move(part));
  } else {
    contents.push_back({{"role", role}, {"parts", json::array({std::move(part)})}});
  }
}

}  // namespace

GeminiProvider::GeminiProvider(GeminiSettings settings, const ApiCaller& api)
    : settings_(std::move(settings)), api_(api), host_(url_host(settings_.base_url)) {}

Result<ChatResponse> GeminiProvider::complete(const ChatRequest& request) const {
  json body;
  json contents = json::array();
  std::string system;
  for (const Message& message : request.messages) {
    switch (message.role) {
      case Role::system:
        system += (system.empty() ? "" : "\n\n") + message.content;
        break;
      case Role::user:
        append_part(contents, "user", {{"text", message.content}});
        break;
      case Role::assistant:
        if (!message.content.empty()) append_part(contents, "model", {{"text", message.content}});
        for (const ToolCall& call : message.tool_calls) {
          json function_call = {{"name", call.name}, {"args", arguments_object(call.arguments)}};
          if (!call.id.empty()) function_call["id"] = call.id;
          append_part(contents, "model", {{"functionCall", std::move(function_call)}});
        }
        break;
      case Role::tool: {
        json function_response = {{"name", message.tool_name},
                                  {"response", {{"content", message.content}}}};
        if (!message.tool_call_id.empty()) function_response["id"] = message.tool_call_id;
        append_part(contents, "user", {{"functionResponse", std::move(function_response)}});
        break;
      }
    }
  }
  body["contents"] = std::move(contents);
  if (!system.empty()) body["systemInstruction"] = {{"parts", json::array({{{"text", system}}})}};
  if (!request.tools.empty()) {
    json declarations = json::array();
    for (const ToolDefinition& tool : request.tools) {
      json schema = json::parse(tool.parameters_schema, nullptr, false);
      if (schema.is_discarded()) {
        return fail(ErrorCode::invalid_argument, settings_.name + ": tool " + tool.name +
                                                     " has a parameters schema that is not JSON");
      }
      declarations.push_back({{"name", tool.name},
                              {"description", tool.description},
                              {"parameters", std::move(schema)}});
    }
    body["tools"] = json::array({{{"functionDeclarations", std::move(declarations)}}});
  }
  body["generationConfig"] = {{"maxOutputTokens", request.max_output_tokens > 0
                                                      ? request.max_output_tokens
                                                      : settings_.max_output_tokens}};

  HttpRequest http;
  http.method = "POST";
  http.url = settings_.base_url + "/models/" + url_encode(settings_.model) + ":generateContent";
  http.headers = {{"x-goog-api-key", settings_.key.reveal()}, {"User-Agent", "forgehand"}};
  http.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  http.content_type = "application/json";

  auto response = api_.call("generate content", http);
  if (!response) return tl::unexpected(response.error());
  auto parsed = json::parse(response->body, nullptr, false);
  if (!parsed.is_object() || !parsed.contains("candidates") || !parsed["candidates"].is_array() ||
      parsed["candidates"].empty()) {
    // A prompt blocked by safety settings comes back without candidates, with promptFeedback.
    std::string reason = parsed.is_object() && parsed.contains("promptFeedback")
                             ? " (prompt blocked: " + parsed["promptFeedback"].dump() + ")"
                             : "";
    return fail(ErrorCode::malformed,
                settings_.name + ": generate content: the response has no candidates" + reason);
  }
  const json& candidate = parsed["candidates"][0];
  ChatResponse out;
  out.message.role = Role::assistant;
  if (candidate.contains("content") && candidate["content"].contains("parts") &&
      candidate["content"]["parts"].is_array()) {
    int call_index = 0;
    for (const json& part : candidate["content"]["parts"]) {
      if (part.contains("text") && part["text"].is_string()) {
        out.message.content += part["text"].get<std::string>();
      } else if (part.contains("functionCall") && part["functionCall"].is_object()) {
        const json& call = part["functionCall"];
        // Older models give calls no id; number them so results can be matched to calls.
        std::string id = call.value("id", "call_" + std::to_string(call_index));
        ++call_index;
        out.message.tool_calls.push_back(ToolCall{
            id, call.value("name", ""), call.contains("args") ? call["args"].dump() : "{}"});
      }
    }
  }
  std::string finish = candidate.value("finishReason", "");
  out.stop_reason = !out.message.tool_calls.empty() ? StopReason::tool_use
                    : finish == "STOP"              ? StopReason::end_turn
                    : finish == "MAX_TOKENS"        ? StopReason::max_tokens
                                                    : StopReason::other;
  if (parsed.contains("usageMetadata") && parsed["usageMetadata"].is_object()) {
    const json& usage = parsed["usageMetadata"];
    out.usage.input_tokens = usage.value("promptTokenCount", std::int64_t{0});
    out.usage.output_tokens = usage.value("candidatesTokenCount", std::int64_t{0});
  }
  out.model = parsed.value("modelVersion", settings_.model);
  return out;
}

}  // namespace forgehand::providers
