#pragma once
// The Gitea adapter, which also serves Forgejo through a flavour flag until the two diverge
// further. Immutable; thread-safe.

#include <memory>

#include "forgehand/forge.h"
#include "forges/common/api_forge.h"
#include "forges/gitea/api.h"
#include "forges/gitea/parse.h"
#include "util/api_caller.h"

namespace forgehand::gitea {

class GiteaForge final : public forges::ApiForge<GiteaApi> {
 public:
  static Result<std::unique_ptr<Forge>> create(ForgeSettings settings, Flavour flavour,
                                               const ApiDependencies& dependencies);

  ForgeKind kind() const override {
    return flavour_ == Flavour::gitea ? ForgeKind::gitea : ForgeKind::forgejo;
  }
  const std::string& instance() const override { return settings_.instance; }
  Result<Parsed> parse(const Delivery& delivery) const override;
  std::vector<Capability> capabilities() const override;

 protected:
  const GiteaApi* api() const override { return api_.get(); }

 private:
  GiteaForge(ForgeSettings settings, Flavour flavour)
      : settings_(std::move(settings)), flavour_(flavour) {}

  ForgeSettings settings_;
  Flavour flavour_;
  std::unique_ptr<ApiCaller> caller_;
  std::unique_ptr<GiteaApi> api_;
};

}  // namespace forgehand::gitea
