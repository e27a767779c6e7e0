#include "forges/forge_registry.h"

#include "forges/gitea/gitea_forge.h"
#include "forges/github/github_forge.h"
#include "forges/gitlab/gitlab_forge.h"

namespace forgehand {

Result<std::unique_ptr<Forge>> make_forge(ForgeSettings settings,
                                          const ApiDependencies& dependencies) {
  switch (settings.kind) {
    case ForgeKind::github:
      return github::GithubForge::create(std::move(settings), dependencies);
    case ForgeKind::gitlab:
      return gitlab::GitlabForge::create(std::move(settings), dependencies);
    case ForgeKind::gitea:
      return gitea::GiteaForge::create(std::move(settings), gitea::Flavour::gitea, dependencies);
    case ForgeKind::forgejo:
      return gitea::GiteaForge::create(std::move(settings), gitea::Flavour::forgejo, dependencies);
  }
  return fail(ErrorCode::internal, "unknown forge kind");
}

}  // namespace forgehand
