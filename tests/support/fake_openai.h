#pragma once
// An in-process Chat Completions API on loopback (platform.openai.com/docs/api-reference/chat),
// at /v1/chat/completions and at Azure's /openai/deployments/{deployment}/chat/completions with
// api-version. It validates requests as the reference describes (400 with OpenAI's error object),
// and answers: with a call to the first tool when tools are offered, with text once a tool result
// comes back or when there are no tools. Thread-safe.

#include "support/fake_server.h"

namespace forgehand::testing {

class FakeOpenAi final : public FakeServer {
 public:
  static constexpr const char* kKey = "sk-test-key";
  static constexpr const char* kAzureKey = "azure-test-key";
  // `require_key` false plays a local server (Ollama, vLLM) that takes no key.
  explicit FakeOpenAi(bool require_key = true);
};

}  // namespace forgehand::testing
