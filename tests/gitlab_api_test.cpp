// The GitLab adapter's REST calls against the fake GitLab: method, path, headers and body of
// every operation.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "forges/gitlab/api.h"
#include "support/fake_gitlab.h"
#include "support/fixtures.h"

using namespace forgehand;
using nlohmann::json;

namespace {

struct Rig {
  testing::FakeGitlab gitlab;
  testing::ManualClock clock;
  HttplibClient http;
  ApiCaller api{http, clock, real_sleeper(), "gitlab"};
  gitlab::GitlabApi client{api, clock, gitlab.api_url(), Secret(testing::FakeGitlab::kToken)};
  RepoRef repo{"group/project",
               "5",
               "https://gitlab.example.com/group/project.git",
               "https://gitlab.example.com/group/project",
               "main",
               ""};

  testing::RecordedRequest only_request(const std::string& prefix) {
    auto requests = gitlab.requests_to("/api/v4" + prefix);
    REQUIRE(requests.size() == 1);
    CHECK(requests[0].header("PRIVATE-TOKEN") == testing::FakeGitlab::kToken);
    return requests[0];
  }
};

}  // namespace

TEST_CASE("notes on merge requests and issues, edits and award emoji") {
  Rig rig;
  IssueRef mr{rig.repo, 12, true};
  auto posted = rig.client.post_comment(mr, "Working on it.");
  REQUIRE_MESSAGE(posted.has_value(), posted.error().message);
  CHECK(posted->id == "302");
  CHECK(posted->url == "https://gitlab.example.com/group/project/-/merge_requests/12#note_302");
  auto post = rig.only_request("/projects/5/merge_requests/12/notes");
  CHECK(post.method == "POST");
  CHECK(json::parse(post.body) == json{{"body", "Working on it."}});

  REQUIRE(rig.client.post_comment(IssueRef{rig.repo, 17, false}, "On the issue."));
  rig.only_request("/projects/5/issues/17/notes");

  REQUIRE(rig.client.edit_comment(mr, "302", "Done."));
  auto edit = rig.only_request("/projects/5/merge_requests/12/notes/302");
  CHECK(edit.method == "PUT");
  CHECK(json::parse(edit.body) == json{{"body", "Done."}});

  REQUIRE(rig.client.add_reaction(mr, "1244", Reaction::eyes));
  auto award = rig.only_request("/projects/5/merge_requests/12/notes/1244/award_emoji");
  CHECK(json::parse(award.body) == json{{"name", "eyes"}});
}

TEST_CASE("projects without a numeric id are addressed by their encoded path") {
  Rig rig;
  RepoRef by_path = rig.repo;
  by_path.id.clear();
  REQUIRE(rig.client.post_comment(IssueRef{by_path, 1, true}, "hi"));
  // Sent as /projects/group%2Fproject/...; the fake server decodes it.
  CHECK(rig.gitlab.requests_to("/api/v4/projects/group/project/merge_requests/1/notes").size() ==
        1);
}

TEST_CASE("merge requests: open (draft), get (fork), find by commit, a duplicate says why") {
  Rig rig;
  auto opened = rig.client.open_pull_request(
      rig.repo, {"Fix the flaky test", "Summary", "forgehand/fh-1-fix", "main", true});
  REQUIRE_MESSAGE(opened.has_value(), opened.error().message);
  CHECK(opened->number == 6);
  CHECK(opened->state == "open");
  auto open = rig.only_request("/projects/5/merge_requests");
  CHECK(json::parse(open.body) == json{{"source_branch", "forgehand/fh-1-fix"},
                                       {"target_branch", "main"},
                                       {"title", "Draft: Fix the flaky test"},
                                       {"description", "Summary"},
                                       {"remove_source_branch", true}});

  auto duplicate = rig.client.open_pull_request(rig.repo, {"t", "b", "forgehand/exists", "main"});
  REQUIRE_FALSE(duplicate.has_value());
  CHECK(duplicate.error().code == ErrorCode::conflict);
  CHECK(duplicate.error().message ==
        "gitlab: open merge request: HTTP 409: [\"Another open merge request already exists for "
        "this source branch: !5\"]");

  auto fork = rig.client.pull_request(rig.repo, 12);
  REQUIRE(fork.has_value());
  CHECK(fork->from_fork);
  CHECK(fork->head_ref == "forgehand/fh-1-fix");
  CHECK(rig.client.pull_request(rig.repo, 99).error().code == ErrorCode::not_found);

  std::string sha = "c3d1a9e7f5b2048d6e1f3a5c7b9d0e2f4a6c8e1b";
  auto found = rig.client.open_pull_requests_for_commit(rig.repo, sha);
  REQUIRE(found.has_value());
  REQUIRE(found->size() == 1);
  CHECK((*found)[0].number == 12);
}

TEST_CASE("files: the raw endpoint with an encoded path, absent is nothing") {
  Rig rig;
  auto config = rig.client.read_file(rig.repo, ".forgehand.yml", "main");
  REQUIRE(config.has_value());
  CHECK(config->value() == "commands: true\n");
  CHECK(rig.only_request("/projects/5/repository/files/").path ==
        "/api/v4/projects/5/repository/files/.forgehand.yml/raw?ref=main");
  auto absent = rig.client.read_file(rig.repo, ".forgehand/templates/result.md.mustache", "main");
  REQUIRE(absent.has_value());
  CHECK_FALSE(absent->has_value());
}

TEST_CASE("permission comes from the member's access level") {
  Rig rig;
  CHECK(rig.client.permission(rig.repo, Actor{"maintainer", "40"}) == Permission::maintain);
  CHECK(rig.client.permission(rig.repo, Actor{"developer", "30"}) == Permission::write);
  CHECK(rig.client.permission(rig.repo, Actor{"reporter", "20"}) == Permission::triage);
  CHECK(rig.client.permission(rig.repo, Actor{"guest", "10"}) == Permission::read);
  CHECK(rig.client.permission(rig.repo, Actor{"stranger", "404"}) == Permission::none);
  CHECK(rig.gitlab.requests_to("/api/v4/projects/5/members/all/30").size() == 1);
  CHECK(rig.client.permission(rig.repo, Actor{"no-id", ""}).error().code ==
        ErrorCode::invalid_argument);
}

TEST_CASE("failed jobs skip allowed failures, the trace is the log") {
  Rig rig;
  auto jobs = rig.client.failed_jobs(rig.repo, "1287");
  REQUIRE_MESSAGE(jobs.has_value(), jobs.error().message);
  REQUIRE(jobs->size() == 1);
  CHECK((*jobs)[0].id == "9019");
  CHECK((*jobs)[0].name == "test");
  CHECK(rig.only_request("/projects/5/pipelines/1287/jobs").path ==
        "/api/v4/projects/5/pipelines/1287/jobs?per_page=100&scope[]=failed");

  auto log = rig.client.job_log(rig.repo, "9019");
  REQUIRE(log.has_value());
  CHECK(log->find("FAILED tests/test_net.py::test_retry") != std::string::npos);
  rig.only_request("/projects/5/jobs/9019/trace");
}

TEST_CASE("commit statuses use GitLab's state names") {
  Rig rig;
  std::string sha = "c3d1a9e7f5b2048d6e1f3a5c7b9d0e2f4a6c8e1b";
  REQUIRE(rig.client.set_commit_status(
      rig.repo, {sha, CommitState::pending, "forgehand", "Working", "https://fh/s/1"}));
  REQUIRE(rig.client.set_commit_status(rig.repo, {sha, CommitState::failure, "forgehand", "", ""}));
  auto sent = rig.gitlab.requests_to("/api/v4/projects/5/statuses/" + sha);
  REQUIRE(sent.size() == 2);
  CHECK(json::parse(sent[0].body) == json{{"state", "running"},
                                          {"name", "forgehand"},
                                          {"description", "Working"},
                                          {"target_url", "https://fh/s/1"}});
  CHECK(json::parse(sent[1].body)["state"] == "failed");
}

TEST_CASE("OAuth tokens travel as Bearer") {
  Rig rig;
  gitlab::GitlabApi oauth{rig.api, rig.clock, rig.gitlab.api_url(),
                          Secret(testing::FakeGitlab::kOauthToken), true};
  REQUIRE(oauth.post_comment(IssueRef{rig.repo, 1, true}, "x"));
  auto sent = rig.gitlab.requests_to("/api/v4/projects/5/merge_requests/1/notes");
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].header("Authorization") == "Bearer oauth-forgehand");
  CHECK(sent[0].header("PRIVATE-TOKEN").empty());
}

TEST_CASE("git credentials: oauth2 and the token, a wrong token is unauthorized") {
  Rig rig;
  auto credentials = rig.client.git_credentials(rig.repo);
  REQUIRE(credentials.has_value());
  CHECK(credentials->username == "oauth2");
  CHECK(credentials->password.reveal() == testing::FakeGitlab::kToken);

  gitlab::GitlabApi wrong{rig.api, rig.clock, rig.gitlab.api_url(), Secret("glpat-wrong")};
  auto denied = wrong.post_comment(IssueRef{rig.repo, 1, true}, "x");
  REQUIRE_FALSE(denied.has_value());
  CHECK(denied.error().code == ErrorCode::unauthorized);
  CHECK(denied.error().message == "gitlab: post note: HTTP 401: 401 Unauthorized");
}

TEST_CASE("team membership: a nested group's members, inherited ones included") {
  Rig rig;
  rig.gitlab.add_group("platform");
  rig.gitlab.add_group("platform/reviewers");
  rig.gitlab.add_group_member("platform/reviewers", {41, 30});
  rig.gitlab.add_group_member("platform", {42, 40});

  CHECK(rig.client.is_team_member(rig.repo, "platform/reviewers", Actor{"alice", "41"}) == true);
  // Sent as /groups/platform%2Freviewers/...; the fake insists on the encoding, then decodes.
  auto request = rig.only_request("/groups/platform/reviewers/members/all/41");
  CHECK(request.method == "GET");
  CHECK(rig.client.is_team_member(rig.repo, "platform/reviewers", Actor{"owner", "42"}) == true);
  CHECK(rig.client.is_team_member(rig.repo, "platform/reviewers", Actor{"stranger", "43"}) ==
        false);
  CHECK(rig.client.is_team_member(rig.repo, "platform/ghosts", Actor{"alice", "41"}) == false);
  CHECK(rig.client.is_team_member(rig.repo, "platform", Actor{"alice", "41"}) == false);
}

TEST_CASE("team membership: expired, awaiting and minimal-access memberships do not count") {
  Rig rig;  // the clock reads 2027-01-15
  rig.gitlab.add_group_member("platform", {51, 30, "2027-01-15"});
  rig.gitlab.add_group_member("platform", {52, 30, "2027-01-16"});
  rig.gitlab.add_group_member("platform", {53, 30, "", "awaiting"});
  rig.gitlab.add_group_member("platform", {54, 5});
  rig.gitlab.add_group_member("platform", {55, 10});
  CHECK(rig.client.is_team_member(rig.repo, "platform", Actor{"expired", "51"}) == false);
  CHECK(rig.client.is_team_member(rig.repo, "platform", Actor{"until-tomorrow", "52"}) == true);
  CHECK(rig.client.is_team_member(rig.repo, "platform", Actor{"awaiting", "53"}) == false);
  CHECK(rig.client.is_team_member(rig.repo, "platform", Actor{"minimal", "54"}) == false);
  CHECK(rig.client.is_team_member(rig.repo, "platform", Actor{"guest", "55"}) == true);
}

TEST_CASE("team membership: without a user id the actor is found by username") {
  Rig rig;
  rig.gitlab.add_user(61, "Carol");
  rig.gitlab.add_group_member("platform/reviewers", {61, 30});
  CHECK(rig.client.is_team_member(rig.repo, "platform/reviewers", Actor{"carol", ""}) == true);
  auto lookup = rig.only_request("/users");
  CHECK(lookup.path == "/api/v4/users?username=carol");
  rig.only_request("/groups/platform/reviewers/members/all/61");

  CHECK(rig.client.is_team_member(rig.repo, "platform/reviewers", Actor{"nobody", ""}) == false);
  CHECK(rig.gitlab.requests_to("/api/v4/groups/").size() == 1);  // no user, no member lookup
  auto anonymous = rig.client.is_team_member(rig.repo, "platform/reviewers", Actor{"", ""});
  REQUIRE_FALSE(anonymous.has_value());
  CHECK(anonymous.error().code == ErrorCode::invalid_argument);
}

TEST_CASE("a malformed team group path is invalid_argument, asked of no one") {
  Rig rig;
  for (const char* team : {"", "/platform", "platform/", "platform//reviewers", "platform/../x",
                           "platform/re viewers", "platform%2Freviewers"}) {
    CAPTURE(team);
    auto result = rig.client.is_team_member(rig.repo, team, Actor{"alice", "41"});
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().code == ErrorCode::invalid_argument);
    CHECK(result.error().message.starts_with("gitlab: team \""));
  }
  CHECK(rig.gitlab.requests().empty());
}
