#include "dispatch/repository_settings.h"

namespace forgehand {

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
