// The Gitea/Forgejo adapter's REST calls against the fake Gitea, including what degrades: no
// Actions jobs API on older servers, no permission reads unless the bot is repository admin.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "forges/gitea/api.h"
#include "support/fake_gitea.h"
#include "support/fixtures.h"

using namespace forgehand;
using nlohmann::json;

namespace {

struct Rig {
  testing::FakeGitea gitea;
  testing::ManualClock clock;
  HttplibClient http;
  ApiCaller api{http, clock, real_sleeper(), "forgejo"};
  gitea::GiteaApi client{api, "forgejo", gitea.api_url(), Secret(testing::FakeGitea::kToken),
                         "forgehand-bot"};
  RepoRef repo{"alice/widgets",
               "87",
               "https://gitea.example.com/alice/widgets.git",
               "https://gitea.example.com/alice/widgets",
               "main",
               ""};

  explicit Rig(bool actions_api = true, bool bot_is_admin = true)
      : gitea(actions_api, bot_is_admin) {}

  testing::RecordedRequest only_request(const std::string& prefix) {
    auto requests = gitea.requests_to("/api/v1/repos/alice/widgets" + prefix);
    REQUIRE(requests.size() == 1);
    CHECK(requests[0].header("Authorization") == "token gitea-token");
    return requests[0];
  }
};

}  // namespace

TEST_CASE("comments, edits and reactions") {
  Rig rig;
  IssueRef pr{rig.repo, 12, true};
  auto posted = rig.client.post_comment(pr, "Working on it.");
  REQUIRE_MESSAGE(posted.has_value(), posted.error().message);
  CHECK(posted->id == "1046");
  CHECK(posted->url == "https://gitea.example.com/alice/widgets/issues/12#issuecomment-1046");
  CHECK(json::parse(rig.only_request("/issues/12/comments").body) ==
        json{{"body", "Working on it."}});

  REQUIRE(rig.client.edit_comment(pr, "1046", "Done."));
  auto edit = rig.only_request("/issues/comments/1046");
  CHECK(edit.method == "PATCH");

  for (auto [reaction, name] : {std::pair{Reaction::eyes, "eyes"},
                                {Reaction::rocket, "rocket"},
                                {Reaction::confused, "confused"}}) {
    REQUIRE(rig.client.add_reaction(pr, "1042", reaction));
    auto sent = rig.gitea.requests_to("/api/v1/repos/alice/widgets/issues/comments/1042/reactions");
    CHECK(json::parse(sent.back().body) == json{{"content", name}});
  }
}

TEST_CASE("pull requests: open (WIP for drafts), get a fork's, find by head commit") {
  Rig rig;
  auto opened = rig.client.open_pull_request(
      rig.repo, {"Fix the flaky test", "Summary", "forgehand/fh-1-fix", "main", true});
  REQUIRE_MESSAGE(opened.has_value(), opened.error().message);
  CHECK(opened->number == 14);
  CHECK(json::parse(rig.only_request("/pulls").body) == json{{"head", "forgehand/fh-1-fix"},
                                                             {"base", "main"},
                                                             {"title", "WIP: Fix the flaky test"},
                                                             {"body", "Summary"}});
  auto duplicate = rig.client.open_pull_request(rig.repo, {"t", "b", "forgehand/exists", "main"});
  REQUIRE_FALSE(duplicate.has_value());
  CHECK(duplicate.error().message ==
        "forgejo: open pull request: HTTP 409: pull request already exists for these targets");

  auto fork = rig.client.pull_request(rig.repo, 12);
  REQUIRE(fork.has_value());
  CHECK(fork->from_fork);
  CHECK(fork->head_repo == "bob/widgets");

  auto found = rig.client.open_pull_requests_for_commit(rig.repo,
                                                        "5e9c1d7a3f2b8e4c6a0d9f1b3e5c7a2d4f6b8e01");
  REQUIRE(found.has_value());
  REQUIRE(found->size() == 1);
  CHECK((*found)[0].number == 12);
  CHECK(rig.gitea.requests_to("/api/v1/repos/alice/widgets/pulls?").front().path ==
        "/api/v1/repos/alice/widgets/pulls?limit=50&page=1&state=open");
}

TEST_CASE("files come from the raw endpoint, absent is nothing") {
  Rig rig;
  auto config = rig.client.read_file(rig.repo, ".forgehand.yml", "main");
  REQUIRE(config.has_value());
  CHECK(config->value() == "commands: true\n");
  auto absent = rig.client.read_file(rig.repo, "AGENTS.md", "main");
  REQUIRE(absent.has_value());
  CHECK_FALSE(absent->has_value());
}

TEST_CASE("permission: owner is admin, without admin rights the error says what to do") {
  Rig rig;
  CHECK(rig.client.permission(rig.repo, Actor{"alice", "1"}) == Permission::admin);
  CHECK(rig.client.permission(rig.repo, Actor{"bob", "2"}) == Permission::write);

  Rig restricted(true, false);
  auto denied = restricted.client.permission(restricted.repo, Actor{"bob", "2"});
  REQUIRE_FALSE(denied.has_value());
  CHECK(denied.error().code == ErrorCode::forbidden);
  CHECK(denied.error().message.find("make the bot an admin of alice/widgets") != std::string::npos);
}

TEST_CASE("Actions jobs and logs where the server has them") {
  Rig rig;
  auto jobs = rig.client.failed_jobs(rig.repo, "318");
  REQUIRE(jobs.has_value());
  REQUIRE(jobs->size() == 1);
  CHECK((*jobs)[0].id == "1201");
  auto log = rig.client.job_log(rig.repo, "1201");
  REQUIRE(log.has_value());
  CHECK(log->find("--- FAIL: TestRetry") != std::string::npos);
}

TEST_CASE("without the Actions jobs API (Forgejo before v16): not_supported and the run's page") {
  Rig old(false, true);
  auto jobs = old.client.failed_jobs(old.repo, "318");
  REQUIRE_FALSE(jobs.has_value());
  CHECK(jobs.error().code == ErrorCode::not_supported);
  CHECK(jobs.error().message ==
        "forgejo: list run jobs: this server has no Actions jobs API (Gitea 1.24+, Forgejo v16+); "
        "see https://gitea.example.com/alice/widgets/actions/runs/318");
  CHECK(old.client.job_log(old.repo, "1201").error().code == ErrorCode::not_supported);
}

TEST_CASE("commit statuses and git credentials") {
  Rig rig;
  std::string sha = "5e9c1d7a3f2b8e4c6a0d9f1b3e5c7a2d4f6b8e01";
  REQUIRE(rig.client.set_commit_status(
      rig.repo, {sha, CommitState::error, "forgehand", "runner crashed", ""}));
  CHECK(json::parse(rig.only_request("/statuses/" + sha).body) ==
        json{{"state", "error"}, {"context", "forgehand"}, {"description", "runner crashed"}});
  auto credentials = rig.client.git_credentials(rig.repo);
  REQUIRE(credentials.has_value());
  CHECK(credentials->username == "forgehand-bot");
  CHECK(credentials->password.reveal() == "gitea-token");
}

TEST_CASE("team membership: the team is found by name, ignoring case, then asked about") {
  Rig rig;
  std::int64_t id = rig.gitea.add_team("acme", "Core-Reviewers", {"bob", "Carol"});
  rig.gitea.add_team("acme", "core", {"dave"});

  CHECK(rig.client.is_team_member(rig.repo, "acme/core-reviewers", Actor{"bob", "2"}) == true);
  auto list = rig.gitea.requests_to("/api/v1/orgs/acme/teams");
  REQUIRE(list.size() == 1);
  CHECK(list[0].path == "/api/v1/orgs/acme/teams?limit=50&page=1");
  CHECK(list[0].header("Authorization") == "token gitea-token");
  auto member = rig.gitea.requests_to("/api/v1/teams/");
  REQUIRE(member.size() == 1);
  CHECK(member[0].path == "/api/v1/teams/" + std::to_string(id) + "/members/bob");

  CHECK(rig.client.is_team_member(rig.repo, "ACME/CORE-REVIEWERS", Actor{"carol", "3"}) == true);
  // Exact names: "core" is not "Core-Reviewers", nor the other way round.
  CHECK(rig.client.is_team_member(rig.repo, "acme/core", Actor{"bob", "2"}) == false);
  CHECK(rig.client.is_team_member(rig.repo, "acme/core-rev", Actor{"bob", "2"}) == false);
  CHECK(rig.client.is_team_member(rig.repo, "acme/core-reviewers", Actor{"mallory", "9"}) == false);
  CHECK(rig.client.is_team_member(rig.repo, "no-such-org/core", Actor{"bob", "2"}) == false);
}

TEST_CASE("team membership: the teams list is paged, even when the server caps the page size") {
  Rig rig;
  for (int i = 0; i < 120; ++i) rig.gitea.add_team("acme", "team-" + std::to_string(i), {});
  rig.gitea.add_team("acme", "release-managers", {"erin"});
  CHECK(rig.client.is_team_member(rig.repo, "acme/release-managers", Actor{"erin", "5"}) == true);
  CHECK(rig.gitea.requests_to("/api/v1/orgs/acme/teams").size() == 3);

  Rig capped;
  capped.gitea.set_max_response_items(20);
  for (int i = 0; i < 45; ++i) capped.gitea.add_team("acme", "team-" + std::to_string(i), {});
  capped.gitea.add_team("acme", "release-managers", {"erin"});
  CHECK(capped.client.is_team_member(capped.repo, "acme/release-managers", Actor{"erin", "5"}) ==
        true);
  CHECK(capped.gitea.requests_to("/api/v1/orgs/acme/teams").size() == 3);
  // An absent team ends the search at X-Total-Count, not after ten pages.
  CHECK(capped.client.is_team_member(capped.repo, "acme/ghosts", Actor{"erin", "5"}) == false);
  CHECK(capped.gitea.requests_to("/api/v1/orgs/acme/teams").size() == 6);
}

TEST_CASE("team membership needs the bot to own the organization or be in the team") {
  Rig rig;
  rig.gitea.add_org("acme", testing::FakeGitea::BotRole::member);
  rig.gitea.add_team("acme", "reviewers", {"bob"});
  rig.gitea.add_team("acme", "bots", {"bob", testing::FakeGitea::kBotLogin});
  CHECK(rig.client.is_team_member(rig.repo, "acme/bots", Actor{"bob", "2"}) == true);
  auto denied = rig.client.is_team_member(rig.repo, "acme/reviewers", Actor{"bob", "2"});
  REQUIRE_FALSE(denied.has_value());
  CHECK(denied.error().code == ErrorCode::forbidden);
  CHECK(denied.error().message ==
        "forgejo: get team member: HTTP 403: Must be a team member (forgejo shows a team's members "
        "only to owners of acme and to the team's members: make the bot one of them, with a token "
        "that has read:organization)");

  rig.gitea.add_org("outsiders", testing::FakeGitea::BotRole::none);
  auto outside = rig.client.is_team_member(rig.repo, "outsiders/core", Actor{"bob", "2"});
  REQUIRE_FALSE(outside.has_value());
  CHECK(outside.error().code == ErrorCode::forbidden);
  CHECK(outside.error().message.starts_with(
      "forgejo: list teams: HTTP 403: Must be an organization member (forgejo shows"));
}

TEST_CASE("a malformed team is invalid_argument, asked of no one") {
  Rig rig;
  for (const char* team : {"", "acme", "acme/", "/core", "acme/core/extra", "acme/core team",
                           "acme/..", "acme/core?limit=1"}) {
    CAPTURE(team);
    auto result = rig.client.is_team_member(rig.repo, team, Actor{"bob", "2"});
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().code == ErrorCode::invalid_argument);
    CHECK(result.error().message.starts_with("forgejo: team \""));
  }
  CHECK(rig.client.is_team_member(rig.repo, "acme/core", Actor{"", "2"}).error().code ==
        ErrorCode::invalid_argument);
  CHECK(rig.gitea.requests().empty());
}
