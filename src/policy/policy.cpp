#include "policy/policy.h"

#include <fnmatch.h>

#include <algorithm>
#include <cctype>

#include "util/text.h"

namespace forgehand::policy {

namespace {

bool glob_matches(const std::vector<std::string>& globs, std::string_view text, int flags) {
  if (globs.empty()) return true;
  std::string subject(text);
  return std::any_of(globs.begin(), globs.end(), [&](const std::string& glob) {
    return fnmatch(glob.c_str(), subject.c_str(), flags) == 0;
  });
}

bool same_login(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool listed(const std::vector<std::string>& logins, std::string_view login) {
  return std::any_of(logins.begin(), logins.end(),
                     [&](const std::string& entry) { return same_login(entry, login); });
}

std::string or_none(const std::vector<std::string>& items) {
  return items.empty() ? "none" : text::join(items, ", ");
}

std::string task_words(TaskType task) {
  switch (task) {
    case TaskType::ci_fix:
      return "automatic CI fixes";
    case TaskType::comment_task:
      return "tasks on pull requests";
    case TaskType::issue_task:
      return "tasks on issues";
  }
  return "tasks";
}

void apply(const PolicySettings& s, RepoPolicy& p) {
  if (s.sensitivity) p.sensitivity = *s.sensitivity;
  if (s.commands) p.commands = *s.commands;
  if (s.ci_fix) p.ci_fix = *s.ci_fix;
  if (s.min_permission) p.min_permission = *s.min_permission;
  if (s.users) p.users = *s.users;
  if (s.teams) p.teams = *s.teams;
  if (s.bots) p.bots = *s.bots;
  if (s.forks) p.forks = *s.forks;
  if (s.session_cost) p.session.cost = *s.session_cost;
  if (s.session_tokens) p.session.tokens = *s.session_tokens;
  if (s.session_runner_minutes) p.session.runner_minutes = *s.session_runner_minutes;
  if (s.session_turns) p.session_turns = *s.session_turns;
  if (s.monthly_cost) p.monthly.cost = *s.monthly_cost;
  if (s.monthly_tokens) p.monthly.tokens = *s.monthly_tokens;
  if (s.monthly_runner_minutes) p.monthly.runner_minutes = *s.monthly_runner_minutes;
  if (s.ci_fix_attempts_per_sha) p.ci_fix_attempts_per_sha = *s.ci_fix_attempts_per_sha;
  if (s.attempts_per_pull_request) p.attempts_per_pull_request = *s.attempts_per_pull_request;
  if (s.protected_paths) p.protected_paths = *s.protected_paths;
  if (s.network) p.network = *s.network;
}

// A limit the repository may lower: 0 on the server means none, so any value narrows it.
template <class T>
void lower(const std::optional<T>& wanted, T& limit, const RepoConfig& repo, const std::string& key,
           std::vector<std::string>& rejections, const std::string& unit = "") {
  if (!wanted) return;
  if (limit == 0 || *wanted <= limit) {
    limit = *wanted;
    return;
  }
  std::string shown;
  if constexpr (std::is_floating_point_v<T>) {
    shown = text::decimal(static_cast<double>(*wanted), 2) + " is above the server's limit of " +
            text::decimal(static_cast<double>(limit), 2);
  } else {
    shown = std::to_string(*wanted) + unit + " is above the server's limit of " +
            std::to_string(limit) + unit;
  }
  rejections.push_back(repo.where(key) + ": " + shown);
}

// An allowlist the repository may narrow: with none on the server, its own list applies; with
// one, only names on both count, and a name the server does not list is rejected.
void narrow_list(const std::optional<std::vector<std::string>>& wanted,
                 std::vector<std::string>& list, const RepoConfig& repo, const std::string& key,
                 std::vector<std::string>& rejections) {
  if (!wanted) return;
  if (list.empty()) {
    list = *wanted;
    return;
  }
  std::vector<std::string> kept;
  for (const std::string& name : *wanted) {
    if (listed(list, name)) {
      kept.push_back(name);
    } else {
      rejections.push_back(repo.where(key) + ": " + name +
                           " is not on the server's list, so it cannot be added here");
    }
  }
  // Nobody left would read as "anyone" (an empty list): keep the server's list instead.
  if (!kept.empty()) list = kept;
}

}  // namespace

RepoPolicy server_policy(const ServerConfig& config, std::string_view instance,
                         std::string_view repo) {
  RepoPolicy policy;
  for (const PolicyRule& rule : config.policy.rules) {
    if (!glob_matches(rule.instances, instance, 0)) continue;
    if (!glob_matches(rule.repos, repo, FNM_CASEFOLD)) continue;
    apply(rule.settings, policy);
    policy.rules_applied.push_back(rule.location);
  }
  if (config.policy.routes.empty()) {
    std::vector<std::string> every;
    for (const RouteConfig& route : config.routes) {
      if (route.name == "default")
        every.insert(every.begin(), route.name);
      else
        every.push_back(route.name);
    }
    for (TaskType type : kAllTaskTypes) policy.allowed_routes[type] = every;
  } else if (auto table = config.policy.routes.find(policy.sensitivity);
             table != config.policy.routes.end()) {
    policy.allowed_routes = table->second;
  }
  return policy;
}

Narrowed narrow(RepoPolicy server, const RepoConfig& repo) {
  Narrowed out;
  RepoPolicy& p = out.policy;
  p = std::move(server);
  const PolicySettings& s = repo.settings;
  auto& rejections = out.rejections;
  if (s.commands) {
    if (*s.commands && !p.commands) {
      rejections.push_back(repo.where("commands") +
                           ": the server turns comment commands off for this repository");
    } else {
      p.commands = *s.commands;
    }
  }
  if (s.ci_fix) {
    if (*s.ci_fix && !p.ci_fix) {
      rejections.push_back(repo.where("ci_fix") +
                           ": the server does not allow automatic CI fixes for this repository");
    } else {
      out.ci_fix_enabled = *s.ci_fix;
    }
  }
  for (const auto& [task, route] : repo.routes) {
    const auto& allowed = p.allowed_routes[task];
    if (std::find(allowed.begin(), allowed.end(), route) != allowed.end()) {
      out.routes[task] = route;
    } else {
      rejections.push_back(repo.where("routes." + std::string(to_string(task))) + ": route " +
                           route + " is not allowed for " + task_words(task) + " on " +
                           p.sensitivity + " repositories (allowed: " + or_none(allowed) + ")");
    }
  }
  if (s.min_permission) {
    if (*s.min_permission >= p.min_permission) {
      p.min_permission = *s.min_permission;
    } else {
      rejections.push_back(
          repo.where("triggers.min_permission") + ": " + std::string(to_string(*s.min_permission)) +
          " is below the server's minimum of " + std::string(to_string(p.min_permission)));
    }
  }
  narrow_list(s.users, p.users, repo, "triggers.users", rejections);
  narrow_list(s.teams, p.teams, repo, "triggers.teams", rejections);
  lower(s.session_cost, p.session.cost, repo, "budgets.session.cost", rejections);
  lower(s.session_tokens, p.session.tokens, repo, "budgets.session.tokens", rejections, " tokens");
  lower(s.session_runner_minutes, p.session.runner_minutes, repo, "budgets.session.runner_minutes",
        rejections, " minutes");
  lower(s.session_turns, p.session_turns, repo, "budgets.session.turns", rejections, " turns");
  lower(s.monthly_cost, p.monthly.cost, repo, "budgets.monthly.cost", rejections);
  lower(s.monthly_tokens, p.monthly.tokens, repo, "budgets.monthly.tokens", rejections, " tokens");
  lower(s.monthly_runner_minutes, p.monthly.runner_minutes, repo, "budgets.monthly.runner_minutes",
        rejections, " minutes");
  // Attempt limits of 0 are real limits (none allowed), so they are compared as they are.
  for (auto [wanted, limit, key] :
       {std::tuple{&s.ci_fix_attempts_per_sha, &p.ci_fix_attempts_per_sha,
                   "attempts.ci_fix_per_sha"},
        std::tuple{&s.attempts_per_pull_request, &p.attempts_per_pull_request,
                   "attempts.per_pull_request"}}) {
    if (!*wanted) continue;
    if (**wanted <= *limit) {
      *limit = **wanted;
    } else {
      rejections.push_back(repo.where(key) + ": " + std::to_string(**wanted) +
                           " is above the server's limit of " + std::to_string(*limit));
    }
  }
  if (s.protected_paths) {
    p.protected_paths.insert(p.protected_paths.end(), s.protected_paths->begin(),
                             s.protected_paths->end());
  }
  return out;
}

PolicyDecision decide(const ServerConfig& config, const PolicyRequest& request,
                      const RepoConfig* repo) {
  PolicyDecision decision;
  decision.task = request.task;
  auto deny = [&](DenyReason reason, std::string why, bool notify = true) {
    decision.allowed = false;
    decision.deny_reason = reason;
    decision.notify = notify;
    decision.reasons.push_back(std::move(why));
    return decision;
  };
  const std::string who = "@" + request.actor.login;

  // The loop guard: forgehand never acts on what it said or did itself.
  if (request.actor.is_self) {
    return deny(DenyReason::own_action, "forgehand does not act on its own comments", false);
  }

  Narrowed narrowed;
  RepoPolicy server = server_policy(config, request.instance, request.repo);
  if (repo) {
    narrowed = narrow(std::move(server), *repo);
    decision.instructions = repo->instructions;
  } else {
    narrowed.policy = std::move(server);
  }
  const RepoPolicy& p = narrowed.policy;
  decision.rejections = narrowed.rejections;
  decision.sensitivity = p.sensitivity;
  decision.protected_paths = p.protected_paths;
  decision.network = p.network;

  if (request.actor.is_bot && !listed(p.bots, request.actor.login)) {
    return deny(DenyReason::bot,
                who + " is a bot, and bots are ignored unless the policy lists them", false);
  }
  bool automatic = request.task == TaskType::ci_fix;
  if (automatic && !narrowed.ci_fix_enabled) {
    return deny(DenyReason::ci_fix_off,
                std::string("automatic CI fixes are off for this repository") +
                    (p.ci_fix ? " (`ci_fix: true` in .forgehand.yml turns them on)"
                              : " (the server does not allow them here)"),
                false);
  }
  if (!automatic && !p.commands) {
    return deny(DenyReason::commands_off, "comment commands are turned off for this repository");
  }
  if (automatic) {
    decision.reasons.push_back("automatic CI fixes are on for this repository");
  } else {
    auto permission =
        request.permission ? request.permission() : Result<Permission>(Permission::none);
    if (!permission) {
      return deny(DenyReason::check_failed,
                  "could not check " + who + "'s access: " + permission.error().message);
    }
    if (*permission < p.min_permission) {
      return deny(DenyReason::permission,
                  who + " has " + std::string(to_string(*permission)) + " access; " +
                      std::string(to_string(p.min_permission)) + " or more is needed");
    }
    decision.reasons.push_back(who + " has " + std::string(to_string(*permission)) + " access (" +
                               std::string(to_string(p.min_permission)) + " or more is needed)");
    if (!p.users.empty() || !p.teams.empty()) {
      bool allowed = listed(p.users, request.actor.login);
      std::string via = "is on the user allowlist";
      for (const std::string& team : p.teams) {
        if (allowed) break;
        auto member = request.in_team ? request.in_team(team) : Result<bool>(false);
        if (!member) {
          return deny(DenyReason::check_failed, "could not check whether " + who + " is in team " +
                                                    team + ": " + member.error().message);
        }
        if (*member) {
          allowed = true;
          via = "is in team " + team;
        }
      }
      if (!allowed) {
        return deny(DenyReason::not_allowlisted,
                    who + " is not on this repository's allowlist (users: " + or_none(p.users) +
                        "; teams: " + or_none(p.teams) + ")");
      }
      decision.reasons.push_back(who + " " + via);
    }
  }
  if (request.from_fork) {
    switch (p.forks) {
      case ForkPolicy::deny:
        return deny(DenyReason::fork,
                    "the pull request comes from a fork, and forks are not run: their code is "
                    "untrusted and a run would hand it the repository's model budget");
      case ForkPolicy::review_only:
        decision.review_only = true;
        decision.reasons.push_back(
            "the pull request comes from a fork: review only, nothing is pushed");
        break;
      case ForkPolicy::allow:
        decision.reasons.push_back("the pull request comes from a fork; the policy allows forks");
        break;
    }
  }
  if (automatic && request.history.attempts_for_sha >= p.ci_fix_attempts_per_sha) {
    return deny(DenyReason::attempts,
                "forgehand already made " + std::to_string(request.history.attempts_for_sha) +
                    " automatic fix attempt(s) for this commit (limit " +
                    std::to_string(p.ci_fix_attempts_per_sha) + ")",
                false);
  }
  if (request.task != TaskType::issue_task &&
      request.history.attempts_for_pull_request >= p.attempts_per_pull_request) {
    return deny(DenyReason::attempts,
                "forgehand already ran " +
                    std::to_string(request.history.attempts_for_pull_request) +
                    " session(s) on this pull request (limit " +
                    std::to_string(p.attempts_per_pull_request) + ")",
                !automatic);
  }

  auto allowed_routes = p.allowed_routes.find(request.task);
  std::vector<std::string> allowed = allowed_routes == p.allowed_routes.end()
                                         ? std::vector<std::string>{}
                                         : allowed_routes->second;
  if (request.requested_route) {
    if (std::find(allowed.begin(), allowed.end(), *request.requested_route) == allowed.end()) {
      return deny(DenyReason::route, "route " + *request.requested_route + " is not allowed for " +
                                         task_words(request.task) + " on " + p.sensitivity +
                                         " repositories (allowed: " + or_none(allowed) + ")");
    }
    decision.route = *request.requested_route;
    decision.reasons.push_back("route " + decision.route + ": asked for, and allowed for " +
                               p.sensitivity + " repositories");
  } else if (auto chosen = narrowed.routes.find(request.task); chosen != narrowed.routes.end()) {
    decision.route = chosen->second;
    decision.reasons.push_back("route " + decision.route +
                               ": chosen by the repository's .forgehand.yml");
  } else if (!allowed.empty()) {
    decision.route = allowed.front();
    decision.reasons.push_back("route " + decision.route + ": the server's default for " +
                               task_words(request.task) + " on " + p.sensitivity + " repositories");
  } else {
    return deny(DenyReason::route, "no route is allowed for " + task_words(request.task) + " on " +
                                       p.sensitivity + " repositories");
  }

  const Limits& spent = request.history.month;
  if (p.monthly.cost > 0 && spent.cost >= p.monthly.cost) {
    return deny(DenyReason::monthly_budget,
                "this repository's monthly model budget is spent: " + text::decimal(spent.cost, 2) +
                    " of " + text::decimal(p.monthly.cost, 2));
  }
  if (p.monthly.tokens > 0 && spent.tokens >= p.monthly.tokens) {
    return deny(DenyReason::monthly_budget,
                "this repository's monthly token budget is spent: " + std::to_string(spent.tokens) +
                    " of " + std::to_string(p.monthly.tokens) + " tokens");
  }
  if (p.monthly.runner_minutes > 0 && spent.runner_minutes >= p.monthly.runner_minutes) {
    return deny(
        DenyReason::monthly_budget,
        "this repository's monthly runner time is spent: " + std::to_string(spent.runner_minutes) +
            " of " + std::to_string(p.monthly.runner_minutes) + " minutes");
  }

  // A session may spend at most what is left of the month.
  auto capped = [](auto session, auto monthly, auto used) {
    if (monthly <= 0) return session;
    auto left = monthly - used;
    return session <= 0 ? left : std::min(session, left);
  };
  decision.limits.cost = capped(p.session.cost, p.monthly.cost, spent.cost);
  decision.limits.tokens = capped(p.session.tokens, p.monthly.tokens, spent.tokens);
  decision.limits.runner_minutes =
      capped(p.session.runner_minutes, p.monthly.runner_minutes, spent.runner_minutes);
  decision.limits.turns = p.session_turns;
  decision.allowed = true;
  return decision;
}

}  // namespace forgehand::policy
