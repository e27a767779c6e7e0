#pragma once
// The GitHub App adapter. Immutable; thread-safe.

#include "forgehand/forge.h"

namespace forgehand::github {

class GithubForge final : public Forge {
 public:
  explicit GithubForge(ForgeSettings settings) : settings_(std::move(settings)) {}

  ForgeKind kind() const override { return ForgeKind::github; }
  const std::string& instance() const override { return settings_.instance; }
  Result<Parsed> parse(const Delivery& delivery) const override;

 private:
  ForgeSettings settings_;
};

}  // namespace forgehand::github
