#include "forges/forge_registry.h"

#include "forges/gitea/gitea_forge.h"
#include "forges/github/github_forge.h"
#include "forges/gitlab/gitlab_forge.h"

namespace forgehand {

std::unique_ptr<Forge> make_forge(ForgeSettings settings) {
  switch (settings.kind) {
    case ForgeKind::github: return std::make_unique<github::GithubForge>(std::move(settings));
    case ForgeKind::gitlab: return std::make_unique<gitlab::GitlabForge>(std::move(settings));
    case ForgeKind::gitea:
      return std::make_unique<gitea::GiteaForge>(std::move(settings), gitea::Flavour::gitea);
    case ForgeKind::forgejo:
      return std::make_unique<gitea::GiteaForge>(std::move(settings), gitea::Flavour::forgejo);
  }
  return nullptr;
}

}  // namespace forgehand
