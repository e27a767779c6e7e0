#include "providers/provider_check.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "util/redact.h"

namespace forgehand::providers {

namespace {

// Enough output for a reasoning model to say something; small enough to cost nothing.
constexpr std::int64_t kCheckOutputTokens = 32;

std::string_view result_name(ProviderCheck::Result result) {
  switch (result) {
    case ProviderCheck::Result::ok:
      return "ok";
    case ProviderCheck::Result::error:
      return "error";
    case ProviderCheck::Result::not_sent:
      return "not sent";
  }
  return "error";
}

}  // namespace

Result<std::vector<ProviderCheck>> check_providers(const ServerConfig& config,
                                                   const ProviderSet& providers,
                                                   const std::optional<std::string>& route,
                                                   bool dry_run) {
  std::vector<std::string> names;
  if (route) {
    auto found = std::find_if(config.routes.begin(), config.routes.end(),
                              [&](const RouteConfig& r) { return r.name == *route; });
    if (found == config.routes.end()) {
      return fail(ErrorCode::not_found, "no route named " + *route);
    }
    names = found->providers;
  } else {
    for (const ProviderConfig& provider : config.providers) names.push_back(provider.name);
  }
  const ChatRequest probe{{{Role::user, "Reply with the single word: ok"}}, {}, kCheckOutputTokens};
  std::vector<ProviderCheck> checks;
  for (const std::string& name : names) {
    const ProviderConfig* settings = nullptr;
    for (const ProviderConfig& provider : config.providers) {
      if (provider.name == name) settings = &provider;
    }
    const Provider* provider = providers.provider(name);
    if (settings == nullptr || provider == nullptr) continue;
    ProviderCheck check{name, settings->kind, settings->model, provider->endpoint_host(),
                        settings->data_boundary};
    if (!dry_run) {
      auto started = std::chrono::steady_clock::now();
      auto answer = provider->complete(probe);
      check.latency_seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      check.result = answer ? ProviderCheck::Result::ok : ProviderCheck::Result::error;
      check.detail = answer ? "answered as " + answer->model : answer.error().message;
    } else {
      check.detail = "configuration and credential ok";
    }
    checks.push_back(std::move(check));
  }
  return checks;
}

std::string render_checks(const std::vector<ProviderCheck>& checks) {
  std::vector<std::vector<std::string>> rows = {
      {"PROVIDER", "KIND", "MODEL", "ENDPOINT", "BOUNDARY", "RESULT", "LATENCY", "DETAIL"}};
  for (const ProviderCheck& check : checks) {
    char latency[32] = "-";
    if (check.result != ProviderCheck::Result::not_sent) {
      std::snprintf(latency, sizeof latency, "%.2f s", check.latency_seconds);
    }
    rows.push_back({check.provider, check.kind, check.model, check.endpoint_host,
                    check.data_boundary, std::string(result_name(check.result)), latency,
                    redact(check.detail)});
  }
  std::vector<std::size_t> widths(rows[0].size(), 0);
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

}  // namespace forgehand::providers
