#include "providers/openai_wire.h"

#include <map>

namespace forgehand::providers::openai_wire {

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
  if (finish_reason == "tool_calls" || finish_reason == "function_call") {
    return StopReason::tool_use;
  }
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

tl::unexpected<Error> invalid(const std::string& field, const std::string& problem) {
  return fail(ErrorCode::invalid_argument, field + ": " + problem);
}

// Content is a string, null, or an array of parts; only text parts fit the conversation model.
Result<std::string> content_text(const json& message, const std::string& field) {
  auto content = message.find("content");
  if (content == message.end() || content->is_null()) return std::string{};
  if (content->is_string()) return content->get<std::string>();
  if (!content->is_array()) return invalid(field, "must be a string or an array of parts");
  std::string text;
  for (std::size_t i = 0; i < content->size(); ++i) {
    const json& part = (*content)[i];
    std::string type = part.is_object() ? text_at(part, "type") : "";
    if (type != "text") {
      return invalid(field + "[" + std::to_string(i) + "]",
                     "only text parts are supported, not " + (type.empty() ? "this" : type));
    }
    text += text_at(part, "text");
  }
  return text;
}

Result<Role> role_of(const std::string& name, const std::string& field) {
  // "developer" is the newer name OpenAI gives system instructions.
  if (name == "system" || name == "developer") return Role::system;
  if (name == "user") return Role::user;
  if (name == "assistant") return Role::assistant;
  if (name == "tool") return Role::tool;
  return invalid(field, "unknown role \"" + name + "\"");
}

}  // namespace

Result<json> request_body(const ChatRequest& request) {
  json body;
  json messages = json::array();
  for (const Message& message : request.messages) messages.push_back(wire_message(message));
  body["messages"] = std::move(messages);
  if (!request.tools.empty()) {
    json tools = json::array();
    for (const ToolDefinition& tool : request.tools) {
      json parameters = json::parse(tool.parameters_schema, nullptr, false);
      if (parameters.is_discarded()) {
        return fail(ErrorCode::invalid_argument,
                    "tool " + tool.name + " has a parameters schema that is not JSON");
      }
      tools.push_back({{"type", "function"},
                       {"function",
                        {{"name", tool.name},
                         {"description", tool.description},
                         {"parameters", std::move(parameters)}}}});
    }
    body["tools"] = std::move(tools);
  }
  return body;
}

Result<ChatResponse> response_from_body(const json& parsed) {
  auto malformed = [](const std::string& what) { return fail(ErrorCode::malformed, what); };
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
  return out;
}

Result<ChatRequest> request_from_body(const json& body) {
  if (!body.is_object()) return invalid("body", "must be a JSON object");
  ChatRequest request;
  auto messages = body.find("messages");
  if (messages == body.end() || !messages->is_array() || messages->empty()) {
    return invalid("messages", "must be a non-empty array");
  }
  std::map<std::string, std::string> tool_names;  // call id → tool name, for tool results
  for (std::size_t i = 0; i < messages->size(); ++i) {
    const json& wire = (*messages)[i];
    std::string field = "messages[" + std::to_string(i) + "]";
    if (!wire.is_object()) return invalid(field, "must be an object");
    auto role = role_of(text_at(wire, "role"), field + ".role");
    if (!role) return tl::unexpected(role.error());
    auto content = content_text(wire, field + ".content");
    if (!content) return tl::unexpected(content.error());
    Message message{*role, std::move(*content)};
    if (auto calls = wire.find("tool_calls"); calls != wire.end() && !calls->is_null()) {
      if (!calls->is_array()) return invalid(field + ".tool_calls", "must be an array");
      for (const json& call : *calls) {
        if (!call.is_object() || !call.contains("function") || !call["function"].is_object()) {
          return invalid(field + ".tool_calls", "each call needs a function");
        }
        ToolCall tool_call{text_at(call, "id"), text_at(call["function"], "name"),
                           text_at(call["function"], "arguments")};
        tool_names[tool_call.id] = tool_call.name;
        message.tool_calls.push_back(std::move(tool_call));
      }
    }
    if (message.role == Role::tool) {
      message.tool_call_id = text_at(wire, "tool_call_id");
      if (message.tool_call_id.empty()) return invalid(field + ".tool_call_id", "is required");
      message.tool_name = tool_names[message.tool_call_id];
    }
    request.messages.push_back(std::move(message));
  }
  if (auto tools = body.find("tools"); tools != body.end() && !tools->is_null()) {
    if (!tools->is_array()) return invalid("tools", "must be an array");
    for (std::size_t i = 0; i < tools->size(); ++i) {
      const json& tool = (*tools)[i];
      std::string field = "tools[" + std::to_string(i) + "]";
      if (!tool.is_object() || text_at(tool, "type") != "function" || !tool.contains("function") ||
          !tool["function"].is_object()) {
        return invalid(field, "only function tools are supported");
      }
      const json& function = tool["function"];
      std::string name = text_at(function, "name");
      if (name.empty()) return invalid(field + ".function.name", "is required");
      json parameters = function.value("parameters", json::object({{"type", "object"}}));
      request.tools.push_back(
          ToolDefinition{name, text_at(function, "description"), parameters.dump()});
    }
  }
  if (auto n = body.find("n"); n != body.end() && n->is_number_integer() && n->get<int>() > 1) {
    return invalid("n", "only one choice per request is supported");
  }
  for (const char* key : {"max_completion_tokens", "max_tokens"}) {
    if (auto limit = count_at(body, key); limit > 0) {
      request.max_output_tokens = limit;
      break;
    }
  }
  return request;
}

std::string finish_reason(StopReason reason) {
  switch (reason) {
    case StopReason::end_turn:
      return "stop";
    case StopReason::tool_use:
      return "tool_calls";
    case StopReason::max_tokens:
      return "length";
    case StopReason::other:
      return "stop";
  }
  return "stop";
}

namespace {
json usage_body(const Usage& usage) {
  return {{"prompt_tokens", usage.input_tokens},
          {"completion_tokens", usage.output_tokens},
          {"total_tokens", usage.input_tokens + usage.output_tokens}};
}

json wire_tool_calls(const std::vector<ToolCall>& calls, bool indexed) {
  json out = json::array();
  for (std::size_t i = 0; i < calls.size(); ++i) {
    json call = {{"id", calls[i].id},
                 {"type", "function"},
                 {"function", {{"name", calls[i].name}, {"arguments", calls[i].arguments}}}};
    if (indexed) call["index"] = i;  // stream deltas say which call they extend
    out.push_back(std::move(call));
  }
  return out;
}

json chunk(const ResponseIdentity& identity, json choices) {
  return {{"id", identity.id},
          {"object", "chat.completion.chunk"},
          {"created", identity.created},
          {"model", identity.model},
          {"choices", std::move(choices)}};
}
}  // namespace

json response_body(const ChatResponse& response, const ResponseIdentity& identity) {
  json message = {
      {"role", "assistant"},
      {"content", response.message.content.empty() && !response.message.tool_calls.empty()
                      ? json(nullptr)
                      : json(response.message.content)}};
  if (!response.message.tool_calls.empty()) {
    message["tool_calls"] = wire_tool_calls(response.message.tool_calls, false);
  }
  return {{"id", identity.id},
          {"object", "chat.completion"},
          {"created", identity.created},
          {"model", identity.model},
          {"choices", json::array({{{"index", 0},
                                    {"message", std::move(message)},
                                    {"logprobs", nullptr},
                                    {"finish_reason", finish_reason(response.stop_reason)}}})},
          {"usage", usage_body(response.usage)}};
}

std::vector<json> response_chunks(const ChatResponse& response, const ResponseIdentity& identity,
                                  bool include_usage) {
  auto delta = [&](json content, json finish) {
    json out = chunk(identity, json::array({{{"index", 0},
                                             {"delta", std::move(content)},
                                             {"logprobs", nullptr},
                                             {"finish_reason", std::move(finish)}}}));
    if (include_usage) out["usage"] = nullptr;  // only the last chunk carries it
    return out;
  };
  std::vector<json> chunks;
  chunks.push_back(delta({{"role", "assistant"}, {"content", ""}}, nullptr));
  if (!response.message.content.empty()) {
    chunks.push_back(delta({{"content", response.message.content}}, nullptr));
  }
  if (!response.message.tool_calls.empty()) {
    chunks.push_back(
        delta({{"tool_calls", wire_tool_calls(response.message.tool_calls, true)}}, nullptr));
  }
  chunks.push_back(delta(json::object(), finish_reason(response.stop_reason)));
  if (include_usage) {
    json last = chunk(identity, json::array());
    last["usage"] = usage_body(response.usage);
    chunks.push_back(std::move(last));
  }
  return chunks;
}

}  // namespace forgehand::providers::openai_wire
