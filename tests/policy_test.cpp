// The policy engine: server rules and their precedence, what a repository's .forgehand.yml may
// and may not change, and every reason a request is denied, in the words a comment will use.
#include "policy/policy.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "support/fixtures.h"
#include "support/process.h"

using namespace forgehand;
using namespace forgehand::policy;

namespace {

const std::string kBase = R"(instances: [{name: gh, type: github, webhook_secret: env:A}]
providers:
  - {name: claude, kind: anthropic, model: c, credential: env:K}
  - {name: local, kind: openai-compatible, base_url: "http://127.0.0.1:11434/v1", model: q,
     data_boundary: local}
  - {name: azure, kind: azure-openai, base_url: "https://x.openai.azure.com", model: d,
     credential: env:K, data_boundary: approved}
routes:
  default: [claude, local]
  in-house: [azure, local]
  local-only: [local]
)";

ServerConfig server(const std::string& policy = "") {
  auto config = parse_server_config(kBase + policy, "forgehand.yaml", "/etc/forgehand");
  REQUIRE_MESSAGE(config.has_value(), config.error().message);
  return *config;
}

std::string server_errors(const std::string& policy) {
  auto config = parse_server_config(kBase + policy, "forgehand.yaml", "/etc/forgehand");
  REQUIRE_FALSE(config.has_value());
  return config.error().message;
}

RepoConfig repo(const std::string& yaml) {
  auto config = parse_repo_config(yaml);
  REQUIRE_MESSAGE(config.has_value(), config.error().message);
  return *config;
}

PolicyRequest comment(Permission permission = Permission::write) {
  PolicyRequest request;
  request.instance = "gh";
  request.repo = "acme/app";
  request.task = TaskType::comment_task;
  request.actor = {"alice", "1", false, false};
  request.permission = [permission] { return Result<Permission>(permission); };
  request.in_team = [](const std::string& team) { return Result<bool>(team == "acme/core"); };
  return request;
}

const std::string kPolicy = R"(policy:
  routes:
    public: [default, local-only]
    internal: {ci_fix: [in-house], comment_task: [in-house, local-only], issue_task: [in-house]}
    confidential: [local-only]
  max_data_boundary: {confidential: local, internal: approved}
  rules:
    - {sensitivity: public, budgets: {session: {cost: 2, tokens: 400000}, monthly: {cost: 100}},
       attempts: {per_pull_request: 3}}
    - match: {repos: ["acme/*"]}
      sensitivity: internal
      min_permission: write
    - match: {repos: ["acme/secret-*"], instances: [gh]}
      sensitivity: confidential
      min_permission: maintain
      forks: review_only
)";

}  // namespace

TEST_CASE("without a policy, write access may use the default route for every task") {
  auto decision = decide(server(), comment(), nullptr);
  CHECK(decision.allowed);
  CHECK(decision.route == "default");
  CHECK(decision.sensitivity == "default");
  CHECK(decision.limits.runner_minutes == 30);
  CHECK(decision.limits.turns == 40);
  REQUIRE(decision.reasons.size() == 2);
  CHECK(decision.reasons[0] == "@alice has write access (write or more is needed)");
  CHECK(decision.reasons[1] ==
        "route default: the server's default for tasks on pull requests on default repositories");
}

TEST_CASE("later rules win key by key, globs match owner/repo without case") {
  ServerConfig config = server(kPolicy);
  auto pub = server_policy(config, "gh", "other/lib");
  CHECK(pub.sensitivity == "public");
  CHECK(pub.session.cost == 2);
  CHECK(pub.allowed_routes[TaskType::ci_fix] == std::vector<std::string>{"default", "local-only"});

  auto internal = server_policy(config, "gh", "ACME/App");
  CHECK(internal.sensitivity == "internal");
  CHECK(internal.session.cost == 2);  // from the first rule, which the second does not touch
  CHECK(internal.allowed_routes[TaskType::comment_task] ==
        std::vector<std::string>{"in-house", "local-only"});
  CHECK(internal.rules_applied.size() == 2);

  auto secret = server_policy(config, "gh", "acme/secret-plans");
  CHECK(secret.sensitivity == "confidential");
  CHECK(secret.min_permission == Permission::maintain);
  CHECK(secret.forks == ForkPolicy::review_only);
  CHECK(secret.allowed_routes[TaskType::issue_task] == std::vector<std::string>{"local-only"});
  CHECK(server_policy(config, "gitlab", "acme/secret-plans").sensitivity == "internal");
  CHECK(secret.rules_applied[2].starts_with("forgehand.yaml:"));
}

TEST_CASE("every deny reason, in plain words") {
  ServerConfig config = server(kPolicy);
  struct Case {
    const char* name;
    std::function<void(PolicyRequest&)> change;
    const char* repo_yaml;
    DenyReason reason;
    bool notify;
    const char* words;
  };
  const Case cases[] = {
      {"own comment", [](PolicyRequest& r) { r.actor.is_self = true; }, "", DenyReason::own_action,
       false, "forgehand does not act on its own comments"},
      {"a bot",
       [](PolicyRequest& r) {
         r.actor = {"dependabot[bot]", "2", true, false};
       },
       "", DenyReason::bot, false,
       "@dependabot[bot] is a bot, and bots are ignored unless the policy lists them"},
      {"commands off", [](PolicyRequest&) {}, "commands: false", DenyReason::commands_off, true,
       "comment commands are turned off for this repository"},
      {"ci fix not enabled", [](PolicyRequest& r) { r.task = TaskType::ci_fix; }, "",
       DenyReason::ci_fix_off, false,
       "automatic CI fixes are off for this repository (`ci_fix: true` in .forgehand.yml turns "
       "them on)"},
      {"read access", [](PolicyRequest& r) { r = comment(Permission::read); }, "",
       DenyReason::permission, true, "@alice has read access; write or more is needed"},
      {"not allowlisted", [](PolicyRequest& r) { r.actor.login = "mallory"; },
       "triggers: {users: [alice], teams: [acme/ops]}", DenyReason::not_allowlisted, true,
       "@mallory is not on this repository's allowlist (users: alice; teams: acme/ops)"},
      {"fork", [](PolicyRequest& r) { r.from_fork = true; }, "", DenyReason::fork, true,
       "the pull request comes from a fork, and forks are not run: their code is untrusted and a "
       "run would hand it the repository's model budget"},
      {"ci attempts for the sha",
       [](PolicyRequest& r) {
         r.task = TaskType::ci_fix;
         r.history.attempts_for_sha = 1;
       },
       "ci_fix: true", DenyReason::attempts, false,
       "forgehand already made 1 automatic fix attempt(s) for this commit (limit 1)"},
      {"attempts on the pull request",
       [](PolicyRequest& r) { r.history.attempts_for_pull_request = 3; }, "", DenyReason::attempts,
       true, "forgehand already ran 3 session(s) on this pull request (limit 3)"},
      {"route not allowed", [](PolicyRequest& r) { r.requested_route = "default"; }, "",
       DenyReason::route, true,
       "route default is not allowed for tasks on pull requests on internal repositories "
       "(allowed: in-house, local-only)"},
      {"monthly budget", [](PolicyRequest& r) { r.history.month.cost = 100.5; }, "",
       DenyReason::monthly_budget, true,
       "this repository's monthly model budget is spent: 100.50 of 100.00"},
      {"permission check failed",
       [](PolicyRequest& r) {
         r.permission = [] {
           return Result<Permission>(fail(ErrorCode::unavailable, "github: 502"));
         };
       },
       "", DenyReason::check_failed, true, "could not check @alice's access: github: 502"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    PolicyRequest request = comment();
    c.change(request);
    RepoConfig repo_config = repo(c.repo_yaml);
    auto decision = decide(config, request, &repo_config);
    CHECK_FALSE(decision.allowed);
    CHECK(decision.deny_reason == c.reason);
    CHECK(decision.notify == c.notify);
    REQUIRE_FALSE(decision.reasons.empty());
    CHECK(decision.reasons.back() == c.words);
  }
}

TEST_CASE("no route for the task is a denial, not a silent default") {
  ServerConfig config = server(R"(policy:
  routes: {public: {comment_task: [default]}}
  rules: [{sensitivity: public}]
)");
  PolicyRequest request = comment();
  request.task = TaskType::issue_task;
  auto decision = decide(config, request, nullptr);
  CHECK_FALSE(decision.allowed);
  CHECK(decision.deny_reason == DenyReason::route);
  CHECK(decision.reasons.back() ==
        "no route is allowed for tasks on issues on public repositories");
  CHECK(server_errors(R"(policy:
  routes: {public: [default]}
  rules: [{sensitivity: internal}]
)") == "forgehand.yaml:14:25: policy.rules[0].sensitivity: no routes are listed for sensitivity "
       "\"internal\" in policy.routes");
}

TEST_CASE("a fork under review_only is allowed without pushing, allowlisted teams count") {
  ServerConfig config = server(kPolicy);
  PolicyRequest request = comment(Permission::admin);
  request.repo = "acme/secret-plans";
  request.from_fork = true;
  RepoConfig repo_config = repo("triggers: {teams: [acme/core]}");
  auto decision = decide(config, request, &repo_config);
  REQUIRE(decision.allowed);
  CHECK(decision.review_only);
  CHECK(decision.route == "local-only");
  CHECK(decision.reasons[1] == "@alice is in team acme/core");
  CHECK(decision.reasons[2] ==
        "the pull request comes from a fork: review only, nothing is pushed");
}

TEST_CASE("a repository narrows, a value that widens is rejected with where and why") {
  ServerConfig config = server(kPolicy + R"(    - match: {repos: [acme/app]}
      users: [alice, bob]
      ci_fix: true
)");
  RepoConfig repo_config = repo(R"(ci_fix: true
routes:
  comment_task: local-only
  ci_fix: default
budgets:
  session: {cost: 5, tokens: 100000}
  monthly: {cost: 40}
attempts: {per_pull_request: 9, ci_fix_per_sha: 0}
triggers:
  min_permission: read
  users: [alice, carol]
protected_paths: [docs/**]
instructions: [docs/ai.md]
)");
  auto decision = decide(config, comment(), &repo_config);
  REQUIRE(decision.allowed);
  CHECK(decision.route == "local-only");
  CHECK(decision.reasons.back() == "route local-only: chosen by the repository's .forgehand.yml");
  CHECK(decision.limits.tokens == 100000);
  CHECK(decision.limits.cost == 2);  // 5 was rejected
  CHECK(decision.protected_paths == std::vector<std::string>{"docs/**"});
  CHECK(decision.instructions == std::vector<std::string>{"docs/ai.md"});
  std::vector<std::string> expected = {
      ".forgehand.yml:4:11: routes.ci_fix: route default is not allowed for automatic CI fixes on "
      "internal repositories (allowed: in-house)",
      ".forgehand.yml:10:19: triggers.min_permission: read is below the server's minimum of write",
      ".forgehand.yml:11:10: triggers.users: carol is not on the server's list, so it cannot be "
      "added here",
      ".forgehand.yml:6:19: budgets.session.cost: 5.00 is above the server's limit of 2.00",
      ".forgehand.yml:8:30: attempts.per_pull_request: 9 is above the server's limit of 3",
  };
  CHECK(decision.rejections == expected);

  PolicyRequest ci = comment();
  ci.task = TaskType::ci_fix;
  auto ci_decision = decide(config, ci, &repo_config);
  CHECK_FALSE(ci_decision.allowed);  // ci_fix_per_sha: 0 narrows the server's 1
  CHECK(ci_decision.deny_reason == DenyReason::attempts);
}

TEST_CASE("a session may spend at most what is left of the month") {
  ServerConfig config = server(kPolicy);
  PolicyRequest request = comment();
  request.repo = "other/lib";
  request.history.month.cost = 99.25;
  auto decision = decide(config, request, nullptr);
  REQUIRE(decision.allowed);
  CHECK(decision.limits.cost == doctest::Approx(0.75));
  CHECK(decision.limits.tokens == 400000);
}

TEST_CASE("a route that reaches beyond its sensitivity's data boundary is a config error") {
  auto errors = server_errors(R"(policy:
  routes: {confidential: {ci_fix: [local-only], comment_task: [default]}}
  max_data_boundary: {confidential: local}
)");
  CHECK(errors.find("policy.routes.confidential.comment_task: route default uses provider claude "
                    "(external data boundary), beyond the local boundary allowed for confidential "
                    "repositories") != std::string::npos);
  CHECK(server_errors("policy: {routes: {public: [nope]}}\n").find("no route named \"nope\"") !=
        std::string::npos);
  CHECK(server_errors("policy: {rules: [{forks: maybe}]}\n")
            .find("policy.rules[0].forks: must be one of deny, review_only, allow") !=
        std::string::npos);
}

TEST_CASE("repository config errors carry file:line:column") {
  struct Case {
    const char* yaml;
    const char* error;
  };
  const Case cases[] = {
      {"comands: true", ".forgehand.yml:1:1: comands: unknown key (did you mean commands?)"},
      {"ci_fix: maybe", ".forgehand.yml:1:9: ci_fix: must be true or false"},
      {"routes: {ci_fixes: x}",
       ".forgehand.yml:1:10: routes.ci_fixes: unknown key (did you mean "
       "ci_fix?)"},
      {"budgets: {session: {cost: -1}}",
       ".forgehand.yml:1:27: budgets.session.cost: must be a number, 0 or more"},
      {"triggers: {min_permission: owner}",
       ".forgehand.yml:1:28: triggers.min_permission: must be one of none, read, triage, write, "
       "maintain, admin"},
      {"instructions: [../etc/passwd]",
       ".forgehand.yml:1:16: instructions[0]: must be a relative path inside the repository"},
      {"templates: {result: docs/result.md}",
       ".forgehand.yml:1:21: templates.result: must be a file under .forgehand/templates/ "
       "(templates elsewhere in the repository are not read)"},
      {"[1, 2]", ".forgehand.yml: the top level must be a mapping of settings"},
      {"a: [", ".forgehand.yml:1:"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.yaml);
    auto parsed = parse_repo_config(c.yaml);
    REQUIRE_FALSE(parsed.has_value());
    CHECK_MESSAGE(parsed.error().message.starts_with(c.error), parsed.error().message);
  }
  CHECK(parse_repo_config("").has_value());
  CHECK(parse_repo_config("# nothing yet\n").has_value());
}

TEST_CASE("check-config reads a .forgehand.yml and, against a server config, its rejections") {
  testing::TempDir dir;
  std::string repo_file = dir.file(".forgehand.yml");
  std::ofstream(repo_file) << "ci_fix: true\nroutes: {comment_task: default}\n";
  std::string server_file = dir.file("forgehand.yaml");
  std::ofstream(server_file) << kBase << kPolicy;
  int runs = 0;
  auto run = [&](std::vector<std::string> args) {
    std::string logs = dir.file("logs-" + std::to_string(++runs));
    std::filesystem::create_directories(logs);
    testing::ChildProcess process(std::move(args), logs);
    int status = process.wait();
    return std::pair{status, process.stdout_text() + process.stderr_text()};
  };
  auto [ok_status, ok_output] = run({"check-config", repo_file});
  CHECK(ok_status == 0);
  CHECK(ok_output == repo_file + ": ok (repository config)\n");
  auto [status, output] = run({"check-config", repo_file, "--against", server_file, "--repository",
                               "acme/secret-plans", "--instance", "gh"});
  CHECK(status == 1);
  CHECK(output == repo_file +
                      ":2:24: routes.comment_task: route default is not allowed for tasks on pull "
                      "requests on confidential repositories (allowed: local-only) (not "
                      "applied)\n");
}
