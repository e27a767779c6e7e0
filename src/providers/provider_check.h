#pragma once
// `forgehand providers check`: one tiny request to each configured provider (or each provider of
// one route), so an operator sees which keys, endpoints and models work before a session needs
// them. Reads the providers; thread-compatible.

#include <optional>
#include <string>
#include <vector>

#include "config/server_config.h"
#include "providers/provider_set.h"

namespace forgehand::providers {

struct ProviderCheck {
  std::string provider;
  std::string kind;
  std::string model;
  std::string endpoint_host;
  std::string data_boundary;
  enum class Result { ok, error, not_sent } result = Result::not_sent;
  double latency_seconds = 0;
  std::string detail;  // the answering model, or the error; redacted when printed
};

// Errors: `not_found` for a route that is not configured.
Result<std::vector<ProviderCheck>> check_providers(const ServerConfig& config,
                                                   const ProviderSet& providers,
                                                   const std::optional<std::string>& route,
                                                   bool dry_run);

// An aligned text table, one row per provider, secrets redacted.
std::string render_checks(const std::vector<ProviderCheck>& checks);

}  // namespace forgehand::providers
