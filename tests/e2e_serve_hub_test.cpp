// End to end through the real `forgehand serve` on GitHub (as an App) and GitLab, and for a CI
// failure on Gitea: a signed, real-shaped comment or CI failure goes in; out come a pushed branch
// with its trailers on a real git server, a pull request and an edited acknowledgement on the fake
// forge, a commit status, and a complete session in the service's own store.
#include <doctest/doctest.h>

#include <fstream>

#include "support/fake_gitea.h"
#include "support/fake_github.h"
#include "support/fake_gitlab.h"
#include "support/keys.h"
#include "support/scripted_openai.h"
#include "support/serve_rig.h"

using namespace forgehand;
using nlohmann::json;
using testing::FakeGitea;
using testing::FakeGithub;
using testing::FakeGitlab;
using testing::RecordedRequest;
using testing::ScriptedOpenAi;
using testing::ServeRig;

namespace {

constexpr const char* kSummary = "range_sum() includes its upper bound now.";

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

bool finished(const SessionRecord& session) { return is_final(session.state); }

// Requests with this method to exactly this path (the query aside).
std::vector<RecordedRequest> sent(testing::FakeServer& forge, const std::string& method,
                                  const std::string& path) {
  auto requests = forge.requests_to(path);
  std::erase_if(requests, [&](const RecordedRequest& request) {
    return request.method != method || request.path.substr(0, request.path.find('?')) != path;
  });
  return requests;
}

// Whatever the model was asked first: the task, with the failure excerpt for a CI fix.
std::string first_prompt(ScriptedOpenAi& model) {
  auto asked = model.requests_to("/v1/chat/completions");
  REQUIRE_FALSE(asked.empty());
  return asked.front().body;
}

// What every successful session leaves in the store and on the git server: one commit on
// `base_sha` with the fix and the attribution trailers, on the branch the record names.
void check_session_and_push(ServeRig& rig, ScriptedOpenAi& model, const SessionRecord& session,
                            const std::string& base_sha) {
  for (const std::string& problem : model.problems()) MESSAGE(problem);
  rig.check_pushed_fix(session, base_sha);
  CHECK(session.attempts == 1);
  // The rig's fresh id, not the fixture's: the intake read the header that forge names it by.
  CHECK(session.trigger.delivery_id.starts_with("e2e-"));
  CHECK(session.trigger.actor == "alice");
  CHECK(session.summary == kSummary);
}

// The edited acknowledgement: the summary, the session, the model that did the work, the pull
// request.
void check_result_comment(const std::string& body, const SessionRecord& session,
                          std::string_view pull_link) {
  CHECK(contains(body, kSummary));
  CHECK(contains(body, session.id));
  CHECK(contains(body, "scripted"));
  CHECK(contains(body, pull_link));
}

// --- GitHub ---------------------------------------------------------------------------------

// A GitHub App instance on the fake API. Its installation token is the git server's password for
// x-access-token, as GitHub takes it over HTTPS.
std::string github_instance(ServeRig& rig, const FakeGithub& github) {
  std::ofstream(rig.dir().file("app.pem")) << testing::generate_rsa_key().private_pem;
  rig.git().add_user("x-access-token", FakeGithub::installation_token(1));
  return "{name: github, type: github, api_url: \"" + github.url() +
         "\", app_id: '12345', private_key: \"file:" + rig.dir().file("app.pem") +
         "\", bot_login: \"forgehand[bot]\"}";
}

// The fixtures come from other repositories; this one is alice/widgets on the git server.
void github_repository(ServeRig& rig, json& body) {
  json& repo = body["repository"];
  repo["name"] = "widgets";
  repo["full_name"] = ServeRig::kRepo;
  repo["owner"]["login"] = "alice";
  repo["html_url"] = "https://github.com/alice/widgets";
  repo["clone_url"] = rig.git().url(ServeRig::kRepo);
  repo["default_branch"] = "main";
  body["sender"]["login"] = "alice";
}

// A CI payload's entry for the pull request whose head failed: `feature` into main.
void failing_pull_request(ServeRig& rig, json& pull) {
  pull["head"]["ref"] = "feature";
  pull["head"]["sha"] = rig.feature_sha();
  pull["base"]["ref"] = "main";
  pull["base"]["sha"] = rig.main_sha();
}

// Workflow run 6112488003 failed on the head of pull request #42.
void failed_workflow_run(ServeRig& rig, json& body) {
  github_repository(rig, body);
  json& run = body["workflow_run"];
  run["head_sha"] = rig.feature_sha();
  run["head_branch"] = "feature";
  run["actor"]["login"] = "alice";
  run["triggering_actor"]["login"] = "alice";
  run["repository"]["full_name"] = ServeRig::kRepo;
  run["head_repository"]["full_name"] = ServeRig::kRepo;
  failing_pull_request(rig, run["pull_requests"][0]);
}

// Check run 399444497 (Actions job "test") of check suite 118578147 failed on the head of pull
// request #2.
void failed_check_run(ServeRig& rig, json& body) {
  github_repository(rig, body);
  // App deliveries always name the installation; octokit's example does not.
  body["installation"] = {{"id", 1}};
  json& check = body["check_run"];
  check["id"] = 399444497;
  check["name"] = "test";
  check["head_sha"] = rig.feature_sha();
  check["check_suite"]["head_sha"] = rig.feature_sha();
  check["check_suite"]["head_branch"] = "feature";
  failing_pull_request(rig, check["pull_requests"][0]);
}

// A pull request opened into `base_branch`, the acknowledgement edited into the result and a
// status on the pushed commit, all with the installation's token.
void check_github_published(FakeGithub& github, const SessionRecord& session,
                            const std::string& base_branch) {
  CHECK(session.pull_request.number == 43);
  auto opened = sent(github, "POST", "/repos/alice/widgets/pulls");
  REQUIRE(opened.size() == 1);
  json pull = json::parse(opened[0].body);
  CHECK(pull["base"] == base_branch);
  CHECK(pull["head"] == session.head_ref);
  CHECK(contains(pull["body"].get<std::string>(), "scripted"));
  CHECK(contains(pull["body"].get<std::string>(), session.id));

  REQUIRE_FALSE(session.acknowledgement_comment_id.empty());
  auto edits = sent(github, "PATCH",
                    "/repos/alice/widgets/issues/comments/" + session.acknowledgement_comment_id);
  REQUIRE_FALSE(edits.empty());
  check_result_comment(json::parse(edits.back().body)["body"], session, "/pull/43");

  // The adapter reports the session as a commit status (context "forgehand"), not a check run.
  auto statuses = sent(github, "POST", "/repos/alice/widgets/statuses/" + session.head_sha);
  REQUIRE(statuses.size() == 1);
  json status = json::parse(statuses[0].body);
  CHECK(status["state"] == "success");
  CHECK(status["context"] == "forgehand");
  CHECK(status["target_url"] == "https://github.com/alice/widgets/pull/43");

  // One installation token, cached for every call of the session.
  CHECK(github.requests_to("/app/installations/").size() == 1);
  for (const RecordedRequest& request : github.requests_to("/repos/")) {
    CHECK(request.header("Authorization") == "Bearer " + FakeGithub::installation_token(1));
  }
}

// --- GitLab ---------------------------------------------------------------------------------

std::string gitlab_instance(ServeRig& rig, const FakeGitlab& gitlab) {
  std::ofstream(rig.dir().file("gitlab-token")) << FakeGitlab::kToken << "\n";
  // GitLab takes an access token over HTTPS with any user name; forgehand says oauth2.
  rig.git().add_user("oauth2", FakeGitlab::kToken);
  return "{name: gitlab, type: gitlab, api_url: \"" + gitlab.api_url() +
         "\", bot_login: forgehand-bot, token: \"file:" + rig.dir().file("gitlab-token") + "\"}";
}

// Project 5 is alice/widgets on the git server; user 30 is alice, a Developer (the fake's
// member ids are their access levels).
void gitlab_project(ServeRig& rig, json& body) {
  json& project = body["project"];
  project["id"] = 5;
  project["path_with_namespace"] = ServeRig::kRepo;
  project["web_url"] = "https://gitlab.example.com/alice/widgets";
  project["git_http_url"] = rig.git().url(ServeRig::kRepo);
  project["default_branch"] = "main";
  body["user"]["id"] = 30;
  body["user"]["username"] = "alice";
}

void check_gitlab_published(FakeGitlab& gitlab, const SessionRecord& session,
                            const std::string& base_branch) {
  CHECK(session.pull_request.number == 6);
  auto opened = sent(gitlab, "POST", "/api/v4/projects/5/merge_requests");
  REQUIRE(opened.size() == 1);
  json merge_request = json::parse(opened[0].body);
  CHECK(merge_request["target_branch"] == base_branch);
  CHECK(merge_request["source_branch"] == session.head_ref);
  CHECK(contains(merge_request["description"].get<std::string>(), "scripted"));
  CHECK(contains(merge_request["description"].get<std::string>(), session.id));

  CHECK(session.acknowledgement_comment_id == "302");
  auto edits =
      sent(gitlab, "PUT",
           "/api/v4/projects/5/merge_requests/" + std::to_string(session.number) + "/notes/302");
  REQUIRE_FALSE(edits.empty());
  check_result_comment(json::parse(edits.back().body)["body"], session, "/merge_requests/6");

  auto statuses = sent(gitlab, "POST", "/api/v4/projects/5/statuses/" + session.head_sha);
  REQUIRE(statuses.size() == 1);
  json status = json::parse(statuses[0].body);
  CHECK(status["state"] == "success");
  CHECK(status["name"] == "forgehand");
  CHECK(contains(status["target_url"].get<std::string>(), "/merge_requests/6"));
}

// --- Gitea ----------------------------------------------------------------------------------

// `type` is gitea or forgejo; the instance has the same name.
std::string gitea_instance(ServeRig& rig, const FakeGitea& gitea,
                           const std::string& type = "gitea") {
  std::ofstream(rig.dir().file("gitea-token")) << FakeGitea::kToken << "\n";
  rig.git().add_user(FakeGitea::kBotLogin, FakeGitea::kToken);
  return "{name: " + type + ", type: " + type + ", api_url: \"" + gitea.api_url() +
         "\", bot_login: forgehand-bot, token: \"file:" + rig.dir().file("gitea-token") + "\"}";
}

void check_gitea_published(FakeGitea& gitea, const SessionRecord& session,
                           const std::string& base_branch) {
  CHECK(session.pull_request.number == 14);
  auto opened = sent(gitea, "POST", "/api/v1/repos/alice/widgets/pulls");
  REQUIRE(opened.size() == 1);
  json pull = json::parse(opened[0].body);
  CHECK(pull["base"] == base_branch);
  CHECK(pull["head"] == session.head_ref);
  CHECK(contains(pull["body"].get<std::string>(), "scripted"));
  CHECK(contains(pull["body"].get<std::string>(), session.id));

  CHECK(session.acknowledgement_comment_id == "1046");
  auto edits = sent(gitea, "PATCH", "/api/v1/repos/alice/widgets/issues/comments/1046");
  REQUIRE_FALSE(edits.empty());
  check_result_comment(json::parse(edits.back().body)["body"], session, "/pulls/14");

  auto statuses = sent(gitea, "POST", "/api/v1/repos/alice/widgets/statuses/" + session.head_sha);
  REQUIRE(statuses.size() == 1);
  json status = json::parse(statuses[0].body);
  CHECK(status["state"] == "success");
  CHECK(status["context"] == "forgehand");
}

}  // namespace

TEST_CASE("e2e github: a fix comment on a pull request ends as a pull request into its head") {
  ServeRig rig;
  FakeGithub github;
  github.set_file(".forgehand.yml", "main", "commands: true\n");
  github.set_pull(2, "feature", rig.feature_sha());
  github.set_role("alice", "write");
  ScriptedOpenAi model(testing::stats_fix_script());
  rig.configure(github_instance(rig, github), model.url() + "/v1");
  rig.start();

  CHECK(rig.deliver(ForgeKind::github, "github", "github/issue_comment.created.pull_request",
                    [&](json& body) {
                      github_repository(rig, body);
                      body["comment"]["body"] = "@forgehand fix range_sum";
                      body["comment"]["user"]["login"] = "alice";
                    }) == 202);
  auto session = rig.wait_for_session(finished);
  REQUIRE_MESSAGE(session.has_value(), rig.logs());
  INFO(rig.logs());

  // Seen, acknowledged with the session id, then done.
  auto reactions =
      sent(github, "POST", "/repos/alice/widgets/issues/comments/1543289016/reactions");
  REQUIRE(reactions.size() == 1);
  CHECK(json::parse(reactions[0].body)["content"] == "eyes");
  auto posted = sent(github, "POST", "/repos/alice/widgets/issues/2/comments");
  REQUIRE(posted.size() == 1);
  CHECK(contains(json::parse(posted[0].body)["body"].get<std::string>(), session->id));

  check_session_and_push(rig, model, *session, rig.feature_sha());
  check_github_published(github, *session, "feature");
  CHECK(session->task == TaskType::comment_task);
  CHECK(session->number == 2);
  CHECK(rig.stop() == 0);
}

TEST_CASE(
    "e2e github: a failed CI run on a pull request ends as a fix pull request into its head") {
  ServeRig rig;
  FakeGithub github;
  github.set_file(".forgehand.yml", "main", "ci_fix: true\n");
  github.set_pull(42, "feature", rig.feature_sha());
  ScriptedOpenAi model(testing::stats_fix_script());
  rig.configure(github_instance(rig, github), model.url() + "/v1");
  rig.start();

  CHECK(rig.deliver(ForgeKind::github, "github", "github/workflow_run.completed.failure",
                    [&](json& body) { failed_workflow_run(rig, body); }) == 202);
  auto session = rig.wait_for_session(finished);
  REQUIRE_MESSAGE(session.has_value(), rig.logs());
  INFO(rig.logs());

  // The run's failed jobs and their logs, fetched from storage without the token, went to the
  // model.
  CHECK(sent(github, "GET", "/repos/alice/widgets/actions/runs/6112488003/jobs").size() == 1);
  for (const char* job : {"399444497", "399444498"}) {
    auto downloads = sent(github, "GET", std::string("/job-logs/") + job);
    REQUIRE(downloads.size() == 1);
    CHECK(downloads[0].header("Authorization").empty());
  }
  CHECK(contains(first_prompt(model), "Process completed with exit code 1."));

  // Acknowledged on the failing pull request, with the session id.
  auto posted = sent(github, "POST", "/repos/alice/widgets/issues/42/comments");
  REQUIRE(posted.size() == 1);
  CHECK(contains(json::parse(posted[0].body)["body"].get<std::string>(), session->id));

  check_session_and_push(rig, model, *session, rig.feature_sha());
  check_github_published(github, *session, "feature");
  CHECK(session->task == TaskType::ci_fix);
  CHECK(session->trigger.event == EventKind::ci_failed);
  CHECK(session->trigger.head_sha == rig.feature_sha());
  CHECK(session->number == 42);
  CHECK(contains(rig.git().git(ServeRig::kRepo, {"log", "-1", "--format=%s", session->head_sha}),
                 "fix the failing CI on #42"));
  CHECK(rig.stop() == 0);
}

// GitHub Actions sends a check_run for each failed job before its workflow_run: the check run's
// suite is no workflow run, its failed check runs are the failed jobs.
TEST_CASE(
    "e2e github: a failed check run on a pull request ends as a fix pull request into its head") {
  ServeRig rig;
  FakeGithub github;
  github.set_file(".forgehand.yml", "main", "ci_fix: true\n");
  github.set_pull(2, "feature", rig.feature_sha());
  github.add_check_suite("118578147");
  ScriptedOpenAi model(testing::stats_fix_script());
  rig.configure(github_instance(rig, github), model.url() + "/v1");
  rig.start();

  CHECK(rig.deliver(ForgeKind::github, "github", "github/check_run.completed.failure",
                    [&](json& body) { failed_check_run(rig, body); }) == 202);
  auto session = rig.wait_for_session(finished);
  REQUIRE_MESSAGE(session.has_value(), rig.logs());
  INFO(rig.logs());

  CHECK(sent(github, "GET", "/repos/alice/widgets/check-suites/118578147/check-runs").size() == 1);
  CHECK(sent(github, "GET", "/repos/alice/widgets/actions/runs/118578147/jobs").empty());
  for (const char* job : {"399444497", "399444498"}) {
    CHECK(sent(github, "GET", std::string("/job-logs/") + job).size() == 1);
  }
  CHECK(contains(first_prompt(model), "Process completed with exit code 1."));

  check_session_and_push(rig, model, *session, rig.feature_sha());
  check_github_published(github, *session, "feature");
  CHECK(session->task == TaskType::ci_fix);
  CHECK(session->number == 2);
  CHECK(rig.stop() == 0);
}

// GitHub reports one failure several times (check_run, workflow_job, check_suite, workflow_run),
// within moments: one fix is attempted, the other reports are turned down.
TEST_CASE("e2e github: a failure reported as a check run and a workflow run starts one session") {
  ServeRig rig;
  FakeGithub github;
  github.set_file(".forgehand.yml", "main", "ci_fix: true\n");
  github.set_pull(42, "feature", rig.feature_sha());
  github.add_check_suite("118578147");
  ScriptedOpenAi model(testing::stats_fix_script());
  rig.configure(github_instance(rig, github), model.url() + "/v1");
  rig.start();

  CHECK(rig.deliver(ForgeKind::github, "github", "github/check_run.completed.failure",
                    [&](json& body) {
                      failed_check_run(rig, body);
                      body["check_run"]["pull_requests"][0]["number"] = 42;
                    }) == 202);
  CHECK(rig.deliver(ForgeKind::github, "github", "github/workflow_run.completed.failure",
                    [&](json& body) { failed_workflow_run(rig, body); }) == 202);
  REQUIRE_MESSAGE(rig.wait_for_log("\"msg\":\"event handled\"", 2), rig.logs());
  auto session = rig.wait_for_session(finished);
  REQUIRE_MESSAGE(session.has_value(), rig.logs());
  INFO(rig.logs());

  CHECK(rig.sessions().size() == 1);
  CHECK(sent(github, "POST", "/repos/alice/widgets/issues/42/comments").size() == 1);
  CHECK(contains(rig.logs(), "already made 1 automatic fix attempt(s) for this commit"));
  check_session_and_push(rig, model, *session, rig.feature_sha());
  CHECK(rig.stop() == 0);
}

TEST_CASE("e2e gitlab: a fix note on a merge request ends as a merge request into its source") {
  ServeRig rig;
  FakeGitlab gitlab;
  gitlab.set_file(".forgehand.yml", "main", "commands: true\n");
  gitlab.set_pull(1, "feature", rig.feature_sha());
  ScriptedOpenAi model(testing::stats_fix_script());
  rig.configure(gitlab_instance(rig, gitlab), model.url() + "/v1");
  rig.start();

  CHECK(rig.deliver(ForgeKind::gitlab, "gitlab", "gitlab/note_hook.merge_request", [&](json& body) {
    gitlab_project(rig, body);
    body["object_attributes"]["note"] = "@forgehand-bot fix range_sum";
    json& merge_request = body["merge_request"];
    merge_request["source_branch"] = "feature";
    merge_request["target_branch"] = "main";
    merge_request["last_commit"]["id"] = rig.feature_sha();
  }) == 202);
  auto session = rig.wait_for_session(finished);
  REQUIRE_MESSAGE(session.has_value(), rig.logs());
  INFO(rig.logs());

  auto awards = sent(gitlab, "POST", "/api/v4/projects/5/merge_requests/1/notes/1244/award_emoji");
  REQUIRE(awards.size() == 1);
  CHECK(json::parse(awards[0].body)["name"] == "eyes");
  auto posted = sent(gitlab, "POST", "/api/v4/projects/5/merge_requests/1/notes");
  REQUIRE(posted.size() == 1);
  CHECK(contains(json::parse(posted[0].body)["body"].get<std::string>(), session->id));

  check_session_and_push(rig, model, *session, rig.feature_sha());
  check_gitlab_published(gitlab, *session, "feature");
  CHECK(session->task == TaskType::comment_task);
  CHECK(session->number == 1);
  CHECK(rig.stop() == 0);
}

TEST_CASE(
    "e2e gitlab: a failed merge request pipeline ends as a fix merge request into its source") {
  ServeRig rig;
  FakeGitlab gitlab;
  gitlab.set_file(".forgehand.yml", "main", "ci_fix: true\n");
  gitlab.set_pull(12, "feature", rig.feature_sha());
  ScriptedOpenAi model(testing::stats_fix_script());
  rig.configure(gitlab_instance(rig, gitlab), model.url() + "/v1");
  rig.start();

  CHECK(rig.deliver(ForgeKind::gitlab, "gitlab", "gitlab/pipeline_hook.failed.mr", [&](json& body) {
    gitlab_project(rig, body);
    body["object_attributes"]["sha"] = rig.feature_sha();
    body["object_attributes"]["ref"] = "feature";
    body["commit"]["id"] = rig.feature_sha();
    json& merge_request = body["merge_request"];
    merge_request["source_branch"] = "feature";
    merge_request["source_project_id"] = 5;
    merge_request["target_project_id"] = 5;
  }) == 202);
  auto session = rig.wait_for_session(finished);
  REQUIRE_MESSAGE(session.has_value(), rig.logs());
  INFO(rig.logs());

  // The pipeline's failed jobs (one allowed to fail, left out) and the failing job's trace went
  // to the model.
  CHECK(sent(gitlab, "GET", "/api/v4/projects/5/pipelines/1287/jobs").size() == 1);
  CHECK(sent(gitlab, "GET", "/api/v4/projects/5/jobs/9019/trace").size() == 1);
  CHECK(sent(gitlab, "GET", "/api/v4/projects/5/jobs/9022/trace").empty());
  CHECK(contains(first_prompt(model), "FAILED tests/test_net.py::test_retry"));

  auto posted = sent(gitlab, "POST", "/api/v4/projects/5/merge_requests/12/notes");
  REQUIRE(posted.size() == 1);
  CHECK(contains(json::parse(posted[0].body)["body"].get<std::string>(), session->id));

  check_session_and_push(rig, model, *session, rig.feature_sha());
  check_gitlab_published(gitlab, *session, "feature");
  CHECK(session->task == TaskType::ci_fix);
  CHECK(session->trigger.event == EventKind::ci_failed);
  CHECK(session->trigger.head_sha == rig.feature_sha());
  CHECK(session->number == 12);
  CHECK(rig.stop() == 0);
}

TEST_CASE(
    "e2e gitea: a failed workflow run on a pull request ends as a fix pull request into its head") {
  ServeRig rig;
  FakeGitea gitea;
  gitea.set_file(".forgehand.yml", "main", "ci_fix: true\n");
  gitea.set_pull(12, "feature", rig.feature_sha());
  ScriptedOpenAi model(testing::stats_fix_script());
  rig.configure(gitea_instance(rig, gitea), model.url() + "/v1");
  rig.start();

  CHECK(rig.deliver(ForgeKind::gitea, "gitea", "gitea/workflow_run.completed.failure",
                    [&](json& body) {
                      body["workflow_run"]["head_sha"] = rig.feature_sha();
                      body["sender"]["login"] = "alice";
                    }) == 202);
  auto session = rig.wait_for_session(finished);
  REQUIRE_MESSAGE(session.has_value(), rig.logs());
  INFO(rig.logs());

  // Gitea's workflow_run names no pull request: it is found among the open ones by its head.
  CHECK_FALSE(sent(gitea, "GET", "/api/v1/repos/alice/widgets/pulls").empty());
  CHECK(sent(gitea, "GET", "/api/v1/repos/alice/widgets/actions/runs/318/jobs").size() == 1);
  CHECK(sent(gitea, "GET", "/api/v1/repos/alice/widgets/actions/jobs/1201/logs").size() == 1);
  CHECK(contains(first_prompt(model), "--- FAIL: TestRetry"));

  auto posted = sent(gitea, "POST", "/api/v1/repos/alice/widgets/issues/12/comments");
  REQUIRE(posted.size() == 1);
  CHECK(contains(json::parse(posted[0].body)["body"].get<std::string>(), session->id));

  check_session_and_push(rig, model, *session, rig.feature_sha());
  check_gitea_published(gitea, *session, "feature");
  CHECK(session->task == TaskType::ci_fix);
  CHECK(session->trigger.event == EventKind::ci_failed);
  CHECK(session->trigger.head_sha == rig.feature_sha());
  CHECK(session->number == 12);
  CHECK(rig.stop() == 0);
}

TEST_CASE(
    "e2e forgejo: a failed action run on a pull request ends as a fix pull request into its "
    "head") {
  ServeRig rig;
  FakeGitea forgejo;
  forgejo.set_file(".forgehand.yml", "main", "ci_fix: true\n");
  forgejo.set_pull(12, "feature", rig.feature_sha());
  ScriptedOpenAi model(testing::stats_fix_script());
  rig.configure(gitea_instance(rig, forgejo, "forgejo"), model.url() + "/v1");
  rig.start();

  // Forgejo's own CI event names the pull request ("#12" as the run's ref) and its head.
  CHECK(rig.deliver(ForgeKind::forgejo, "forgejo", "forgejo/action_run_failure", [&](json& body) {
    body["run"]["commit_sha"] = rig.feature_sha();
    body["run"]["trigger_user"]["login"] = "alice";
    body["run"]["trigger_user"]["username"] = "alice";
  }) == 202);
  auto session = rig.wait_for_session(finished);
  REQUIRE_MESSAGE(session.has_value(), rig.logs());
  INFO(rig.logs());

  CHECK(sent(forgejo, "GET", "/api/v1/repos/alice/widgets/actions/runs/318/jobs").size() == 1);
  CHECK(sent(forgejo, "GET", "/api/v1/repos/alice/widgets/actions/jobs/1201/logs").size() == 1);
  CHECK(contains(first_prompt(model), "--- FAIL: TestRetry"));
  auto posted = sent(forgejo, "POST", "/api/v1/repos/alice/widgets/issues/12/comments");
  REQUIRE(posted.size() == 1);
  CHECK(contains(json::parse(posted[0].body)["body"].get<std::string>(), session->id));

  check_session_and_push(rig, model, *session, rig.feature_sha());
  check_gitea_published(forgejo, *session, "feature");
  CHECK(session->instance == "forgejo");
  CHECK(session->task == TaskType::ci_fix);
  CHECK(session->trigger.head_sha == rig.feature_sha());
  CHECK(session->number == 12);
  CHECK(rig.stop() == 0);
}
