#pragma once
// An in-process Chat Completions API on loopback (platform.openai.com/docs/api-reference/chat),
// at /v1/chat/completions and at Azure's /openai/deployments/{deployment}/chat/completions with
// api-version. It validates requests as the reference describes (400 with OpenAI's error object),
// and answers: with a call to the first tool when tools are offered, with text once a tool result
// comes back or when there are no tools. Thread-safe.

#include <nlohmann/json.hpp>
#include <string>

#include "support/fake_server.h"

namespace forgehand::testing {

// What is wrong with a Chat Completions request body by the reference's rules for the fields
// forgehand sends (OpenAI's error message), or "" when nothing is. Azure takes the model from the
// deployment in the path.
std::string chat_request_problem(const nlohmann::json& body, bool azure);

class FakeOpenAi final : public FakeServer {
 public:
  static constexpr const char* kKey = "sk-test-key";
  static constexpr const char* kAzureKey = "azure-test-key";
  // `require_key` false plays a local server (Ollama, vLLM) that takes no key.
  explicit FakeOpenAi(bool require_key = true);
};

}  // namespace forgehand::testing
