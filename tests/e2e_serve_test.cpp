// End to end through the real `forgehand serve`: a signed, real-shaped delivery goes in; out come
// a pushed branch with its trailers on a real git server, a pull request and an edited comment on
// the fake forge, a commit status, and a complete session in the service's own store. Also what
// a crash (SIGKILL) in the middle of a running session and a `cancel` do to it.
#include <doctest/doctest.h>

#include <fstream>
#include <thread>

#include "support/fake_gitea.h"
#include "support/process.h"
#include "support/scripted_openai.h"
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

// What every successful session leaves behind on a Gitea-like forge.
void check_published(ServeRig& rig, FakeGitea& gitea, const SessionRecord& session,
                     const std::string& base_branch, const std::string& base_sha) {
  rig.check_pushed_fix(session, base_sha);
  CHECK(session.pull_request.number == 14);

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

// `serve` in front of a fake Gitea or Forgejo (`type`) acting as forgehand-bot, whose repository
// turns commands on and has pull request #12 on `feature`.
struct GiteaServe {
  ServeRig rig;
  FakeGitea forge;
  std::string type;
  std::string instance;

  explicit GiteaServe(std::string forge_type = "gitea") : type(std::move(forge_type)) {
    rig.git().add_user(FakeGitea::kBotLogin, FakeGitea::kToken);
    forge.set_file(".forgehand.yml", "main", "commands: true\n");
    forge.set_pull(12, "feature", rig.feature_sha());
    std::ofstream(rig.dir().file("gitea-token")) << FakeGitea::kToken << "\n";
    instance = "{name: " + type + ", type: " + type + ", api_url: \"" + forge.api_url() +
               "\", bot_login: forgehand-bot, token: \"file:" + rig.dir().file("gitea-token") +
               "\"}";
  }

  void start(const ScriptedOpenAi& model) {
    rig.configure(instance, model.url() + "/v1");
    rig.start();
  }

  // Alice comments `text` on the fixture's pull request (#12), or its issue (#13).
  int comment(const std::string& text, bool on_issue = false, int comment_id = 0) {
    std::string fixture =
        on_issue ? type + "/issue_comment.created.on_issue" : type + "/issue_comment.created.on_pr";
    ForgeKind kind = type == "forgejo" ? ForgeKind::forgejo : ForgeKind::gitea;
    return rig.deliver(kind, type, fixture, [&](json& body) {
      body["comment"]["body"] = text;
      body["sender"]["login"] = "alice";
      body["comment"]["user"]["login"] = "alice";
      if (comment_id != 0) body["comment"]["id"] = comment_id;
    });
  }

  SessionRecord finished_session(std::chrono::seconds timeout = 90s) {
    auto session =
        rig.wait_for_session([](const SessionRecord& s) { return is_final(s.state); }, timeout);
    REQUIRE_MESSAGE(session.has_value(), rig.logs());
    return *session;
  }

  // Until a sandboxed command whose script holds `marker` runs.
  void wait_for_command(std::string_view marker) {
    for (int i = 0; i < 300 && testing::living_processes_with(marker) == 0; ++i) {
      std::this_thread::sleep_for(50ms);
    }
    REQUIRE_MESSAGE(testing::living_processes_with(marker) > 0, rig.logs());
  }
};

}  // namespace

TEST_CASE("e2e gitea: a fix comment on a pull request ends as a pull request into its head") {
  GiteaServe serve;
  ScriptedOpenAi model(testing::stats_fix_script());
  serve.start(model);
  CHECK(serve.comment("@forgehand-bot fix range_sum") == 202);
  SessionRecord session = serve.finished_session();
  INFO(serve.rig.logs());
  for (const std::string& problem : model.problems()) MESSAGE(problem);

  // Seen, acknowledged with the session id, then done.
  auto reactions =
      serve.forge.requests_to("/api/v1/repos/alice/widgets/issues/comments/1042/reactions");
  REQUIRE(reactions.size() == 1);
  CHECK(json::parse(reactions[0].body)["content"] == "eyes");
  auto posted = serve.forge.requests_to("/api/v1/repos/alice/widgets/issues/12/comments");
  REQUIRE_FALSE(posted.empty());
  CHECK(contains(json::parse(posted[0].body)["body"].get<std::string>(), session.id));

  check_published(serve.rig, serve.forge, session, "feature", serve.rig.feature_sha());
  CHECK(session.trigger.actor == "alice");
  CHECK(session.task == TaskType::comment_task);
  CHECK(session.attempts == 1);
  CHECK(serve.rig.stop() == 0);
}

TEST_CASE("e2e forgejo: a fix comment on a pull request ends as a pull request into its head") {
  GiteaServe serve("forgejo");
  ScriptedOpenAi model(testing::stats_fix_script());
  serve.start(model);
  CHECK(serve.comment("@forgehand-bot fix range_sum") == 202);
  SessionRecord session = serve.finished_session();
  INFO(serve.rig.logs());
  CHECK(serve.forge.requests_to("/api/v1/repos/alice/widgets/issues/comments/1042/reactions")
            .size() == 1);
  check_published(serve.rig, serve.forge, session, "feature", serve.rig.feature_sha());
  CHECK(session.instance == "forgejo");
}

TEST_CASE("e2e gitea: a fix comment on an issue ends as a pull request that closes it") {
  GiteaServe serve;
  ScriptedOpenAi model(testing::stats_fix_script());
  serve.start(model);
  CHECK(serve.comment("@forgehand-bot fix range_sum", true) == 202);
  SessionRecord session = serve.finished_session();
  INFO(serve.rig.logs());
  check_published(serve.rig, serve.forge, session, "main", serve.rig.main_sha());
  CHECK(session.task == TaskType::issue_task);
  CHECK_FALSE(session.is_pull_request);
  auto opened = serve.forge.requests_to("/api/v1/repos/alice/widgets/pulls");
  REQUIRE_FALSE(opened.empty());
  CHECK(contains(json::parse(opened.back().body)["body"].get<std::string>(), "Closes #13"));
}

TEST_CASE("e2e gitea: a session running when serve is killed is retried after the restart") {
  GiteaServe serve;
  // The first process's model has the agent run a command that outlives it.
  constexpr std::string_view kMarker = "sleep 61.25";
  ScriptedOpenAi stuck({{"", {{"run", {{"command", std::string(kMarker)}}}}, {}}});
  serve.start(stuck);
  CHECK(serve.comment("@forgehand-bot fix range_sum") == 202);
  serve.wait_for_command(kMarker);

  serve.rig.kill();
  auto interrupted = serve.rig.sessions();
  REQUIRE(interrupted.size() == 1);
  CHECK(interrupted[0].state == SessionState::running);

  ScriptedOpenAi model(testing::stats_fix_script());
  serve.start(model);
  // The sandboxed command died with the service, or, killed while bubblewrap was still setting
  // up, at the restart.
  for (int i = 0; i < 100 && testing::living_processes_with(kMarker) > 0; ++i) {
    std::this_thread::sleep_for(50ms);
  }
  CHECK(testing::living_processes_with(kMarker) == 0);
  SessionRecord session = serve.finished_session();
  INFO(serve.rig.logs());
  CHECK(session.id == interrupted[0].id);
  CHECK(session.attempts == 2);
  check_published(serve.rig, serve.forge, session, "feature", serve.rig.feature_sha());
  CHECK(contains(serve.rig.logs(), "\"msg\":\"sessions recovered\""));
}

TEST_CASE("e2e gitea: cancel stops a running session and kills its sandboxed command") {
  GiteaServe serve;
  constexpr std::string_view kMarker = "sleep 62.25";
  ScriptedOpenAi stuck({{"", {{"run", {{"command", std::string(kMarker)}}}}, {}}});
  serve.start(stuck);
  CHECK(serve.comment("@forgehand-bot fix range_sum") == 202);
  serve.wait_for_command(kMarker);

  CHECK(serve.comment("@forgehand-bot cancel", false, 1043) == 202);
  SessionRecord session = serve.finished_session(30s);
  INFO(serve.rig.logs());
  CHECK(session.state == SessionState::cancelled);
  CHECK(testing::living_processes_with(kMarker) == 0);
  CHECK(session.head_sha.empty());
  for (const auto& request : serve.forge.requests_to("/api/v1/repos/alice/widgets/pulls")) {
    CHECK(request.method == "GET");
  }
  CHECK(serve.rig.git().git(ServeRig::kRepo, {"branch", "--list", "forgehand/*"}).empty());
  // Said on the thread: the reply to `cancel`, then the acknowledgement edited into the outcome.
  bool replied = false;
  for (const auto& request :
       serve.forge.requests_to("/api/v1/repos/alice/widgets/issues/12/comments")) {
    replied |= contains(json::parse(request.body)["body"].get<std::string>(),
                        "Stopping session `" + session.id + "`");
  }
  CHECK(replied);
  auto edits = serve.forge.requests_to("/api/v1/repos/alice/widgets/issues/comments/1046");
  REQUIRE_FALSE(edits.empty());
  CHECK(contains(json::parse(edits.back().body)["body"].get<std::string>(), "cancelled"));
}

TEST_CASE("e2e gitea: SIGTERM interrupts a running session, which runs again after the restart") {
  GiteaServe serve;
  constexpr std::string_view kMarker = "sleep 63.25";
  ScriptedOpenAi stuck({{"", {{"run", {{"command", std::string(kMarker)}}}}, {}}});
  serve.start(stuck);
  CHECK(serve.comment("@forgehand-bot fix range_sum") == 202);
  serve.wait_for_command(kMarker);

  // Stopped without waiting for the command: its sandbox is killed, and the session (whose model
  // has no second turn) did not go on to fail.
  CHECK(serve.rig.stop() == 0);
  CHECK(testing::living_processes_with(kMarker) == 0);
  auto interrupted = serve.rig.sessions();
  REQUIRE(interrupted.size() == 1);
  CHECK(interrupted[0].state == SessionState::queued);
  CHECK(interrupted[0].attempts == 0);
  // The acknowledgement was left saying the work is under way.
  CHECK(serve.forge.requests_to("/api/v1/repos/alice/widgets/issues/comments/1046").empty());

  ScriptedOpenAi model(testing::stats_fix_script());
  serve.start(model);
  SessionRecord session = serve.finished_session();
  INFO(serve.rig.logs());
  CHECK(session.id == interrupted[0].id);
  CHECK(session.attempts == 1);
  check_published(serve.rig, serve.forge, session, "feature", serve.rig.feature_sha());
}
