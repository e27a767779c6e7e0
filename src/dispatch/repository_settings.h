#pragma once
// A repository's own settings and templates, read through the forge API from its default branch
// only: a pull request's head (maybe a fork's) must not be able to change what forgehand allows
// or says. Read for every decision, so a change there applies at once.

#include <optional>
#include <string>
#include <vector>

#include "config/repo_config.h"
#include "forgehand/forge.h"
#include "policy/policy.h"
#include "render/templates.h"

namespace forgehand {

struct RepositorySettings {
  std::optional<RepoConfig> config;   // none when the repository has no .forgehand.yml
  std::vector<std::string> problems;  // a .forgehand.yml that does not parse
  render::TemplateSet templates;      // the server's, with the repository's overrides
  std::vector<std::string> warnings;  // overrides that were not used, and why
};

// The policy's question for an event: the forge answers the actor's permission and team
// membership, when a rule needs them. `forge` must outlive the request.
policy::PolicyRequest policy_request(const Event& event, const Forge& forge, TaskType task,
                                     const policy::History& history);

// Errors are the forge's (transient ones are worth a retry).
Result<RepositorySettings> read_repository_settings(const Forge& forge, const RepoRef& repo,
                                                    const render::TemplateSet& server_templates);

}  // namespace forgehand
