#pragma once
// The Chat Completions wire format (platform.openai.com/docs/api-reference/chat), both ways:
// forgehand's conversation model to a request body and a response body back (the provider
// client), and a request body to the conversation model and a response to a body or to stream
// chunks (the model proxy, which speaks the same API to agent CLIs). Pure functions.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "forgehand/error.h"
#include "forgehand/provider.h"

namespace forgehand::providers::openai_wire {

// `messages` and `tools` of a request body. Errors: `invalid_argument` for a tool whose
// parameters schema is not JSON.
Result<nlohmann::json> request_body(const ChatRequest& request);

// choices[0].message, finish_reason, usage and model of a response body. Errors: `malformed`.
Result<ChatResponse> response_from_body(const nlohmann::json& body);

// A client's request body. `model`, sampling parameters and `tool_choice` are accepted and not
// passed on: the route decides the model. Errors: `invalid_argument` naming the field, for what
// the conversation model cannot carry (n > 1, image or audio parts, a malformed message).
Result<ChatRequest> request_from_body(const nlohmann::json& body);

std::string finish_reason(StopReason reason);

struct ResponseIdentity {
  std::string id;            // "chatcmpl-..."
  std::string model;         // the model that answered
  std::int64_t created = 0;  // Unix seconds
};

// A `chat.completion` object.
nlohmann::json response_body(const ChatResponse& response, const ResponseIdentity& identity);

// The `chat.completion.chunk` objects a streaming client expects for a whole answer: the role,
// the text, each tool call, the finish reason and, when asked for (stream_options.include_usage),
// a final usage chunk. Each becomes one SSE `data:` event, followed by `data: [DONE]`.
std::vector<nlohmann::json> response_chunks(const ChatResponse& response,
                                            const ResponseIdentity& identity, bool include_usage);

}  // namespace forgehand::providers::openai_wire
