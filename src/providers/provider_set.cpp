#include "providers/provider_set.h"

#include "providers/anthropic.h"
#include "providers/gemini.h"
#include "providers/openai_chat.h"
#include "util/secret.h"

namespace forgehand::providers {

namespace {

// One retry of the same provider on a connection error or 5xx, then the router fails over; a
// rate limit fails over at once instead of waiting.
constexpr RetryPolicy kProviderRetry{2, std::chrono::milliseconds(1000), std::chrono::seconds(0),
                                     0};

std::unique_ptr<Provider> build(const ProviderConfig& config, Secret key, const ApiCaller& api) {
  if (config.kind == "anthropic") {
    return std::make_unique<AnthropicProvider>(
        AnthropicSettings{config.name, config.base_url, config.model, std::move(key), "2023-06-01",
                          config.max_output_tokens},
        api);
  }
  if (config.kind == "gemini") {
    return std::make_unique<GeminiProvider>(
        GeminiSettings{config.name, config.base_url, config.model, std::move(key),
                       config.max_output_tokens},
        api);
  }
  OpenAiChatSettings settings;
  settings.name = config.name;
  settings.kind = config.kind == "azure-openai"        ? OpenAiKind::azure
                  : config.kind == "openai-compatible" ? OpenAiKind::compatible
                                                       : OpenAiKind::openai;
  settings.base_url = config.base_url;
  settings.model = config.model;
  if (!config.api_version.empty()) settings.api_version = config.api_version;
  settings.key = std::move(key);
  settings.extra_headers = config.headers;
  settings.max_output_tokens = config.max_output_tokens;
  return std::make_unique<OpenAiChatProvider>(std::move(settings), api);
}

}  // namespace

Result<std::unique_ptr<ProviderSet>> ProviderSet::create(const ServerConfig& config,
                                                         const Clock& clock,
                                                         const Sleeper& sleeper) {
  auto set = std::unique_ptr<ProviderSet>(new ProviderSet());
  set->entries_.reserve(config.providers.size());
  for (const ProviderConfig& provider : config.providers) {
    Secret key;
    if (provider.credential.configured()) {
      auto resolved = resolve_secret(provider.credential.reference);
      if (!resolved) return tl::unexpected(resolved.error().context(provider.credential.location));
      key = std::move(*resolved);
    }
    Entry entry;
    entry.config = provider;
    entry.http = std::make_unique<HttplibClient>(HttplibClientOptions{
        std::chrono::milliseconds(10'000),
        std::chrono::duration_cast<std::chrono::milliseconds>(provider.timeout), config.ca_bundle});
    entry.api =
        std::make_unique<ApiCaller>(*entry.http, clock, sleeper, provider.name, kProviderRetry);
    entry.provider = build(provider, std::move(key), *entry.api);
    set->entries_.push_back(std::move(entry));
  }
  for (const RouteConfig& route : config.routes) {
    std::vector<RouteStep> steps;
    for (const std::string& name : route.providers) {
      const Entry* entry = nullptr;
      for (const Entry& candidate : set->entries_) {
        if (candidate.config.name == name) entry = &candidate;
      }
      if (entry == nullptr) {
        return fail(ErrorCode::config, "route " + route.name + ": no provider named " + name);
      }
      steps.push_back(RouteStep{
          entry->provider.get(),
          Price{entry->config.input_price_per_million, entry->config.output_price_per_million},
          entry->config.failover_on_auth_errors, entry->config.max_output_tokens});
    }
    set->routers_.emplace_back(route.name, std::move(steps), clock, sleeper);
  }
  return set;
}

const Router* ProviderSet::route(std::string_view name) const {
  for (const Router& router : routers_) {
    if (router.route() == name) return &router;
  }
  return nullptr;
}

const Provider* ProviderSet::provider(std::string_view name) const {
  for (const Entry& entry : entries_) {
    if (entry.config.name == name) return entry.provider.get();
  }
  return nullptr;
}

}  // namespace forgehand::providers
