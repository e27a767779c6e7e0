// End to end through the real `forgehand serve`: a signed, real-shaped delivery goes in; out come
// a pushed branch with its trailers on a real git server, a pull request and an edited comment on
// the fake forge, a commit status, and a complete session in the service's own store. Also what
// a crash (SIGKILL) in the middle of a running session and a `cancel` do to it.
#include <doctest/doctest.h>

#include <fstream>
#include <thread>

#include "support/fake_gitea.h"
#include "support/process.h"
#include "support/serve_rig.h"

using namespace forgehand;
using namespace std::chrono_literals;
using nlohmann::json;
using testing::FakeGitea;
using testing::ScriptedOpenAi;
using testing::ServeRig;

namespace {

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

// A Gitea or Forgejo instance on the fake API, acting as forgehand-bot.
std::string gitea_instance(ServeRig& rig, const FakeGitea& gitea, std::string_view type) {
  std::ofstream(rig.dir().file("gitea-token")) << FakeGitea::kToken << "\n";
  return "{name: " + std::string(type) + ", type: " + std::string(type) + ", api_url: \"" +
         gitea.api_url() +
         "\", bot_login: forgehand-bot, token: \"file:" + rig.dir().file("gitea-token") + "\"}";
}

void comment(json& body, const std::string& text) {
  body["comment"]["body"] = text;
  body["sender"]["login"] = "alice";
  body["comment"]["user"]["login"] = "alice";
}

bool finished(const SessionRecord& session) { return is_final(session.state); }

// What every successful session leaves behind on a Gitea-like forge.
void check_published(ServeRig& rig, FakeGitea& gitea, const SessionRecord& session,
                     const std::string& base_branch, const std::string& base_sha) {
  CHECK(session.state == SessionState::succeeded);
  CHECK(session.error.empty());
  CHECK(session.pull_request.number == 14);
  CHECK(session.head_ref.starts_with("forgehand/" + session.id + "-"));
  REQUIRE(session.head_sha.size() == 40);
  CHECK(session.model() == "scripted/" + std::string(ScriptedOpenAi::kModel));
  CHECK(session.runner_seconds > 0);
  CHECK_FALSE(session.calls.empty());

  // The branch, its parent and its trailers, on the git server.
  CHECK(rig.git().rev_parse(ServeRig::kRepo, session.head_ref) == session.head_sha);
  CHECK(rig.git().rev_parse(ServeRig::kRepo, session.head_sha + "~1") == base_sha);
  std::string message =
      rig.git().git(ServeRig::kRepo, {"log", "-1", "--format=%B", session.head_sha});
  CHECK(contains(message, "Forgehand-Session: " + session.id));
  CHECK(contains(message, "Model: scripted/"));
  CHECK(contains(message, "Requested-by: alice"));
  CHECK(contains(rig.git().git(ServeRig::kRepo, {"show", session.head_sha + ":src/stats.c"}),
                 "i <= to"));

  // The pull request into the base branch, with the attribution.
  auto opened = gitea.requests_to("/api/v1/repos/alice/widgets/pulls");
  std::erase_if(opened, [](const auto& request) { return request.method != "POST"; });
  REQUIRE(opened.size() == 1);
  json pull = json::parse(opened[0].body);
  CHECK(pull["base"] == base_branch);
  CHECK(pull["head"] == session.head_ref);
  CHECK(contains(pull["body"].get<std::string>(), "scripted"));

  // The acknowledgement, edited into the result.
  auto edits = gitea.requests_to("/api/v1/repos/alice/widgets/issues/comments/1046");
  std::erase_if(edits, [](const auto& request) { return request.method != "PATCH"; });
  REQUIRE_FALSE(edits.empty());
  std::string result = json::parse(edits.back().body)["body"];
  CHECK(contains(result, "range_sum() includes its upper bound now."));
  CHECK(contains(result, session.id));
  CHECK(contains(result, "scripted"));
  CHECK(contains(result, "/pulls/14"));

  CHECK_FALSE(
      gitea.requests_to("/api/v1/repos/alice/widgets/statuses/" + session.head_sha).empty());
}

}  // namespace

TEST_CASE("e2e gitea: a fix comment on a pull request ends as a pull request into its head") {
  ServeRig rig;
  rig.git().add_user(FakeGitea::kBotLogin, FakeGitea::kToken);
  FakeGitea gitea;
  gitea.set_file(".forgehand.yml", "main", "commands: true\n");
  gitea.set_pull(12, "feature", rig.feature_sha());
  ScriptedOpenAi model(testing::stats_fix_script());
  rig.configure(gitea_instance(rig, gitea, "gitea"), model.url() + "/v1");
  rig.start();

  CHECK(rig.deliver(ForgeKind::gitea, "gitea", "gitea/issue_comment.created.on_pr",
                    [](json& body) { comment(body, "@forgehand-bot fix range_sum"); }) == 202);
  auto session = rig.wait_for_session(finished);
  REQUIRE_MESSAGE(session.has_value(), rig.logs());
  INFO(rig.logs());
  for (const std::string& problem : model.problems()) MESSAGE(problem);

  // Seen, acknowledged with the session id, then done.
  auto reactions = gitea.requests_to("/api/v1/repos/alice/widgets/issues/comments/1042/reactions");
  REQUIRE(reactions.size() == 1);
  CHECK(json::parse(reactions[0].body)["content"] == "eyes");
  auto posted = gitea.requests_to("/api/v1/repos/alice/widgets/issues/12/comments");
  REQUIRE_FALSE(posted.empty());
  CHECK(contains(json::parse(posted[0].body)["body"].get<std::string>(), session->id));

  check_published(rig, gitea, *session, "feature", rig.feature_sha());
  CHECK(session->trigger.actor == "alice");
  CHECK(session->task == TaskType::comment_task);
  CHECK(session->attempts == 1);
  CHECK(rig.stop() == 0);
}

TEST_CASE("e2e forgejo: a fix comment on a pull request ends as a pull request into its head") {
  ServeRig rig;
  rig.git().add_user(FakeGitea::kBotLogin, FakeGitea::kToken);
  FakeGitea forgejo;
  forgejo.set_file(".forgehand.yml", "main", "commands: true\n");
  forgejo.set_pull(12, "feature", rig.feature_sha());
  ScriptedOpenAi model(testing::stats_fix_script());
  rig.configure(gitea_instance(rig, forgejo, "forgejo"), model.url() + "/v1");
  rig.start();

  CHECK(rig.deliver(ForgeKind::forgejo, "forgejo", "forgejo/issue_comment.created.on_pr",
                    [](json& body) { comment(body, "@forgehand-bot fix range_sum"); }) == 202);
  auto session = rig.wait_for_session(finished);
  REQUIRE_MESSAGE(session.has_value(), rig.logs());
  INFO(rig.logs());
  CHECK(forgejo.requests_to("/api/v1/repos/alice/widgets/issues/comments/1042/reactions").size() ==
        1);
  check_published(rig, forgejo, *session, "feature", rig.feature_sha());
  CHECK(session->instance == "forgejo");
}

TEST_CASE("e2e gitea: a fix comment on an issue ends as a pull request that closes it") {
  ServeRig rig;
  rig.git().add_user(FakeGitea::kBotLogin, FakeGitea::kToken);
  FakeGitea gitea;
  gitea.set_file(".forgehand.yml", "main", "commands: true\n");
  ScriptedOpenAi model(testing::stats_fix_script());
  rig.configure(gitea_instance(rig, gitea, "gitea"), model.url() + "/v1");
  rig.start();

  CHECK(rig.deliver(ForgeKind::gitea, "gitea", "gitea/issue_comment.created.on_issue",
                    [](json& body) { comment(body, "@forgehand-bot fix range_sum"); }) == 202);
  auto session = rig.wait_for_session(finished);
  REQUIRE_MESSAGE(session.has_value(), rig.logs());
  INFO(rig.logs());
  check_published(rig, gitea, *session, "main", rig.main_sha());
  CHECK(session->task == TaskType::issue_task);
  CHECK_FALSE(session->is_pull_request);
  auto opened = gitea.requests_to("/api/v1/repos/alice/widgets/pulls");
  REQUIRE_FALSE(opened.empty());
  CHECK(contains(json::parse(opened.back().body)["body"].get<std::string>(), "Closes #13"));
}

TEST_CASE("e2e gitea: a session running when serve is killed is retried after the restart") {
  ServeRig rig;
  rig.git().add_user(FakeGitea::kBotLogin, FakeGitea::kToken);
  FakeGitea gitea;
  gitea.set_file(".forgehand.yml", "main", "commands: true\n");
  gitea.set_pull(12, "feature", rig.feature_sha());
  // The first process's model has the agent run a command that outlives it.
  constexpr std::string_view kMarker = "sleep 61.25";
  ScriptedOpenAi stuck({{"", {{"run", {{"command", std::string(kMarker)}}}}, {}}});
  std::string instance = gitea_instance(rig, gitea, "gitea");
  rig.configure(instance, stuck.url() + "/v1");
  rig.start();
  CHECK(rig.deliver(ForgeKind::gitea, "gitea", "gitea/issue_comment.created.on_pr",
                    [](json& body) { comment(body, "@forgehand-bot fix range_sum"); }) == 202);
  for (int i = 0; i < 300 && testing::living_processes_with(kMarker) == 0; ++i) {
    std::this_thread::sleep_for(50ms);
  }
  REQUIRE_MESSAGE(testing::living_processes_with(kMarker) > 0, rig.logs());

  rig.kill();
  auto interrupted = rig.sessions();
  REQUIRE(interrupted.size() == 1);
  CHECK(interrupted[0].state == SessionState::running);

  ScriptedOpenAi model(testing::stats_fix_script());
  rig.configure(instance, model.url() + "/v1");
  rig.start();
  // The sandboxed command died with the service, or, killed while bubblewrap was still setting
  // up, at the restart.
  for (int i = 0; i < 100 && testing::living_processes_with(kMarker) > 0; ++i) {
    std::this_thread::sleep_for(50ms);
  }
  CHECK(testing::living_processes_with(kMarker) == 0);
  auto session = rig.wait_for_session(finished);
  REQUIRE_MESSAGE(session.has_value(), rig.logs());
  INFO(rig.logs());
  CHECK(session->id == interrupted[0].id);
  CHECK(session->attempts == 2);
  check_published(rig, gitea, *session, "feature", rig.feature_sha());
  CHECK(contains(rig.logs(), "\"msg\":\"sessions recovered\""));
}

TEST_CASE("e2e gitea: cancel stops a running session and kills its sandboxed command") {
  ServeRig rig;
  rig.git().add_user(FakeGitea::kBotLogin, FakeGitea::kToken);
  FakeGitea gitea;
  gitea.set_file(".forgehand.yml", "main", "commands: true\n");
  gitea.set_pull(12, "feature", rig.feature_sha());
  constexpr std::string_view kMarker = "sleep 62.25";
  ScriptedOpenAi stuck({{"", {{"run", {{"command", std::string(kMarker)}}}}, {}}});
  rig.configure(gitea_instance(rig, gitea, "gitea"), stuck.url() + "/v1");
  rig.start();
  CHECK(rig.deliver(ForgeKind::gitea, "gitea", "gitea/issue_comment.created.on_pr",
                    [](json& body) { comment(body, "@forgehand-bot fix range_sum"); }) == 202);
  for (int i = 0; i < 300 && testing::living_processes_with(kMarker) == 0; ++i) {
    std::this_thread::sleep_for(50ms);
  }
  REQUIRE_MESSAGE(testing::living_processes_with(kMarker) > 0, rig.logs());

  CHECK(rig.deliver(ForgeKind::gitea, "gitea", "gitea/issue_comment.created.on_pr", [](json& body) {
    comment(body, "@forgehand-bot cancel");
    body["comment"]["id"] = 1043;
  }) == 202);
  auto session = rig.wait_for_session(finished, 30s);
  REQUIRE_MESSAGE(session.has_value(), rig.logs());
  INFO(rig.logs());
  CHECK(session->state == SessionState::cancelled);
  CHECK(testing::living_processes_with(kMarker) == 0);
  CHECK(session->head_sha.empty());
  for (const auto& request : gitea.requests_to("/api/v1/repos/alice/widgets/pulls")) {
    CHECK(request.method == "GET");
  }
  CHECK(rig.git().git(ServeRig::kRepo, {"branch", "--list", "forgehand/*"}).empty());
  // Said on the thread: the reply to `cancel`, then the acknowledgement edited into the outcome.
  bool replied = false;
  for (const auto& request : gitea.requests_to("/api/v1/repos/alice/widgets/issues/12/comments")) {
    replied |= contains(json::parse(request.body)["body"].get<std::string>(),
                        "Stopping session `" + session->id + "`");
  }
  CHECK(replied);
  auto edits = gitea.requests_to("/api/v1/repos/alice/widgets/issues/comments/1046");
  REQUIRE_FALSE(edits.empty());
  CHECK(contains(json::parse(edits.back().body)["body"].get<std::string>(), "cancelled"));
}
