#pragma once
// A repository's `.forgehand.yml`, read from its default branch only (never a pull request's
// head or a fork, which anyone could write). It may turn commands and automatic CI fixes on or
// off, pick a route per task type among those the server allows, lower budgets and attempt
// limits, narrow who may trigger, add protected paths, list instruction files and point at
// template overrides. Parsing checks shape and positions; whether a value narrows or widens the
// server's policy is the policy engine's call (policy/policy.h). Plain values.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/policy_config.h"
#include "forgehand/error.h"

namespace forgehand {

inline constexpr std::string_view kRepoConfigPath = ".forgehand.yml";
inline constexpr std::string_view kRepoTemplatesDir = ".forgehand/templates/";

struct RepoConfig {
  std::string source = std::string(kRepoConfigPath);
  // commands, ci_fix, min_permission, users, teams, budgets, attempts, protected_paths; the rest
  // of PolicySettings is the server's alone and is not read from a repository.
  PolicySettings settings;
  std::map<TaskType, std::string> routes;
  std::vector<std::string> instructions;         // repository paths, read from the default branch
  std::map<std::string, std::string> templates;  // template name → path under .forgehand/templates/
  // "key.path" → "file:line:col: key.path", so a rejected value is reported where it was written.
  std::map<std::string, std::string> locations;

  std::string where(const std::string& key_path) const;
};

// Errors: `config`, every problem on its own line as `file:line:col: key.path: message`.
Result<RepoConfig> parse_repo_config(std::string_view yaml,
                                     std::string_view source_name = kRepoConfigPath);

}  // namespace forgehand
