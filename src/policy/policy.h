#pragma once
// The policy engine: whether forgehand acts on an event, with which route and within which
// limits, and why, in plain words. Server rules (matched by instance and `owner/repo` glob, later
// rules winning key by key) give the repository's policy; its `.forgehand.yml` may narrow it and
// a value that would widen it is rejected with the reason. Facts that need the forge (the
// actor's permission, team membership) are asked for only when a rule needs them. Pure apart
// from those callbacks; thread-compatible.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/repo_config.h"
#include "config/server_config.h"
#include "forgehand/error.h"
#include "forgehand/event.h"
#include "forgehand/permission.h"

namespace forgehand::policy {

// The server's policy for one repository, after its rules were applied.
struct RepoPolicy {
  std::string sensitivity = "default";
  bool commands = true;
  bool ci_fix = true;  // the repository may turn automatic CI fixes on
  Permission min_permission = Permission::write;
  std::vector<std::string> users, teams, bots;
  ForkPolicy forks = ForkPolicy::deny;
  Limits session{0, 0, 30};
  std::int64_t session_turns = 40;
  Limits monthly;
  std::int64_t ci_fix_attempts_per_sha = 1;
  std::int64_t attempts_per_pull_request = 3;
  std::vector<std::string> protected_paths;  // beyond the built-in list
  bool network = false;
  std::map<TaskType, std::vector<std::string>> allowed_routes;  // the first is the default
  std::vector<std::string> rules_applied;                       // their config locations
};

RepoPolicy server_policy(const ServerConfig& config, std::string_view instance,
                         std::string_view repo);

// The repository's settings merged in where they narrow; each widening value is left out and
// described ("file:line:col: budgets.session.cost: 5 is above the server's limit of 2").
struct Narrowed {
  RepoPolicy policy;
  bool ci_fix_enabled = false;             // automatic CI fixes are off unless the repo asks
  std::map<TaskType, std::string> routes;  // the repository's choice, where allowed
  std::vector<std::string> rejections;
};
Narrowed narrow(RepoPolicy server, const RepoConfig& repo);

// What has been spent and tried, from the store.
struct History {
  Limits month;                                // this repository, this calendar month (UTC)
  std::int64_t attempts_for_sha = 0;           // automatic CI fixes already made for this head sha
  std::int64_t attempts_for_pull_request = 0;  // sessions already run on this pull request
};

struct PolicyRequest {
  std::string instance;
  std::string repo;  // owner/repo
  TaskType task = TaskType::comment_task;
  Actor actor;
  bool from_fork = false;
  std::optional<std::string> requested_route;  // `retry --route NAME`
  History history;
  // Asked only when needed; errors make the decision a denial that says the check failed.
  std::function<Result<Permission>()> permission;
  std::function<Result<bool>(const std::string& team)> in_team;
};

enum class DenyReason {
  none,
  own_action,
  bot,
  commands_off,
  ci_fix_off,
  permission,
  not_allowlisted,
  fork,
  attempts,
  route,
  monthly_budget,
  check_failed,
};
inline constexpr std::string_view kDenyReasonNames[] = {
    "none", "own_action", "bot",   "commands_off",   "ci_fix_off",  "permission", "not_allowlisted",
    "fork", "attempts",   "route", "monthly_budget", "check_failed"};
constexpr std::string_view to_string(DenyReason reason) {
  return kDenyReasonNames[static_cast<int>(reason)];
}

struct SessionLimits {
  std::int64_t tokens = 0;  // 0: no limit
  double cost = 0;
  std::int64_t runner_minutes = 0;
  std::int64_t turns = 0;
};

struct PolicyDecision {
  bool allowed = false;
  DenyReason deny_reason = DenyReason::none;
  // False when saying nothing is right: forgehand's own or another bot's actions, automation the
  // repository did not turn on (a reply there would be noise or start a loop).
  bool notify = true;
  bool review_only = false;  // a fork's pull request under `forks: review_only`
  TaskType task = TaskType::comment_task;
  std::string sensitivity;
  std::string route;
  SessionLimits limits;
  std::vector<std::string> protected_paths;
  bool network = false;
  std::vector<std::string> instructions;  // extra instruction files from the repository
  std::vector<std::string> reasons;       // plain words, in the order they were decided
  std::vector<std::string> rejections;    // repository settings that were not applied
};

// `repo` is the repository's parsed `.forgehand.yml`, when it has one.
PolicyDecision decide(const ServerConfig& config, const PolicyRequest& request,
                      const RepoConfig* repo);

}  // namespace forgehand::policy
