#pragma once
// The Chat Completions wire format (platform.openai.com/docs/api-reference/chat/create), spoken
// to OpenAI itself, to any OpenAI-compatible server (OpenRouter, DeepSeek, Qwen's DashScope
// compatible mode, Moonshot/Kimi, Z.AI, Ollama's /v1, vLLM, LM Studio), and to Azure OpenAI
// (learn.microsoft.com/azure/ai-services/openai/reference: deployment in the path, api-version
// in the query, api-key header). Immutable; thread-safe.

#include <string>
#include <utility>
#include <vector>

#include "forgehand/provider.h"
#include "forgehand/secret.h"
#include "util/api_caller.h"

namespace forgehand::providers {

enum class OpenAiKind { openai, compatible, azure };

struct OpenAiChatSettings {
  std::string name;  // the configured provider's name, for errors and attribution
  OpenAiKind kind = OpenAiKind::openai;
  // openai: https://api.openai.com/v1; compatible: the server's /v1 base;
  // azure: https://RESOURCE.openai.azure.com
  std::string base_url;
  std::string model;                       // azure: the deployment name
  std::string api_version = "2024-10-21";  // azure only
  Secret key;                              // may be empty for local servers that take none
  std::vector<std::pair<std::string, std::string>> extra_headers;  // e.g. OpenRouter's X-Title
  std::int64_t max_output_tokens = 4096;
};

class OpenAiChatProvider final : public Provider {
 public:
  OpenAiChatProvider(OpenAiChatSettings settings, const ApiCaller& api);

  const std::string& name() const override { return settings_.name; }
  const std::string& model() const override { return settings_.model; }
  const std::string& endpoint_host() const override { return host_; }
  Result<ChatResponse> complete(const ChatRequest& request) const override;

 private:
  OpenAiChatSettings settings_;
  const ApiCaller& api_;
  std::string host_;
};

}  // namespace forgehand::providers
