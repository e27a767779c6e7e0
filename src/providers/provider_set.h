#pragma once
// The configured model providers and routes, built once at start: each provider gets its own
// HTTP client (its own timeout) and caller, and each route a Router over them. Keys are resolved
// here and stay inside the providers. Immutable after creation; thread-safe.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/server_config.h"
#include "forgehand/provider.h"
#include "providers/router.h"
#include "util/api_caller.h"
#include "util/http_client.h"

namespace forgehand::providers {

class ProviderSet {
 public:
  // Errors: `config` for a credential that does not resolve, naming where it was configured.
  static Result<std::unique_ptr<ProviderSet>> create(const ServerConfig& config, const Clock& clock,
                                                     const Sleeper& sleeper);

  const Router* route(std::string_view name) const;
  const Provider* provider(std::string_view name) const;

 private:
  struct Entry {
    ProviderConfig config;
    std::unique_ptr<HttplibClient> http;
    std::unique_ptr<ApiCaller> api;
    std::unique_ptr<Provider> provider;
  };
  std::vector<Entry> entries_;
  std::vector<Router> routers_;
};

}  // namespace forgehand::providers
