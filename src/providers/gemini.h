#pragma once
// Google's Gemini API, generateContent (ai.google.dev/api/generate-content): x-goog-api-key,
// systemInstruction, contents of role user/model made of parts (text, functionCall,
// functionResponse), tools as functionDeclarations, usageMetadata. Immutable; thread-safe.

#include <string>

#include "forgehand/provider.h"
#include "forgehand/secret.h"
#include "util/api_caller.h"

namespace forgehand::providers {

struct GeminiSettings {
  std::string name;
  std::string base_url = "https://generativelanguage.googleapis.com/v1beta";
  std::string model;  // e.g. gemini-2.5-pro
  Secret key;
  std::int64_t max_output_tokens = 4096;
};

class GeminiProvider final : public Provider {
 public:
  GeminiProvider(GeminiSettings settings, const ApiCaller& api);

  const std::string& name() const override { return settings_.name; }
  const std::string& model() const override { return settings_.model; }
  const std::string& endpoint_host() const override { return host_; }
  Result<ChatResponse> complete(const ChatRequest& request) const override;

 private:
  GeminiSettings settings_;
  const ApiCaller& api_;
  std::string host_;
};

}  // namespace forgehand::providers
