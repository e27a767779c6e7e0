#pragma once
// The forges forgehand speaks to. A configured instance has exactly one kind, and the kind (never
// the request headers) decides how its webhooks are verified and parsed. Plain values.

#include <array>
#include <optional>
#include <string_view>

namespace forgehand {

enum class ForgeKind { github, gitlab, gitea, forgejo };

inline constexpr std::array<ForgeKind, 4> kAllForgeKinds = {ForgeKind::github, ForgeKind::gitlab,
                                                            ForgeKind::gitea, ForgeKind::forgejo};

constexpr std::string_view to_string(ForgeKind kind) {
  switch (kind) {
    case ForgeKind::github:
      return "github";
    case ForgeKind::gitlab:
      return "gitlab";
    case ForgeKind::gitea:
      return "gitea";
    case ForgeKind::forgejo:
      return "forgejo";
  }
  return "unknown";
}

constexpr std::optional<ForgeKind> parse_forge_kind(std::string_view name) {
  for (ForgeKind kind : kAllForgeKinds) {
    if (to_string(kind) == name) return kind;
  }
  return std::nullopt;
}

}  // namespace forgehand
