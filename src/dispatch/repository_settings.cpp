#include "dispatch/repository_settings.h"

namespace forgehand {

policy::PolicyRequest policy_request(const Event& event, const Forge& forge, TaskType task,
                                     const policy::History& history) {
  policy::PolicyRequest request;
  request.instance = event.instance;
  request.repo = event.repo.full_name;
  request.task = task;
  request.actor = event.actor;
  request.from_fork = event.from_fork;
  request.history = history;
  request.permission = [&forge, repo = event.repo, actor = event.actor] {
    return forge.permission(repo, actor);
  };
  request.in_team = [&forge, repo = event.repo, actor = event.actor](const std::string& team) {
    return forge.is_team_member(repo, team, actor);
  };
  return request;
}

Result<RepositorySettings> read_repository_settings(const Forge& forge, const RepoRef& repo,
                                                    const render::TemplateSet& server_templates) {
  RepositorySettings settings{std::nullopt, {}, server_templates, {}};
  std::string ref = repo.default_branch.empty() ? "HEAD" : repo.default_branch;
  auto text = forge.read_file(repo, kRepoConfigPath, ref);
  if (!text) return tl::unexpected(text.error());
  if (!*text) return settings;
  auto parsed = parse_repo_config(**text);
  if (!parsed) {
    settings.problems.push_back(parsed.error().message);
    return settings;
  }
  std::map<std::string, std::string> overrides;
  for (const auto& [name, path] : parsed->templates) {
    auto file = forge.read_file(repo, path, ref);
    if (!file) return tl::unexpected(file.error());
    if (*file) {
      overrides[name] = **file;
    } else {
      settings.warnings.push_back(path + " is named in .forgehand.yml but does not exist");
    }
  }
  settings.templates =
      server_templates.with_overrides(overrides, kRepoTemplatesDir, settings.warnings);
  settings.config = std::move(*parsed);
  return settings;
}

}  // namespace forgehand
