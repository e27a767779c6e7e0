#include "config/repo_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "config/yaml_check.h"

namespace forgehand {

namespace {

constexpr std::string_view kRepoKeys[] = {"commands",        "ci_fix",       "routes",
                                          "budgets",         "attempts",     "triggers",
                                          "protected_paths", "instructions", "templates"};
constexpr std::string_view kTriggerKeys[] = {"min_permission", "users", "teams"};
constexpr std::string_view kTemplateNames[] = {"acknowledgement", "progress",         "result",
                                               "failure",         "denied",           "help",
                                               "explain",         "pull_request_body"};

// A repository path: relative, no `..`, no backslashes; what the forge API can read.
bool safe_repo_path(std::string_view path) {
  if (path.empty() || path.front() == '/' || path.find('\\') != std::string_view::npos) {
    return false;
  }
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  return true;
}

void remember(RepoConfig& config, const YamlChecker& check, const YAML::Node& node,
              const std::string& path) {
  config.locations[path] = check.where(node, path);
}

}  // namespace

std::string RepoConfig::where(const std::string& key_path) const {
  auto it = locations.find(key_path);
  return it != locations.end() ? it->second : source + ": " + key_path;
}

Result<RepoConfig> parse_repo_config(std::string_view yaml, std::string_view source_name) {
  RepoConfig config;
  config.source = std::string(source_name);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::ParserException& error) {
    return fail(ErrorCode::config, std::string(source_name) + ":" +
                                       std::to_string(error.mark.line + 1) + ":" +
                                       std::to_string(error.mark.column + 1) + ": " + error.msg);
  }
  if (root.IsNull()) return config;  // an empty file changes nothing
  YamlChecker check{std::string(source_name)};
  if (!root.IsMap()) {
    return fail(ErrorCode::config,
                std::string(source_name) + ": the top level must be a mapping of settings");
  }
  check.check_keys(root, "", kRepoKeys);
  PolicySettings& settings = config.settings;

  if (YAML::Node value = root["commands"]) {
    settings.commands = check.boolean(value, "commands");
    remember(config, check, value, "commands");
  }
  if (YAML::Node value = root["ci_fix"]) {
    settings.ci_fix = check.boolean(value, "ci_fix");
    remember(config, check, value, "ci_fix");
  }
  if (YAML::Node routes = root["routes"]; routes && check.is_map(routes, "routes")) {
    check.check_keys(routes, "routes", kTaskTypeNames);
    for (auto it = routes.begin(); it != routes.end(); ++it) {
      auto type = task_type_named(it->first.Scalar());
      std::string path = "routes." + it->first.Scalar();
      if (!type) continue;
      if (auto route = check.string(it->second, path)) config.routes[*type] = *route;
      remember(config, check, it->second, path);
    }
  }
  if (YAML::Node value = root["budgets"]) {
    read_budgets(check, value, "budgets", settings);
    if (value.IsMap()) {
      for (const char* period : {"session", "monthly"}) {
        if (!value[period] || !value[period].IsMap()) continue;
        for (auto it = value[period].begin(); it != value[period].end(); ++it) {
          remember(config, check, it->second,
                   "budgets." + std::string(period) + "." + it->first.Scalar());
        }
      }
    }
  }
  if (YAML::Node value = root["attempts"]) {
    read_attempts(check, value, "attempts", settings);
    if (value.IsMap()) {
      for (auto it = value.begin(); it != value.end(); ++it) {
        remember(config, check, it->second, "attempts." + it->first.Scalar());
      }
    }
  }
  if (YAML::Node triggers = root["triggers"]; triggers && check.is_map(triggers, "triggers")) {
    check.check_keys(triggers, "triggers", kTriggerKeys);
    if (YAML::Node value = triggers["min_permission"]) {
      if (auto name = check.choice(value, "triggers.min_permission", kPermissionNames)) {
        settings.min_permission = permission_named(*name);
      }
      remember(config, check, value, "triggers.min_permission");
    }
    if (YAML::Node value = triggers["users"]) {
      settings.users = check.strings(value, "triggers.users");
      remember(config, check, value, "triggers.users");
    }
    if (YAML::Node value = triggers["teams"]) {
      settings.teams = check.strings(value, "triggers.teams");
      remember(config, check, value, "triggers.teams");
    }
  }
  if (YAML::Node value = root["protected_paths"]) {
    settings.protected_paths = check.strings(value, "protected_paths");
  }
  if (YAML::Node value = root["instructions"]) {
    if (auto paths = check.strings(value, "instructions")) {
      for (std::size_t i = 0; i < paths->size(); ++i) {
        std::string path = "instructions[" + std::to_string(i) + "]";
        if (!safe_repo_path((*paths)[i])) {
          check.error(value[i], path, "must be a relative path inside the repository");
        } else {
          config.instructions.push_back((*paths)[i]);
        }
      }
    }
  }
  if (YAML::Node templates = root["templates"]; templates && check.is_map(templates, "templates")) {
    check.check_keys(templates, "templates", kTemplateNames);
    for (auto it = templates.begin(); it != templates.end(); ++it) {
      std::string path = "templates." + it->first.Scalar();
      auto file = check.string(it->second, path);
      if (!file) continue;
      if (!file->starts_with(kRepoTemplatesDir) || !safe_repo_path(*file)) {
        check.error(it->second, path,
                    "must be a file under " + std::string(kRepoTemplatesDir) +
                        " (templates elsewhere in the repository are not read)");
        continue;
      }
      config.templates[it->first.Scalar()] = *file;
    }
  }
  if (!check.errors().empty()) return fail(ErrorCode::config, check.report());
  return config;
}

}  // namespace forgehand
