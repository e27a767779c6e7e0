#pragma once
// The GitLab adapter (gitlab.com and self-managed). Immutable; thread-safe.

#include <memory>

#include "forgehand/forge.h"
#include "forges/common/api_forge.h"
#include "forges/gitlab/api.h"
#include "util/api_caller.h"

namespace forgehand::gitlab {

class GitlabForge final : public forges::ApiForge<GitlabApi> {
 public:
  static Result<std::unique_ptr<Forge>> create(ForgeSettings settings,
                                               const ApiDependencies& dependencies);

  ForgeKind kind() const override { return ForgeKind::gitlab; }
  const std::string& instance() const override { return settings_.instance; }
  Result<Parsed> parse(const Delivery& delivery) const override;
  std::vector<Capability> capabilities() const override;

 protected:
  const GitlabApi* api() const override { return api_.get(); }

 private:
  explicit GitlabForge(ForgeSettings settings) : settings_(std::move(settings)) {}

  ForgeSettings settings_;
  std::unique_ptr<ApiCaller> caller_;
  std::unique_ptr<GitlabApi> api_;
};

}  // namespace forgehand::gitlab
