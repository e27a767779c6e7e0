#pragma once
// The GitHub App adapter. Immutable; thread-safe.

#include <memory>

#include "forgehand/forge.h"
#include "forges/common/api_forge.h"
#include "forges/github/api.h"
#include "forges/github/app_auth.h"
#include "util/api_caller.h"

namespace forgehand::github {

class GithubForge final : public forges::ApiForge<GithubApi> {
 public:
  // Errors: `config` when an App private key is given but does not load.
  static Result<std::unique_ptr<Forge>> create(ForgeSettings settings,
                                               const ApiDependencies& dependencies);

  ForgeKind kind() const override { return ForgeKind::github; }
  const std::string& instance() const override { return settings_.instance; }
  Result<Parsed> parse(const Delivery& delivery) const override;
  Result<std::string> upsert_check_run(const RepoRef& repo, const CheckRun& run) const override;
  std::vector<Capability> capabilities() const override;

 protected:
  const GithubApi* api() const override { return api_.get(); }

 private:
  explicit GithubForge(ForgeSettings settings) : settings_(std::move(settings)) {}

  ForgeSettings settings_;
  std::unique_ptr<ApiCaller> caller_;
  std::unique_ptr<InstallationTokens> tokens_;
  std::unique_ptr<GithubApi> api_;
};

}  // namespace forgehand::github
