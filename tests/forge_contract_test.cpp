// The adapters through the Forge contract, as dispatch will use them: built by the registry from
// settings, talking to the fake forges, and saying plainly what they cannot do.
#include <doctest/doctest.h>

#include "forges/forge_registry.h"
#include "support/fake_gitea.h"
#include "support/fake_github.h"
#include "support/fake_gitlab.h"
#include "support/fixtures.h"
#include "support/keys.h"
#include "support/process.h"

using namespace forgehand;

namespace {

struct Dependencies {
  HttplibClient http;
  ApiDependencies api{http, system_clock(), real_sleeper()};
};

std::unique_ptr<Forge> build(ForgeSettings settings, const Dependencies& dependencies) {
  auto forge = make_forge(std::move(settings), dependencies.api);
  REQUIRE_MESSAGE(forge.has_value(), forge.error().message);
  return std::move(*forge);
}

}  // namespace

TEST_CASE("each adapter speaks its forge through the contract") {
  Dependencies deps;
  testing::FakeGithub github;
  testing::FakeGitlab gitlab;
  testing::FakeGitea gitea;

  auto github_forge = build({"github",
                             ForgeKind::github,
                             github.url(),
                             "forgehand[bot]",
                             "42",
                             Secret(testing::generate_rsa_key().private_pem),
                             {}},
                            deps);
  RepoRef github_repo{"octo-org/hello-world", "1", "", "", "main", "7"};
  auto comment = github_forge->post_comment(IssueRef{github_repo, 1, true}, "hello");
  REQUIRE_MESSAGE(comment.has_value(), comment.error().message);
  CHECK(github_forge->upsert_check_run(github_repo, CheckRun{"", "forgehand", "abc"}) == "4");

  auto gitlab_forge = build({"gitlab-corp",
                             ForgeKind::gitlab,
                             gitlab.api_url(),
                             "",
                             "",
                             {},
                             Secret(testing::FakeGitlab::kToken)},
                            deps);
  RepoRef gitlab_repo{"group/project", "5", "", "", "main", ""};
  CHECK(gitlab_forge->add_reaction(IssueRef{gitlab_repo, 12, true}, "1244", Reaction::rocket));
  auto award = gitlab.requests_to("/api/v4/projects/5/merge_requests/12/notes/1244/award_emoji");
  REQUIRE(award.size() == 1);
  CHECK(award[0].body == R"({"name":"rocket"})");

  auto forgejo_forge = build({"codeberg",
                              ForgeKind::forgejo,
                              gitea.api_url(),
                              "forgehand-bot",
                              "",
                              {},
                              Secret(testing::FakeGitea::kToken)},
                             deps);
  RepoRef gitea_repo{"alice/widgets", "87", "https://x/alice/widgets.git", "", "main", ""};
  CHECK(forgejo_forge->permission(gitea_repo, Actor{"bob", "2"}) == Permission::write);
  auto credentials = forgejo_forge->git_credentials(gitea_repo);
  REQUIRE(credentials.has_value());
  CHECK(credentials->username == "forgehand-bot");
}

TEST_CASE("without credentials, API verbs fail with a config error naming the instance") {
  Dependencies deps;
  for (ForgeKind kind : kAllForgeKinds) {
    auto forge = build({"unconfigured", kind, "http://127.0.0.1:1", "", "", {}, {}}, deps);
    auto result = forge->post_comment(IssueRef{RepoRef{"o/r"}, 1, true}, "x");
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().code == ErrorCode::config);
    CHECK(result.error().message ==
          std::string(to_string(kind)) +
              ": instance unconfigured has no API credentials configured");
  }
}

TEST_CASE("check runs are GitHub's, elsewhere not_supported says what to use") {
  Dependencies deps;
  for (ForgeKind kind : {ForgeKind::gitlab, ForgeKind::gitea, ForgeKind::forgejo}) {
    auto forge = build({"x", kind, "http://127.0.0.1:1", "", "", {}, Secret("t")}, deps);
    auto result = forge->upsert_check_run(RepoRef{"o/r"}, CheckRun{});
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().code == ErrorCode::not_supported);
    CHECK(result.error().message.find("set a commit status") != std::string::npos);
  }
}

TEST_CASE("a GitHub App key that does not load stops the instance with a config error") {
  Dependencies deps;
  auto forge = make_forge(
      {"github", ForgeKind::github, "https://api.github.com", "", "42", Secret("not a key"), {}},
      deps.api);
  REQUIRE_FALSE(forge.has_value());
  CHECK(forge.error().code == ErrorCode::config);
  CHECK(forge.error().message.starts_with("instance github: github: the App private key"));
}

TEST_CASE("every adapter states its capabilities, and forgehand capabilities prints them") {
  Dependencies deps;
  for (ForgeKind kind : kAllForgeKinds) {
    auto forge = build({"x", kind, "", "", "", {}, {}}, deps);
    auto capabilities = forge->capabilities();
    CHECK(capabilities.size() >= 8);
    for (const Capability& capability : capabilities) {
      CHECK((capability.support == "yes" || capability.support == "degrades" ||
             capability.support == "no"));
    }
  }
  testing::TempDir dir;
  testing::ChildProcess process({"capabilities"}, dir.path().string());
  CHECK(process.wait() == 0);
  std::string out = process.stdout_text();
  for (const char* forge : {"github\n", "gitlab\n", "gitea\n", "forgejo\n"}) {
    CHECK(out.find(forge) != std::string::npos);
  }
  CHECK(out.find("Forgejo v16+; older servers: not_supported and a link to the run") !=
        std::string::npos);
}

TEST_CASE("team membership through the contract: members, outsiders and malformed teams alike") {
  Dependencies deps;
  testing::FakeGithub github;
  testing::FakeGitlab gitlab;
  testing::FakeGitea gitea;
  github.add_team_member("octo-org", "core", "mona");
  gitlab.add_group_member("platform/reviewers", {41, 30});
  gitea.add_team("acme", "Reviewers", {"mona"});

  struct Case {
    ForgeSettings settings;
    RepoRef repo;
    std::string team;
    Actor member;
  };
  std::vector<Case> cases = {
      {{"github",
        ForgeKind::github,
        github.url(),
        "forgehand[bot]",
        "42",
        Secret(testing::generate_rsa_key().private_pem),
        {}},
       RepoRef{"octo-org/hello-world", "1", "", "", "main", "7"},
       "octo-org/core",
       Actor{"mona", "1"}},
      {{"gitlab-corp",
        ForgeKind::gitlab,
        gitlab.api_url(),
        "",
        "",
        {},
        Secret(testing::FakeGitlab::kToken)},
       RepoRef{"platform/app", "5", "", "", "main", ""},
       "platform/reviewers",
       Actor{"mona", "41"}},
      {{"gitea",
        ForgeKind::gitea,
        gitea.api_url(),
        "forgehand-bot",
        "",
        {},
        Secret(testing::FakeGitea::kToken)},
       RepoRef{"acme/widgets", "87", "", "", "main", ""},
       "acme/reviewers",
       Actor{"mona", "1"}},
      {{"codeberg",
        ForgeKind::forgejo,
        gitea.api_url(),
        "forgehand-bot",
        "",
        {},
        Secret(testing::FakeGitea::kToken)},
       RepoRef{"acme/widgets", "87", "", "", "main", ""},
       "acme/reviewers",
       Actor{"mona", "1"}},
  };
  for (const Case& c : cases) {
    CAPTURE(c.settings.instance);
    auto forge = build(c.settings, deps);
    auto member = forge->is_team_member(c.repo, c.team, c.member);
    REQUIRE_MESSAGE(member.has_value(), member.error().message);
    CHECK(*member);
    CHECK(forge->is_team_member(c.repo, c.team, Actor{"stranger", "404"}) == false);
    auto malformed = forge->is_team_member(c.repo, c.team + "/../x y", c.member);
    REQUIRE_FALSE(malformed.has_value());
    CHECK(malformed.error().code == ErrorCode::invalid_argument);
    CHECK(
        malformed.error().message.starts_with(std::string(to_string(c.settings.kind)) + ": team"));

    ForgeSettings unconfigured = c.settings;
    unconfigured.private_key = Secret{};
    unconfigured.token = Secret{};
    auto without = build(unconfigured, deps)->is_team_member(c.repo, c.team, c.member);
    REQUIRE_FALSE(without.has_value());
    CHECK(without.error().code == ErrorCode::config);
  }
}
