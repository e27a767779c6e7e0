#pragma once
// One conversation model for every model API: messages, tool definitions, tool calls, tool
// results and usage. Each provider maps it to its wire format and back; the router tries a
// route's providers in order and records who answered. Providers are immutable and thread-safe.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "forgehand/error.h"

namespace forgehand {

enum class Role { system, user, assistant, tool };

struct ToolCall {
  std::string id;  // the provider's id, echoed back with the result
  std::string name;
  std::string arguments;  // a JSON object, as text
};

struct Message {
  Role role = Role::user;
  std::string content;               // text; may be empty for an assistant turn that only calls
  std::vector<ToolCall> tool_calls;  // assistant
  std::string tool_call_id;          // tool: which call this is the result of
  std::string tool_name;             // tool: the called tool's name (Gemini needs it)
};

struct ToolDefinition {
  std::string name;
  std::string description;
  std::string parameters_schema;  // a JSON Schema object, as text
};

struct ChatRequest {
  std::vector<Message> messages;
  std::vector<ToolDefinition> tools;
  std::int64_t max_output_tokens = 0;  // 0: the provider's configured default
};

enum class StopReason { end_turn, tool_use, max_tokens, other };

struct Usage {
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
};

struct ChatResponse {
  Message message;  // role assistant
  StopReason stop_reason = StopReason::other;
  Usage usage;
  std::string model;  // the model the provider says answered
};

class Provider {
 public:
  virtual ~Provider() = default;

  virtual const std::string& name() const = 0;
  virtual const std::string& model() const = 0;
  // The host requests go to, for attribution ("api.openai.com", "localhost:11434").
  virtual const std::string& endpoint_host() const = 0;

  // One completion. Errors carry the HTTP outcome in their code so the router can fail over:
  // `rate_limited`, `unavailable`, `timeout`, `unauthorized`, `forbidden`, `invalid_argument`,
  // `malformed` for a response it cannot read; messages name provider, operation and status.
  virtual Result<ChatResponse> complete(const ChatRequest& request) const = 0;
};

}  // namespace forgehand
