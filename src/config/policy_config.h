#pragma once
// The server's policy, as configured: which routes each kind of repository may use for each kind
// of task, and rules matched by instance and `owner/repo` glob that set who may trigger, budgets,
// attempt limits and what forks get. A rule sets only the keys it names; later matching rules
// win key by key. The repository's own `.forgehand.yml` (repo_config.h) can only narrow the
// result. Plain values.

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/yaml_check.h"
#include "forgehand/permission.h"
#include "forgehand/task_type.h"

namespace forgehand {

enum class ForkPolicy { deny, review_only, allow };
std::string_view to_string(ForkPolicy policy);

inline constexpr std::string_view kPermissionNames[] = {"none",  "read",     "triage",
                                                        "write", "maintain", "admin"};
std::string_view to_string(Permission permission);
std::optional<Permission> permission_named(std::string_view name);

// 0 means no limit.
struct Limits {
  double cost = 0;
  std::int64_t tokens = 0;
  std::int64_t runner_minutes = 0;
};

struct PolicySettings {
  std::optional<std::string> sensitivity;
  std::optional<bool> commands;  // comment commands
  std::optional<bool> ci_fix;    // automatic CI fixes may be enabled by the repository
  std::optional<Permission> min_permission;
  std::optional<std::vector<std::string>> users;  // allowlists; empty: anyone with the permission
  std::optional<std::vector<std::string>> teams;
  std::optional<std::vector<std::string>> bots;  // bot accounts that may trigger
  std::optional<ForkPolicy> forks;
  std::optional<double> session_cost, monthly_cost;
  std::optional<std::int64_t> session_tokens, monthly_tokens;
  std::optional<std::int64_t> session_runner_minutes, monthly_runner_minutes;
  std::optional<std::int64_t> session_turns;
  std::optional<std::int64_t> ci_fix_attempts_per_sha, attempts_per_pull_request;
  std::optional<std::vector<std::string>> protected_paths;  // added to the built-in list
  std::optional<bool> network;  // sandboxed commands may reach the network
};

struct PolicyRule {
  std::vector<std::string> instances;  // globs; empty: every instance
  std::vector<std::string> repos;      // `owner/repo` globs, case-insensitive; empty: every repo
  PolicySettings settings;
  std::string location;  // "forgehand.yaml:40:5", for `explain`
};

struct PolicyConfig {
  // sensitivity → task type → allowed routes, the first being the default. Empty: every task on
  // every repository may use every configured route (the `default` route, else the first, is
  // the default).
  std::map<std::string, std::map<TaskType, std::vector<std::string>>> routes;
  // sensitivity → the widest data boundary (local < approved < external) its routes may reach.
  std::map<std::string, std::string> max_data_boundary;
  std::vector<PolicyRule> rules;
};

// Readers shared with the repository config; each reports problems to `check`.
void read_budgets(YamlChecker& check, const YAML::Node& node, const std::string& path,
                  PolicySettings& settings);
void read_attempts(YamlChecker& check, const YAML::Node& node, const std::string& path,
                   PolicySettings& settings);

struct ServerConfig;
// Reads `policy:` and checks it against the configured routes and providers' data boundaries.
void read_policy(YamlChecker& check, const YAML::Node& node, ServerConfig& config);

// local < approved < external; -1 for anything else.
int data_boundary_rank(std::string_view boundary);

}  // namespace forgehand
