// `forgehand replay` over the real fixtures: a dry run prints the event, the decision with its
// reasons and the comments it would post, and sends nothing to a forge (fake forges record every
// request); a real run against a fake Gitea, a real git server and a scripted model posts the
// acknowledgement, runs the session to a pull request and records it.
#include "app/replay.h"

#include <doctest/doctest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "store/sqlite_store.h"
#include "support/fake_gitea.h"
#include "support/fake_github.h"
#include "support/fake_gitlab.h"
#include "support/fixtures.h"
#include "support/git_server.h"
#include "support/process.h"
#include "support/scripted_openai.h"

using namespace forgehand;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string fixture(std::string_view name) {
  return (fs::path(FORGEHAND_SOURCE_DIR) / "fixtures" / (std::string(name) + ".json")).string();
}

// Routes name providers that are never called in a dry run, so their keys need not resolve.
const std::string kModels = R"(providers:
  - {name: claude, kind: anthropic, model: claude-sonnet-4-5, credential: env:NOT_SET_ANYWHERE}
routes: {default: [claude]}
)";

struct Replayed {
  int status = -1;
  std::string out;
  std::string err;

  bool says(std::string_view text) const { return out.find(text) != std::string::npos; }
};

struct Rig {
  testing::TempDir dir;
  ServerConfig config;

  // `instances` is the YAML list of the instances, pointed at the fakes.
  explicit Rig(const std::string& instances, const std::string& extra = "") {
    auto parsed = parse_server_config("instances: " + instances + "\n" + kModels + extra,
                                      "forgehand.yaml", dir.path().string());
    REQUIRE_MESSAGE(parsed.has_value(), parsed.error().message);
    config = std::move(*parsed);
  }

  Replayed replay(ReplayOptions options) {
    std::ostringstream out;
    std::ostringstream err;
    Replayed result;
    result.status = forgehand::replay(config, options, out, err);
    result.out = out.str();
    result.err = err.str();
    INFO(result.out);
    INFO(result.err);
    return result;
  }

  Replayed dry_run(const std::string& path, const std::string& instance,
                   const std::string& event = "") {
    return replay(ReplayOptions{path, instance, event, true, false});
  }

  // A copy of a fixture's payload, changed by `edit`, with no .headers beside it.
  std::string payload(std::string_view name, const std::function<void(json&)>& edit) {
    json body = json::parse(testing::read_file(fixture(name)));
    edit(body);
    std::string path = dir.file(fs::path(fixture(name)).filename().string());
    std::ofstream(path) << body.dump(2);
    return path;
  }
};

std::string github_instance(const testing::FakeGithub& github) {
  return "[{name: github, type: github, api_url: \"" + github.url() +
         "\", insecure_no_secret: true, bot_login: \"forgehand[bot]\"}]";
}

std::string gitea_instance(const std::string& name, const std::string& kind,
                           const std::string& api_url) {
  return "[{name: " + name + ", type: " + kind + ", api_url: \"" + api_url +
         "\", insecure_no_secret: true, bot_login: forgehand, token: env:REPLAY_TEST_TOKEN}]";
}

}  // namespace

TEST_CASE("replay dry run: a GitHub command on a pull request shows the decision and the comment") {
  testing::FakeGithub github;
  Rig rig(github_instance(github));
  auto run = rig.dry_run(fixture("github/issue_comment.created.pull_request"), "github");
  CHECK(run.status == 0);
  CHECK(run.says("Event     comment (issue_comment, created)"));
  CHECK(run.says("Repo      Codertocat/Hello-World, pull request #2"));
  CHECK(run.says("  | @forgehand fix the flaky test"));
  // Nothing was read: what the decision rests on instead is said.
  CHECK(run.says(".forgehand.yml of Codertocat/Hello-World at master: taken as absent"));
  CHECK(run.says("@Codertocat's permission on Codertocat/Hello-World: taken as write"));
  CHECK(run.says("Decision: allowed, route default (claude): a task on a pull request"));
  CHECK(run.says("  - @Codertocat has write access (write or more is needed)"));
  CHECK(run.says("1. react with eyes to comment"));
  CHECK(run.says("2. post a comment on pull request Codertocat/Hello-World#2"));
  CHECK(run.says("     | 👀 On it, @Codertocat: running **fix** in session `fh-"));
  CHECK(run.says("3. start session fh-"));
  CHECK(run.says(" (comment_task) on route default (claude)"));
  CHECK(run.says("Outcome: started: fh-"));
  CHECK(github.requests().empty());
}

TEST_CASE("replay dry run: a failed GitHub check is denied quietly without ci_fix") {
  testing::FakeGithub github;
  Rig rig(github_instance(github));
  auto run = rig.dry_run(fixture("github/check_run.completed.failure"), "github");
  CHECK(run.status == 0);
  CHECK(run.says("Event     ci_failed (check_run, completed)"));
  CHECK(run.says("pull request Codertocat/Hello-World#2: open, at the head the event names"));
  CHECK(run.says("Decision: denied (ci_fix_off, quietly)"));
  CHECK(run.says("Would do (dry run: nothing was sent):\n  nothing\n"));
  CHECK(run.says("Outcome: denied"));
  CHECK(github.requests().empty());
}

TEST_CASE("replay dry run: a GitLab note named by --event, without a headers file") {
  testing::FakeGitlab gitlab;
  Rig rig("[{name: gitlab, type: gitlab, api_url: \"" + gitlab.api_url() +
          "\", insecure_no_secret: true, bot_login: forgehand}]");
  std::string path = rig.payload("gitlab/note_hook.merge_request", [](json& body) {
    body["object_attributes"]["note"] = "@forgehand fix the flaky test";
  });
  REQUIRE_FALSE(fs::exists(fs::path(path).replace_extension(".headers")));

  SUBCASE("with --event") {
    auto run = rig.dry_run(path, "gitlab", "Note Hook");
    CHECK(run.status == 0);
    CHECK(run.says("Event     comment (Note Hook, "));
    CHECK(run.says("Repo      gitlab-org/gitlab-test, pull request #1"));
    CHECK(run.says("Decision: allowed, route default"));
    CHECK(run.says("post a comment on pull request gitlab-org/gitlab-test#1"));
    CHECK(run.says("| 👀 On it, @root: running **fix**"));
    CHECK(run.says("Outcome: started"));
  }
  SUBCASE("without --event it says how to name the event") {
    auto run = rig.dry_run(path, "gitlab");
    CHECK(run.status == 2);
    CHECK(run.err.find("note_hook.merge_request.headers") != std::string::npos);
    CHECK(run.err.find("--event") != std::string::npos);
    CHECK(run.err.find("x-gitlab-event") != std::string::npos);
  }
  CHECK(gitlab.requests().empty());
}

TEST_CASE("replay dry run: Gitea and Forgejo comments on a pull request") {
  testing::FakeGitea gitea;
  for (std::string kind : {"gitea", "forgejo"}) {
    CAPTURE(kind);
    Rig rig(gitea_instance(kind, kind, gitea.api_url()));
    auto run = rig.dry_run(fixture(kind + "/issue_comment.created.on_pr"), kind);
    CHECK(run.status == 0);
    CHECK(run.says("Repo      alice/widgets, pull request #12"));
    CHECK(run.says("Decision: allowed, route default"));
    CHECK(run.says("post a comment on pull request alice/widgets#12"));
    CHECK(run.says("| 👀 On it, @alice: running **fix**"));
    CHECK(run.says("Outcome: started"));
  }
  CHECK(gitea.requests().empty());
}

TEST_CASE("replay dry run with --read asks the forge and still writes nothing") {
  testing::FakeGitea gitea;
  gitea.set_file(".forgehand.yml", "main", "ci_fix: true\n");
  setenv("REPLAY_TEST_TOKEN", testing::FakeGitea::kToken, 1);
  // The fake's pull request #12 comes from a fork.
  Rig rig(gitea_instance("gitea", "gitea", gitea.api_url()), "policy: {rules: [{forks: allow}]}\n");
  auto run = rig.replay(
      ReplayOptions{fixture("gitea/workflow_run.completed.failure"), "gitea", "", true, true});
  CHECK(run.status == 0);
  CHECK_FALSE(run.says("taken as"));
  CHECK(run.says("Decision: allowed, route default"));
  CHECK(run.says("post a comment on pull request alice/widgets#12"));
  CHECK(run.says("(ci_fix) on route default"));
  CHECK(run.says("--- FAIL: TestRetry"));  // the failed job's log, triaged
  std::vector<testing::RecordedRequest> requests = gitea.requests();
  CHECK_FALSE(requests.empty());
  for (const auto& request : requests) CHECK(request.method == "GET");
}

TEST_CASE("replay: what is ignored says why, and an unknown instance lists the configured ones") {
  testing::FakeGithub github;
  Rig rig(github_instance(github));
  SUBCASE("a comment without a command") {
    auto run = rig.dry_run(fixture("github/issue_comment.created.issue"), "github");
    CHECK(run.status == 1);
    CHECK(run.says("Outcome: ignored: "));
    CHECK_FALSE(run.says("Decision:"));
  }
  SUBCASE("an event forgehand does not act on") {
    auto run = rig.dry_run(fixture("github/issue_comment.created.issue"), "github", "push");
    CHECK(run.status == 1);
    CHECK(run.says("Ignored: forgehand does not act on push events"));
  }
  SUBCASE("an action the adapter ignores") {
    std::string path = rig.payload("github/issue_comment.created.issue",
                                   [](json& body) { body["action"] = "deleted"; });
    auto run = rig.dry_run(path, "github", "issue_comment");
    CHECK(run.status == 1);
    CHECK(run.says("Ignored: "));
  }
  SUBCASE("a CI verdict, which is only recorded on sessions") {
    auto run = rig.dry_run(fixture("github/check_suite.completed.success"), "github");
    CHECK(run.status == 1);
    CHECK(run.says("Outcome: ignored: an outcome, recorded on the sessions it concerns"));
  }
  SUBCASE("an unknown instance") {
    auto run = rig.dry_run(fixture("github/issue_comment.created.pull_request"), "gitlab");
    CHECK(run.status == 2);
    CHECK(run.err.find("no instance named \"gitlab\"") != std::string::npos);
    CHECK(run.err.find("configured: github") != std::string::npos);
  }
  CHECK(github.requests().empty());
}

TEST_CASE("replay: the command line, on the embedded defaults") {
  testing::TempDir dir;
  auto run = [&](std::vector<std::string> args) {
    std::string logs = dir.file("logs" + std::to_string(args.size()));
    fs::create_directories(logs);
    args.insert(args.begin(), {"replay", "--data-dir", dir.file("data")});
    testing::ChildProcess process(args, logs);
    int status = process.wait();
    return std::tuple{status, process.stdout_text(), process.stderr_text()};
  };
  auto [status, out, err] = run(
      {fixture("github/issue_comment.created.pull_request"), "--instance", "github", "--dry-run"});
  INFO(out);
  INFO(err);
  CHECK(status == 0);
  // The defaults configure no model route, so the policy says no, and says so on the thread.
  CHECK(out.find("Decision: denied (route)") != std::string::npos);
  CHECK(out.find("post a comment on pull request Codertocat/Hello-World#2") != std::string::npos);
  CHECK(out.find("Outcome: denied") != std::string::npos);
  CHECK_FALSE(fs::exists(dir.file("data/forgehand.db")));  // a dry run creates no store

  auto [read_status, read_out, read_err] =
      run({fixture("github/issue_comment.created.pull_request"), "--instance", "github", "--read"});
  CHECK(read_status != 0);
  CHECK(read_err.find("--dry-run") != std::string::npos);
}

TEST_CASE("replay without --dry-run runs the session against a fake Gitea to a pull request") {
  constexpr std::string_view kRepo = "alice/widgets";
  testing::GitServer git;
  git.create_repo(kRepo);
  git.commit(kRepo, "main", {{"README.md", "widgets\n"}, {"VERSION", "1\n"}}, "start");
  std::string head =
      git.commit(kRepo, "feature", {{"NOTES.md", "work in progress\n"}}, "notes", "main");
  // git authenticates as the instance's bot login.
  git.add_user("forgehand", testing::FakeGitea::kToken);

  testing::FakeGitea gitea;
  gitea.set_file(".forgehand.yml", "main", "commands: true\n");
  gitea.set_pull(12, "feature", head);
  testing::ScriptedOpenAi model({
      {"", {{"edit_file", {{"path", "VERSION"}, {"old", "1"}, {"new", "2"}}}}, {}},
      {"", {{"finish", {{"summary", "VERSION is 2 now."}}}}, {}},
  });
  setenv("FORGEHAND_TEST_SCRIPTED_KEY", testing::ScriptedOpenAi::kKey, 1);
  setenv("REPLAY_TEST_TOKEN", testing::FakeGitea::kToken, 1);

  testing::TempDir dir;
  auto config = parse_server_config(
      "instances: " + gitea_instance("gitea", "gitea", gitea.api_url()) +
          "\nproviders: [{name: scripted, kind: openai-compatible, base_url: " + model.url() +
          "/v1, model: gpt-4o, credential: env:FORGEHAND_TEST_SCRIPTED_KEY}]\n"
          "routes: {default: [scripted]}\n",
      "forgehand.yaml", dir.path().string());
  REQUIRE_MESSAGE(config.has_value(), config.error().message);
  // The fixture's repository, served by the test's git server.
  json body = json::parse(testing::read_file(fixture("gitea/issue_comment.created.on_pr")));
  body["repository"]["clone_url"] = git.url(kRepo);
  std::string path = dir.file("comment.json");
  std::ofstream(path) << body.dump();

  std::ostringstream out;
  std::ostringstream err;
  int status =
      replay(*config, ReplayOptions{path, "gitea", "issue_comment", false, false}, out, err);
  INFO(out.str());
  INFO(err.str());
  for (const std::string& problem : model.problems()) MESSAGE(problem);
  CHECK(status == 0);
  CHECK(out.str().find("Decision: allowed, route default") != std::string::npos);
  CHECK(out.str().find(": succeeded") != std::string::npos);
  CHECK(out.str().find("Pull request  https://gitea.example.com/") != std::string::npos);

  CHECK(gitea.requests_to("/api/v1/repos/alice/widgets/issues/comments/1042/reactions").size() ==
        1);
  auto posted = gitea.requests_to("/api/v1/repos/alice/widgets/issues/12/comments");
  REQUIRE(posted.size() == 1);
  CHECK(json::parse(posted[0].body)["body"].get<std::string>().find("On it, @alice") !=
        std::string::npos);
  auto opened = gitea.requests_to("/api/v1/repos/alice/widgets/pulls");
  CHECK(std::count_if(opened.begin(), opened.end(),
                      [](const auto& request) { return request.method == "POST"; }) == 1);

  auto store = SqliteStore::open(SqliteStoreOptions{.path = config->store.path, .read_only = true});
  REQUIRE(store.has_value());
  auto sessions = (*store)->list_sessions({});
  REQUIRE(sessions.has_value());
  REQUIRE(sessions->size() == 1);
  CHECK(sessions->front().state == SessionState::succeeded);
  CHECK(sessions->front().pull_request.number == 14);
  // No headers file: the delivery id is the intake's content hash.
  CHECK(sessions->front().trigger.delivery_id.starts_with("sha256:"));
}
