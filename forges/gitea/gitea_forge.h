#pragma once
// The Gitea adapter, which also serves Forgejo through a flavour flag until the two diverge
// further. Immutable; thread-safe.

#include "forgehand/forge.h"
#include "forges/gitea/parse.h"

namespace forgehand::gitea {

class GiteaForge final : public Forge {
 public:
  GiteaForge(ForgeSettings settings, Flavour flavour)
      : settings_(std::move(settings)), flavour_(flavour) {}

  ForgeKind kind() const override {
    return flavour_ == Flavour::gitea ? ForgeKind::gitea : ForgeKind::forgejo;
  }
  const std::string& instance() const override { return settings_.instance; }
  Result<Parsed> parse(const Delivery& delivery) const override;

 private:
  ForgeSettings settings_;
  Flavour flavour_;
};

}  // namespace forgehand::gitea
