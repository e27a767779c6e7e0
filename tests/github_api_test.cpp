// The GitHub adapter's REST calls against the fake GitHub: method, path, headers and body of
// every operation, the 302 log download, retries and rate limits over real HTTP.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "forges/github/api.h"
#include "support/fake_github.h"
#include "support/fixtures.h"
#include "support/keys.h"

using namespace forgehand;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

struct Rig {
  testing::FakeGithub github;
  testing::ManualClock clock;
  testing::RecordingSleeper sleeper;
  HttplibClient http;
  ApiCaller api{http, clock, sleeper, "github"};
  github::InstallationTokens tokens{
      api, github.url(),
      *github::AppJwtSigner::create(Secret(testing::generate_rsa_key().private_pem), "42"), clock};
  github::GithubApi client{api, github.url(), tokens};
  RepoRef repo{"octo-org/hello-world",
               "1296269",
               "https://github.com/octo-org/hello-world.git",
               "",
               "main",
               "7"};

  Rig() { github.set_now(clock.now()); }

  // The one request made to `prefix`, checked for the headers every call must carry.
  testing::RecordedRequest only_request(const std::string& prefix) {
    auto requests = github.requests_to(prefix);
    REQUIRE(requests.size() == 1);
    CHECK(requests[0].header("Authorization") == "Bearer ghs_token1");
    CHECK(requests[0].header("X-GitHub-Api-Version") == "2022-11-28");
    CHECK(requests[0].header("User-Agent") == "forgehand");
    return requests[0];
  }
};

}  // namespace

TEST_CASE("comments: post, edit, react") {
  Rig rig;
  IssueRef issue{rig.repo, 12, true};
  auto posted = rig.client.post_comment(issue, "Working on it (session fh-1).");
  REQUIRE_MESSAGE(posted.has_value(), posted.error().message);
  CHECK(posted->id == "1001");
  CHECK(posted->url == "https://github.com/octo-org/hello-world/issues/12#issuecomment-1001");
  auto post = rig.only_request("/repos/octo-org/hello-world/issues/12/comments");
  CHECK(post.method == "POST");
  CHECK(json::parse(post.body) == json{{"body", "Working on it (session fh-1)."}});

  REQUIRE(rig.client.edit_comment(issue, "1001", "Done."));
  auto edit = rig.github.requests_to("/repos/octo-org/hello-world/issues/comments/1001");
  REQUIRE(edit.size() == 1);
  CHECK(edit[0].method == "PATCH");
  CHECK(json::parse(edit[0].body) == json{{"body", "Done."}});

  for (auto [reaction, name] : {std::pair{Reaction::eyes, "eyes"},
                                {Reaction::rocket, "rocket"},
                                {Reaction::confused, "confused"}}) {
    REQUIRE(rig.client.add_reaction(issue, "55", reaction));
    auto sent = rig.github.requests_to("/repos/octo-org/hello-world/issues/comments/55/reactions");
    CHECK(json::parse(sent.back().body) == json{{"content", name}});
  }
}

TEST_CASE("a comment over GitHub's 65,536-character limit is cut with a visible note") {
  Rig rig;
  std::string long_body(70'000, 'x');
  REQUIRE(rig.client.post_comment(IssueRef{rig.repo, 1, false}, long_body));
  auto sent = json::parse(rig.only_request("/repos/octo-org/hello-world/issues/1/comments").body);
  std::string body = sent["body"];
  CHECK(body.size() <= github::kMaxCommentLength);
  CHECK(body.find("cut to fit the forge's limit; 70000 bytes were written") != std::string::npos);
}

TEST_CASE("pull requests: open, get, find by head commit") {
  Rig rig;
  auto opened = rig.client.open_pull_request(
      rig.repo, {"Fix the flaky test", "Summary...", "forgehand/fh-1-fix-flaky", "main", true});
  REQUIRE_MESSAGE(opened.has_value(), opened.error().message);
  CHECK(opened->number == 43);
  CHECK(opened->url == "https://github.com/octo-org/hello-world/pull/43");
  CHECK_FALSE(opened->from_fork);
  auto open = rig.only_request("/repos/octo-org/hello-world/pulls");
  CHECK(open.method == "POST");
  CHECK(json::parse(open.body) == json{{"title", "Fix the flaky test"},
                                       {"head", "forgehand/fh-1-fix-flaky"},
                                       {"base", "main"},
                                       {"body", "Summary..."},
                                       {"draft", true},
                                       {"maintainer_can_modify", true}});

  auto duplicate = rig.client.open_pull_request(rig.repo, {"t", "b", "forgehand/exists", "main"});
  REQUIRE_FALSE(duplicate.has_value());
  CHECK(duplicate.error().message ==
        "github: open pull request: HTTP 422: Validation Failed: A pull request already exists "
        "for o:forgehand/exists.");

  auto fork = rig.client.pull_request(rig.repo, 42);
  REQUIRE(fork.has_value());
  CHECK(fork->from_fork);
  CHECK(fork->head_repo == "contributor/hello-world");
  CHECK(fork->head_ref == "fix-typo");
  CHECK(fork->head_sha == "e5bd3914e2e596debea16f433f57875b5b90bcd6");
  CHECK(fork->base_ref == "main");
  auto deleted_fork = rig.client.pull_request(rig.repo, 7);
  REQUIRE(deleted_fork.has_value());
  CHECK(deleted_fork->from_fork);
  CHECK(rig.client.pull_request(rig.repo, 999).error().code == ErrorCode::not_found);

  std::string sha = "e5bd3914e2e596debea16f433f57875b5b90bcd6";
  auto found = rig.client.open_pull_requests_for_commit(rig.repo, sha);
  REQUIRE(found.has_value());
  REQUIRE(found->size() == 1);  // the merged one is left out
  CHECK((*found)[0].number == 42);
  CHECK(rig.github.requests_to("/repos/octo-org/hello-world/commits/" + sha + "/pulls").size() ==
        1);
}

TEST_CASE("files at a ref: raw bytes, or nothing when absent") {
  Rig rig;
  auto config = rig.client.read_file(rig.repo, ".forgehand.yml", "main");
  REQUIRE(config.has_value());
  REQUIRE(config->has_value());
  CHECK(**config == "commands: true\nci_fix: false\n");
  auto request = rig.only_request("/repos/octo-org/hello-world/contents/");
  CHECK(request.path == "/repos/octo-org/hello-world/contents/.forgehand.yml?ref=main");
  CHECK(request.header("Accept") == "application/vnd.github.raw+json");

  auto absent = rig.client.read_file(rig.repo, "docs/a b.md", "main");
  REQUIRE(absent.has_value());
  CHECK_FALSE(absent->has_value());
  // Sent as docs/a%20b.md; the server decodes it back.
  CHECK(rig.github.requests_to("/repos/octo-org/hello-world/contents/docs/a b.md").size() == 1);
}

TEST_CASE("permissions prefer role_name, and an unknown user has none") {
  Rig rig;
  CHECK(rig.client.permission(rig.repo, Actor{"maintainer", "1"}) == Permission::maintain);
  CHECK(rig.client.permission(rig.repo, Actor{"visitor", "2"}) == Permission::read);
  CHECK(rig.client.permission(rig.repo, Actor{"ghost", "3"}) == Permission::none);
  CHECK(rig.github.requests_to("/repos/octo-org/hello-world/collaborators/maintainer/permission")
            .size() == 1);
}

TEST_CASE("failed jobs of a run, and a job's log fetched from the redirect without the token") {
  Rig rig;
  auto jobs = rig.client.failed_jobs(rig.repo, "30433642");
  REQUIRE(jobs.has_value());
  REQUIRE(jobs->size() == 2);
  CHECK((*jobs)[0].id == "399444497");
  CHECK((*jobs)[0].name == "test");
  CHECK((*jobs)[1].conclusion == "timed_out");
  CHECK(rig.only_request("/repos/octo-org/hello-world/actions/runs/").path ==
        "/repos/octo-org/hello-world/actions/runs/30433642/jobs?filter=latest&per_page=100");

  auto log = rig.client.job_log(rig.repo, "399444497");
  REQUIRE_MESSAGE(log.has_value(), log.error().message);
  CHECK(log->find("Process completed with exit code 1") != std::string::npos);
  auto download = rig.github.requests_to("/job-logs/399444497");
  REQUIRE(download.size() == 1);
  CHECK(download[0].header("Authorization").empty());
  CHECK(download[0].path == "/job-logs/399444497?sig=signed-and-short-lived");
}

TEST_CASE("failed check runs of a check suite, which is no workflow run") {
  Rig rig;
  rig.github.add_check_suite("118578147");
  auto jobs = rig.client.failed_jobs(rig.repo, "check-suite:118578147");
  REQUIRE_MESSAGE(jobs.has_value(), jobs.error().message);
  REQUIRE(jobs->size() == 2);
  CHECK((*jobs)[0].id == "399444497");
  CHECK((*jobs)[0].name == "test");
  CHECK((*jobs)[0].url == "https://github.com/octo-org/hello-world/runs/399444497");
  CHECK((*jobs)[1].conclusion == "timed_out");
  CHECK(rig.only_request("/repos/octo-org/hello-world/check-suites/").path ==
        "/repos/octo-org/hello-world/check-suites/118578147/check-runs?filter=latest&per_page=100");
  CHECK(rig.github.requests_to("/repos/octo-org/hello-world/actions/").empty());
}

TEST_CASE("commit statuses and check runs") {
  Rig rig;
  std::string sha = "6dcb09b5b57875f334f61aebed695e2e4193db5e";
  REQUIRE(rig.client.set_commit_status(
      rig.repo, {sha, CommitState::failure, "forgehand", std::string(200, 'd'), "https://fh/s/1"}));
  auto status = json::parse(rig.only_request("/repos/octo-org/hello-world/statuses/" + sha).body);
  CHECK(status["state"] == "failure");
  CHECK(status["context"] == "forgehand");
  CHECK(status["description"].get<std::string>().size() == 140);
  CHECK(status["target_url"] == "https://fh/s/1");

  CheckRun run;
  run.head_sha = sha;
  run.title = "Fixing";
  run.summary = "Session fh-1";
  auto created = rig.client.upsert_check_run(rig.repo, run);
  REQUIRE(created.has_value());
  CHECK(*created == "4");
  auto create = rig.github.requests_to("/repos/octo-org/hello-world/check-runs");
  CHECK(json::parse(create[0].body) ==
        json{{"name", "forgehand"},
             {"status", "in_progress"},
             {"head_sha", sha},
             {"output", {{"title", "Fixing"}, {"summary", "Session fh-1"}}}});

  run.id = *created;
  run.status = "completed";
  run.conclusion = "success";
  REQUIRE(rig.client.upsert_check_run(rig.repo, run));
  auto update = rig.github.requests_to("/repos/octo-org/hello-world/check-runs/4");
  REQUIRE(update.size() == 1);
  CHECK(update[0].method == "PATCH");
  auto body = json::parse(update[0].body);
  CHECK(body["conclusion"] == "success");
  CHECK_FALSE(body.contains("head_sha"));
}

TEST_CASE("git credentials are x-access-token and the installation token") {
  Rig rig;
  auto credentials = rig.client.git_credentials(rig.repo);
  REQUIRE(credentials.has_value());
  CHECK(credentials->clone_url == "https://github.com/octo-org/hello-world.git");
  CHECK(credentials->username == "x-access-token");
  CHECK(credentials->password.reveal() == "ghs_token1");
  RepoRef uninstalled = rig.repo;
  uninstalled.installation_id.clear();
  CHECK(rig.client.git_credentials(uninstalled).error().code == ErrorCode::invalid_argument);
}

TEST_CASE("over real HTTP: a 502 is retried, a secondary rate limit is waited out") {
  Rig rig;
  IssueRef issue{rig.repo, 3, false};
  REQUIRE(rig.tokens.token("7"));  // fetch the token first, so injections hit the comment call
  rig.github.inject({502, R"({"message":"Server Error"})", {}});
  rig.github.inject(
      {403, R"({"message":"You have exceeded a secondary rate limit."})", {{"Retry-After", "30"}}});
  auto posted = rig.client.post_comment(issue, "hello");
  REQUIRE_MESSAGE(posted.has_value(), posted.error().message);
  CHECK(rig.github.requests_to("/repos/octo-org/hello-world/issues/3/comments").size() == 3);
  CHECK(rig.sleeper.slept() == std::vector<std::chrono::milliseconds>{500ms, 30000ms});

  rig.github.inject({429, R"({"message":"API rate limit exceeded"})", {{"Retry-After", "3600"}}});
  auto limited = rig.client.post_comment(issue, "hello again");
  REQUIRE_FALSE(limited.has_value());
  CHECK(limited.error().code == ErrorCode::rate_limited);
  CHECK(
      limited.error().message ==
      "github: post comment: HTTP 429: API rate limit exceeded (the service asks to wait 3600 s)");
}

TEST_CASE("team membership: active members only, pending, outsiders and unknown teams are not") {
  Rig rig;
  rig.github.add_team("octo-org", "core");
  rig.github.add_team_member("octo-org", "core", "mona");
  rig.github.add_team_member("octo-org", "core", "hubot", "pending");

  CHECK(rig.client.is_team_member(rig.repo, "octo-org/core", Actor{"mona", "1"}) == true);
  auto request = rig.only_request("/orgs/");
  CHECK(request.method == "GET");
  CHECK(request.path == "/orgs/octo-org/teams/core/memberships/mona");

  CHECK(rig.client.is_team_member(rig.repo, "octo-org/core", Actor{"hubot", "2"}) == false);
  CHECK(rig.client.is_team_member(rig.repo, "octo-org/core", Actor{"stranger", "3"}) == false);
  CHECK(rig.client.is_team_member(rig.repo, "octo-org/ghosts", Actor{"mona", "1"}) == false);
  // Slugs are lower case; GitHub ignores the organization's case.
  CHECK(rig.client.is_team_member(rig.repo, "Octo-Org/Core", Actor{"mona", "1"}) == true);
  CHECK(rig.github.requests_to("/orgs/Octo-Org/teams/core/memberships/mona").size() == 1);
}

TEST_CASE("team membership without the App's Members permission is forbidden, naming it") {
  Rig rig;
  rig.github.add_team_member("octo-org", "core", "mona");
  rig.github.deny_members_permission();
  auto result = rig.client.is_team_member(rig.repo, "octo-org/core", Actor{"mona", "1"});
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().code == ErrorCode::forbidden);
  CHECK(result.error().http_status == 403);
  CHECK(result.error().message ==
        "github: get team membership: HTTP 403: Resource not accessible by integration (team "
        "allowlists need the GitHub App's organization permission Members: read, granted and "
        "accepted for octo-org)");
  CHECK(rig.sleeper.slept().empty());  // not taken for a secondary rate limit
}

TEST_CASE("a malformed team or an actor without a login is invalid_argument, asked of no one") {
  Rig rig;
  for (const char* team : {"", "octo-org", "octo-org/", "/core", "octo-org//core",
                           "octo-org/core/extra", "octo-org/core team", "octo-org/..", "../core",
                           "octo-org/co%72e", "octo-org/core?per_page=1"}) {
    CAPTURE(team);
    auto result = rig.client.is_team_member(rig.repo, team, Actor{"mona", "1"});
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().code == ErrorCode::invalid_argument);
  }
  CHECK(rig.client.is_team_member(rig.repo, "octo-org", Actor{"mona", "1"}).error().message ==
        "github: team \"octo-org\": expected <organization>/<team>");
  CHECK(rig.client.is_team_member(rig.repo, "octo-org/core team", Actor{"mona", "1"})
            .error()
            .message ==
        "github: team \"octo-org/core team\": names may hold only letters, digits, '-', '_' and "
        "'.'");
  CHECK(rig.client.is_team_member(rig.repo, "octo-org/core", Actor{"", "1"}).error().code ==
        ErrorCode::invalid_argument);
  CHECK(rig.github.requests_to("/orgs/").empty());
}
