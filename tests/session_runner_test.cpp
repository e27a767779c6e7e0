// The session pipeline with nothing faked but the forge's API and the model: a real git server,
// the real sandbox and agent, the fake Gitea API and a scripted Chat Completions model. An
// allowed fix on a pull request ends as a pushed branch with its trailers, a pull request into the
// thread's head branch, the acknowledgement edited into the result with the model attribution,
// and a commit status.
#include "dispatch/session_runner.h"

#include <doctest/doctest.h>
#include <stdlib.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "forges/forge_registry.h"
#include "support/fake_gitea.h"
#include "support/fixtures.h"
#include "support/git_server.h"
#include "support/scripted_openai.h"

using namespace forgehand;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kRepo = "alice/widgets";

}  // namespace

TEST_CASE("session runner: an allowed fix ends as a pull request and an edited comment") {
  testing::GitServer git;
  git.create_repo(kRepo);
  git.commit(kRepo, "main", testing::fixture_repository("stats"), "stats");
  std::string head =
      git.commit(kRepo, "feature", {{"NOTES.md", "work in progress\n"}}, "notes", "main");
  git.add_user(testing::FakeGitea::kBotLogin, testing::FakeGitea::kToken);

  testing::FakeGitea gitea;
  gitea.set_pull(12, "feature", head);
  testing::ScriptedOpenAi model(testing::stats_fix_script());
  setenv("FORGEHAND_TEST_SCRIPTED_KEY", testing::ScriptedOpenAi::kKey, 1);

  testing::TempDir data;
  auto config = parse_server_config(
      "instances: [{name: gitea, type: gitea, api_url: " + gitea.api_url() +
          ", insecure_no_secret: true, bot_login: forgehand-bot, token: env:UNUSED}]\n"
          "providers: [{name: scripted, kind: openai-compatible, base_url: " +
          model.url() +
          "/v1, model: gpt-4o, credential: env:FORGEHAND_TEST_SCRIPTED_KEY,"
          " price: {input_per_million: 2, output_per_million: 8}}]\n"
          "routes: {default: [scripted]}\n",
      "forgehand.yaml", data.path().string());
  REQUIRE_MESSAGE(config.has_value(), config.error().message);
  auto models = providers::ProviderSet::create(*config, system_clock(), real_sleeper());
  REQUIRE_MESSAGE(models.has_value(), models.error().message);
  auto workspace = runner::Workspace::open({data.file("workspaces")});
  REQUIRE(workspace.has_value());
  SandboxConfig sandbox_config;
  runner::ProcessSandbox sandbox(sandbox_config);
  proxy::ModelProxy proxy({}, system_clock());
  auto templates = render::TemplateSet::builtin();
  REQUIRE(templates.has_value());
  HttplibClient http;
  ApiDependencies api{http, system_clock(), real_sleeper()};
  auto forge = make_forge(ForgeSettings{"gitea",
                                        ForgeKind::gitea,
                                        gitea.api_url(),
                                        testing::FakeGitea::kBotLogin,
                                        "",
                                        {},
                                        Secret(testing::FakeGitea::kToken)},
                          api);
  REQUIRE(forge.has_value());

  SessionRequest request;
  request.session_id = "fh-0123456789ab";
  request.event.kind = EventKind::comment;
  request.event.instance = "gitea";
  request.event.repo = {std::string(kRepo), "87", git.url(kRepo), "", "main", ""};
  request.event.actor = {"alice", "1"};
  request.event.number = 12;
  request.event.is_pull_request = true;
  request.run = {commands::Verb::fix, "fix range_sum", {}, ""};
  request.decision.allowed = true;
  request.decision.task = TaskType::comment_task;
  request.decision.route = "default";
  request.decision.limits = {0, 0, 10, 10};
  request.acknowledgement = {"1046", ""};

  SessionRunner runner(SessionRunnerDeps{*config, **models, **workspace, sandbox, proxy, *templates,
                                         system_clock()});
  std::atomic<bool> cancel{false};
  SessionReport report = runner.run(request, **forge, cancel);
  INFO(report.error);
  for (const std::string& problem : model.problems()) MESSAGE(problem);
  REQUIRE(report.state == SessionState::succeeded);
  REQUIRE(report.pull_request.has_value());
  CHECK(report.branch.starts_with("forgehand/fh-0123456789ab-"));

  auto opened = gitea.requests_to("/api/v1/repos/alice/widgets/pulls");
  REQUIRE_FALSE(opened.empty());
  json pull = json::parse(opened.back().body);
  CHECK(pull["base"] == "feature");
  CHECK(pull["head"] == report.branch);
  CHECK(pull["body"].get<std::string>().find("gpt-4o") != std::string::npos);

  auto edits = gitea.requests_to("/api/v1/repos/alice/widgets/issues/comments/1046");
  REQUIRE(edits.size() == 1);
  std::string result = json::parse(edits[0].body)["body"];
  CHECK(result.find("range_sum() includes its upper bound now.") != std::string::npos);
  CHECK(result.find("scripted") != std::string::npos);
  CHECK(result.find("fh-0123456789ab") != std::string::npos);
  CHECK_FALSE(
      gitea.requests_to("/api/v1/repos/alice/widgets/statuses/" + report.pushed_sha).empty());

  std::string log = git.git(kRepo, {"log", "-1", "--format=%B", report.branch});
  CHECK(log.find("Forgehand-Session: fh-0123456789ab") != std::string::npos);
  CHECK(log.find("Requested-by: alice") != std::string::npos);
  CHECK(git.rev_parse(kRepo, report.branch + "~1") == head);
}
