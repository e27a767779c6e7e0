#pragma once
// The GitLab adapter (gitlab.com and self-managed). Immutable; thread-safe.

#include "forgehand/forge.h"

namespace forgehand::gitlab {

class GitlabForge final : public Forge {
 public:
  explicit GitlabForge(ForgeSettings settings) : settings_(std::move(settings)) {}

  ForgeKind kind() const override { return ForgeKind::gitlab; }
  const std::string& instance() const override { return settings_.instance; }
  Result<Parsed> parse(const Delivery& delivery) const override;

 private:
  ForgeSettings settings_;
};

}  // namespace forgehand::gitlab
