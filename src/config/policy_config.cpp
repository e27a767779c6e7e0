#include "config/policy_config.h"

#include <algorithm>

#include "config/server_config.h"

namespace forgehand {

namespace {

constexpr std::string_view kPolicyKeys[] = {"routes", "max_data_boundary", "rules"};
constexpr std::string_view kRuleKeys[] = {
    "match", "sensitivity", "commands", "ci_fix",   "min_permission",  "users",  "teams",
    "bots",  "forks",       "budgets",  "attempts", "protected_paths", "network"};
constexpr std::string_view kMatchKeys[] = {"instances", "repos"};
constexpr std::string_view kBudgetKeys[] = {"session", "monthly"};
constexpr std::string_view kSessionBudgetKeys[] = {"cost", "tokens", "runner_minutes", "turns"};
constexpr std::string_view kMonthlyBudgetKeys[] = {"cost", "tokens", "runner_minutes"};
constexpr std::string_view kAttemptKeys[] = {"ci_fix_per_sha", "per_pull_request"};
constexpr std::string_view kForkNames[] = {"deny", "review_only", "allow"};
constexpr std::string_view kBoundaries[] = {"local", "approved", "external"};

bool valid_sensitivity(std::string_view name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

void read_routes_table(YamlChecker& check, const YAML::Node& node, ServerConfig& config) {
  if (!check.is_map(node, "policy.routes")) return;
  for (auto it = node.begin(); it != node.end(); ++it) {
    std::string sensitivity = it->first.Scalar();
    std::string path = "policy.routes." + sensitivity;
    if (!valid_sensitivity(sensitivity)) {
      check.error(it->first, path, "a sensitivity is lower-case letters, digits, - and _");
      continue;
    }
    auto& table = config.policy.routes[sensitivity];
    auto check_route = [&](const YAML::Node& item, const std::string& item_path,
                           const std::string& route) {
      bool known = std::any_of(config.routes.begin(), config.routes.end(),
                               [&](const RouteConfig& r) { return r.name == route; });
      if (!known) check.error(item, item_path, "no route named \"" + route + "\"");
    };
    // A plain list allows the same routes for every task type.
    if (it->second.IsSequence()) {
      auto routes = check.strings(it->second, path);
      if (!routes) continue;
      for (std::size_t i = 0; i < routes->size(); ++i) {
        check_route(it->second[i], path + "[" + std::to_string(i) + "]", (*routes)[i]);
      }
      for (TaskType type : kAllTaskTypes) table[type] = *routes;
      continue;
    }
    if (!check.is_map(it->second, path)) continue;
    check.check_keys(it->second, path, kTaskTypeNames);
    for (auto task = it->second.begin(); task != it->second.end(); ++task) {
      auto type = task_type_named(task->first.Scalar());
      if (!type) continue;
      std::string task_path = path + "." + task->first.Scalar();
      auto routes = check.strings(task->second, task_path);
      if (!routes) continue;
      for (std::size_t i = 0; i < routes->size(); ++i) {
        check_route(task->second[i], task_path + "[" + std::to_string(i) + "]", (*routes)[i]);
      }
      table[*type] = *routes;
    }
  }
}

void read_max_boundary(YamlChecker& check, const YAML::Node& node, ServerConfig& config) {
  if (!check.is_map(node, "policy.max_data_boundary")) return;
  for (auto it = node.begin(); it != node.end(); ++it) {
    std::string path = "policy.max_data_boundary." + it->first.Scalar();
    if (auto boundary = check.choice(it->second, path, kBoundaries)) {
      config.policy.max_data_boundary[it->first.Scalar()] = *boundary;
    }
  }
}

// A route allowed for a sensitivity must keep its data inside that sensitivity's boundary:
// checked once here, so no decision can pick a route that would send confidential code out.
void check_boundaries(YamlChecker& check, const YAML::Node& policy, const ServerConfig& config) {
  for (const auto& [sensitivity, limit] : config.policy.max_data_boundary) {
    auto table = config.policy.routes.find(sensitivity);
    if (table == config.policy.routes.end()) continue;
    for (const auto& [type, routes] : table->second) {
      for (const std::string& route_name : routes) {
        auto route = std::find_if(config.routes.begin(), config.routes.end(),
                                  [&](const RouteConfig& r) { return r.name == route_name; });
        if (route == config.routes.end()) continue;
        for (const std::string& provider_name : route->providers) {
          auto provider =
              std::find_if(config.providers.begin(), config.providers.end(),
                           [&](const ProviderConfig& p) { return p.name == provider_name; });
          if (provider == config.providers.end()) continue;
          if (data_boundary_rank(provider->data_boundary) > data_boundary_rank(limit)) {
            check.error(policy["routes"][sensitivity],
                        "policy.routes." + sensitivity + "." + std::string(to_string(type)),
                        "route " + route_name + " uses provider " + provider_name + " (" +
                            provider->data_boundary + " data boundary), beyond the " + limit +
                            " boundary allowed for " + sensitivity + " repositories");
          }
        }
      }
    }
  }
}

std::optional<std::int64_t> count(YamlChecker& check, const YAML::Node& node,
                                  const std::string& path, long long min, long long max) {
  auto value = check.integer(node, path, min, max);
  if (!value) return std::nullopt;
  return static_cast<std::int64_t>(*value);
}

void read_settings(YamlChecker& check, const YAML::Node& node, const std::string& path,
                   PolicySettings& settings) {
  if (YAML::Node value = node["sensitivity"]) {
    if (auto name = check.string(value, path + ".sensitivity")) {
      if (valid_sensitivity(*name)) {
        settings.sensitivity = *name;
      } else {
        check.error(value, path + ".sensitivity",
                    "a sensitivity is lower-case letters, digits, - and _");
      }
    }
  }
  if (YAML::Node value = node["commands"])
    settings.commands = check.boolean(value, path + ".commands");
  if (YAML::Node value = node["ci_fix"]) settings.ci_fix = check.boolean(value, path + ".ci_fix");
  if (YAML::Node value = node["min_permission"]) {
    if (auto name = check.choice(value, path + ".min_permission", kPermissionNames)) {
      settings.min_permission = permission_named(*name);
    }
  }
  if (YAML::Node value = node["users"]) settings.users = check.strings(value, path + ".users");
  if (YAML::Node value = node["teams"]) settings.teams = check.strings(value, path + ".teams");
  if (YAML::Node value = node["bots"]) settings.bots = check.strings(value, path + ".bots");
  if (YAML::Node value = node["forks"]) {
    if (auto name = check.choice(value, path + ".forks", kForkNames)) {
      settings.forks = *name == "allow"         ? ForkPolicy::allow
                       : *name == "review_only" ? ForkPolicy::review_only
                                                : ForkPolicy::deny;
    }
  }
  if (YAML::Node value = node["budgets"]) read_budgets(check, value, path + ".budgets", settings);
  if (YAML::Node value = node["attempts"]) {
    read_attempts(check, value, path + ".attempts", settings);
  }
  if (YAML::Node value = node["protected_paths"]) {
    settings.protected_paths = check.strings(value, path + ".protected_paths");
  }
  if (YAML::Node value = node["network"])
    settings.network = check.boolean(value, path + ".network");
}

void read_rule(YamlChecker& check, const YAML::Node& node, const std::string& path,
               ServerConfig& config) {
  if (!check.is_map(node, path)) return;
  check.check_keys(node, path, kRuleKeys);
  PolicyRule rule;
  rule.location = check.where(node, path);
  if (YAML::Node match = node["match"]) {
    if (check.is_map(match, path + ".match")) {
      check.check_keys(match, path + ".match", kMatchKeys);
      if (YAML::Node value = match["instances"]) {
        if (auto globs = check.strings(value, path + ".match.instances")) rule.instances = *globs;
      }
      if (YAML::Node value = match["repos"]) {
        if (auto globs = check.strings(value, path + ".match.repos")) rule.repos = *globs;
      }
    }
  }
  read_settings(check, node, path, rule.settings);
  if (rule.settings.sensitivity && !config.policy.routes.empty() &&
      !config.policy.routes.contains(*rule.settings.sensitivity)) {
    check.error(node["sensitivity"], path + ".sensitivity",
                "no routes are listed for sensitivity \"" + *rule.settings.sensitivity +
                    "\" in policy.routes");
  }
  config.policy.rules.push_back(std::move(rule));
}

}  // namespace

std::string_view to_string(ForkPolicy policy) { return kForkNames[static_cast<int>(policy)]; }

std::string_view to_string(Permission permission) {
  return kPermissionNames[static_cast<int>(permission)];
}

std::optional<Permission> permission_named(std::string_view name) {
  for (std::size_t i = 0; i < std::size(kPermissionNames); ++i) {
    if (kPermissionNames[i] == name) return static_cast<Permission>(i);
  }
  return std::nullopt;
}

int data_boundary_rank(std::string_view boundary) {
  for (std::size_t i = 0; i < std::size(kBoundaries); ++i) {
    if (kBoundaries[i] == boundary) return static_cast<int>(i);
  }
  return -1;
}

void read_budgets(YamlChecker& check, const YAML::Node& node, const std::string& path,
                  PolicySettings& settings) {
  if (!check.is_map(node, path)) return;
  check.check_keys(node, path, kBudgetKeys);
  constexpr long long kMaxTokens = 1'000'000'000'000LL;
  if (YAML::Node session = node["session"]) {
    std::string at = path + ".session";
    if (check.is_map(session, at)) {
      check.check_keys(session, at, kSessionBudgetKeys);
      if (YAML::Node v = session["cost"])
        settings.session_cost = check.non_negative_number(v, at + ".cost");
      if (YAML::Node v = session["tokens"])
        settings.session_tokens = count(check, v, at + ".tokens", 1, kMaxTokens);
      if (YAML::Node v = session["runner_minutes"]) {
        settings.session_runner_minutes = count(check, v, at + ".runner_minutes", 1, 24 * 60);
      }
      if (YAML::Node v = session["turns"])
        settings.session_turns = count(check, v, at + ".turns", 1, 10'000);
    }
  }
  if (YAML::Node monthly = node["monthly"]) {
    std::string at = path + ".monthly";
    if (check.is_map(monthly, at)) {
      check.check_keys(monthly, at, kMonthlyBudgetKeys);
      if (YAML::Node v = monthly["cost"])
        settings.monthly_cost = check.non_negative_number(v, at + ".cost");
      if (YAML::Node v = monthly["tokens"])
        settings.monthly_tokens = count(check, v, at + ".tokens", 1, kMaxTokens);
      if (YAML::Node v = monthly["runner_minutes"]) {
        settings.monthly_runner_minutes = count(check, v, at + ".runner_minutes", 1, 31 * 24 * 60);
      }
    }
  }
}

void read_attempts(YamlChecker& check, const YAML::Node& node, const std::string& path,
                   PolicySettings& settings) {
  if (!check.is_map(node, path)) return;
  check.check_keys(node, path, kAttemptKeys);
  if (YAML::Node v = node["ci_fix_per_sha"]) {
    settings.ci_fix_attempts_per_sha = count(check, v, path + ".ci_fix_per_sha", 0, 100);
  }
  if (YAML::Node v = node["per_pull_request"]) {
    settings.attempts_per_pull_request = count(check, v, path + ".per_pull_request", 0, 1000);
  }
}

void read_policy(YamlChecker& check, const YAML::Node& node, ServerConfig& config) {
  if (!check.is_map(node, "policy")) return;
  check.check_keys(node, "policy", kPolicyKeys);
  if (YAML::Node routes = node["routes"]) read_routes_table(check, routes, config);
  if (YAML::Node boundary = node["max_data_boundary"]) read_max_boundary(check, boundary, config);
  if (YAML::Node rules = node["rules"]) {
    if (!rules.IsSequence()) {
      check.error(rules, "policy.rules", "must be a list of rules");
    } else {
      for (std::size_t i = 0; i < rules.size(); ++i) {
        read_rule(check, rules[i], "policy.rules[" + std::to_string(i) + "]", config);
      }
    }
  }
  check_boundaries(check, node, config);
}

}  // namespace forgehand
