#include "providers/openai_chat.h"

#include <nlohmann/json.hpp>

#include "providers/openai_wire.h"
#include "providers/wire.h"

namespace forgehand::providers {

using nlohmann::json;

OpenAiChatProvider::OpenAiChatProvider(OpenAiChatSettings settings, const ApiCaller& api)
    : settings_(std::move(settings)), api_(api), host_(url_host(settings_.base_url)) {}

Result<ChatResponse> OpenAiChatProvider::complete(const ChatRequest& request) const {
  auto wire = openai_wire::request_body(request);
  if (!wire) return tl::unexpected(wire.error().context(settings_.name));
  json& body = *wire;
  std::int64_t limit =
      request.max_output_tokens > 0 ? request.max_output_tokens : settings_.max_output_tokens;
  HttpRequest http;
  http.method = "POST";
  if (settings_.kind == OpenAiKind::azure) {
    // The deployment names the model; api-key authenticates.
    http.url = settings_.base_url + "/openai/deployments/" + url_encode(settings_.model) +
               "/chat/completions?api-version=" + url_encode(settings_.api_version);
    http.headers.emplace_back("api-key", settings_.key.reveal());
    body["max_completion_tokens"] = limit;
  } else {
    http.url = settings_.base_url + "/chat/completions";
    body["model"] = settings_.model;
    if (!settings_.key.empty()) {
      http.headers.emplace_back("Authorization", "Bearer " + settings_.key.reveal());
    }
    // OpenAI replaced max_tokens with max_completion_tokens (required by its reasoning models);
    // compatible servers (Ollama, vLLM, LM Studio, OpenRouter, ...) document max_tokens.
    body[settings_.kind == OpenAiKind::openai ? "max_completion_tokens" : "max_tokens"] = limit;
  }
  http.headers.emplace_back("User-Agent", "forgehand");
  for (const auto& header : settings_.extra_headers) http.headers.push_back(header);
  http.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  http.content_type = "application/json";

  auto response = api_.call("chat completion", http);
  if (!response) return tl::unexpected(response.error());
  auto out = openai_wire::response_from_body(json::parse(response->body, nullptr, false));
  if (!out) return tl::unexpected(out.error().context(settings_.name + ": chat completion"));
  if (out->model.empty()) out->model = settings_.model;
  return out;
}

}  // namespace forgehand::providers
