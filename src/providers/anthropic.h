#pragma once
// Anthropic's Messages API (docs.anthropic.com/en/api/messages): x-api-key and
// anthropic-version headers, a top-level system prompt, tool_use blocks in assistant turns and
// tool_result blocks in the user turn that follows. Immutable; thread-safe.

#include <string>

#include "forgehand/provider.h"
#include "forgehand/secret.h"
#include "util/api_caller.h"

namespace forgehand::providers {

struct AnthropicSettings {
  std::string name;
  std::string base_url = "https://api.anthropic.com";
  std::string model;
  Secret key;
  std::string version = "2023-06-01";     // the anthropic-version header
  std::int64_t max_output_tokens = 4096;  // max_tokens is required by the API
};

class AnthropicProvider final : public Provider {
 public:
  AnthropicProvider(AnthropicSettings settings, const ApiCaller& api);

  const std::string& name() const override { return settings_.name; }
  const std::string& model() const override { return settings_.model; }
  const std::string& endpoint_host() const override { return host_; }
  Result<ChatResponse> complete(const ChatRequest& request) const override;

 private:
  AnthropicSettings settings_;
  const ApiCaller& api_;
  std::string host_;
};

}  // namespace forgehand::providers
