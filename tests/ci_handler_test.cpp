// Failed CI on a pull request through the CI handler against a fake GitHub: the repository must
// have turned fixes on, the policy decides (forks, attempts), and an allowed fix carries the
// failed jobs and a triaged excerpt of their logs.
#include "dispatch/ci_handler.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "forges/forge_registry.h"
#include "support/fake_github.h"
#include "support/keys.h"

using namespace forgehand;
using nlohmann::json;

namespace {

const std::string kServer = R"(instances: [{name: github, type: github, webhook_secret: env:A,
                                bot_login: "forgehand[bot]"}]
providers: [{name: local, kind: openai-compatible, base_url: "http://127.0.0.1:9/v1", model: q}]
routes: {default: [local]}
)";

struct Rig {
  explicit Rig(const std::string& policy = "")
      : config(*parse_server_config(kServer + policy, "forgehand.yaml", "/etc")),
        handler(config, templates,
                SessionControl{[this](const SessionRequest& request) -> Result<void> {
                                 started.push_back(request);
                                 return {};
                               },
                               {},
                               {},
                               [this](const Event&, std::int64_t, const std::string&) {
                                 return Result<policy::History>(history);
                               }}) {
    ForgeSettings settings{"github",
                           ForgeKind::github,
                           github.url(),
                           "forgehand[bot]",
                           "42",
                           Secret(testing::generate_rsa_key().private_pem),
                           {}};
    forge = std::move(*make_forge(std::move(settings), api));
  }

  Event failure() const {
    Event event;
    event.kind = EventKind::ci_failed;
    event.instance = "github";
    event.repo = {"octo-org/hello-world", "1", "", "", "main", "7"};
    event.actor = {"contributor", "5"};
    event.number = 42;
    event.head_sha = "e5bd3914e2e596debea16f433f57875b5b90bcd6";
    event.ci_name = "CI";
    event.ci_run_id = "30433642";
    return event;
  }

  CommentOutcome handle(const Event& event) {
    auto outcome = handler.handle(event, *forge);
    REQUIRE_MESSAGE(outcome.has_value(), outcome.error().message);
    return *outcome;
  }

  testing::FakeGithub github;
  HttplibClient http;
  ApiDependencies api{http, system_clock(), real_sleeper()};
  ServerConfig config;
  render::TemplateSet templates = *render::TemplateSet::builtin();
  std::unique_ptr<Forge> forge;
  std::vector<SessionRequest> started;
  policy::History history;
  CiHandler handler;
};

const std::string kAllowForks = "policy: {rules: [{forks: allow}]}\n";

}  // namespace

TEST_CASE("without ci_fix in .forgehand.yml a red build is ignored quietly") {
  Rig rig;
  rig.github.set_file(".forgehand.yml", "main", "commands: true\n");
  auto outcome = rig.handle(rig.failure());
  CHECK(outcome.kind == CommentOutcome::Kind::denied);
  CHECK(rig.github.requests_to("/repos/octo-org/hello-world/issues/42/comments").empty());
  CHECK(rig.started.empty());
}

TEST_CASE("a fork's red build is not fixed, and the pull request is told why") {
  Rig rig;
  rig.github.set_file(".forgehand.yml", "main", "ci_fix: true\n");
  auto outcome = rig.handle(rig.failure());
  CHECK(outcome.kind == CommentOutcome::Kind::denied);
  auto posted = rig.github.requests_to("/repos/octo-org/hello-world/issues/42/comments");
  REQUIRE(posted.size() == 1);
  CHECK(json::parse(posted[0].body)["body"].get<std::string>().find("fork") != std::string::npos);
}

TEST_CASE("an allowed fix starts with the failed jobs and a triaged excerpt") {
  Rig rig(kAllowForks);
  rig.github.set_file(".forgehand.yml", "main", "ci_fix: true\n");
  auto outcome = rig.handle(rig.failure());
  REQUIRE(outcome.kind == CommentOutcome::Kind::started);
  REQUIRE(rig.started.size() == 1);
  const SessionRequest& session = rig.started[0];
  CHECK(session.decision.task == TaskType::ci_fix);
  CHECK(session.failing_jobs == std::vector<std::string>{"test", "lint"});
  CHECK(session.failure_excerpt.find("Process completed with exit code 1.") != std::string::npos);
  CHECK(session.failure_excerpt.size() <= CiHandler::kExcerptBudget + 64);
  CHECK(session.event.is_pull_request);
  CHECK_FALSE(session.acknowledgement.id.empty());
}

TEST_CASE("one automatic attempt per head commit, a moved-on pull request is left alone") {
  Rig rig(kAllowForks);
  rig.github.set_file(".forgehand.yml", "main", "ci_fix: true\n");
  rig.history.attempts_for_sha = 1;
  auto again = rig.handle(rig.failure());
  CHECK(again.kind == CommentOutcome::Kind::denied);
  CHECK(rig.github.requests_to("/repos/octo-org/hello-world/issues/42/comments").empty());

  rig.history.attempts_for_sha = 0;
  Event stale = rig.failure();
  stale.head_sha = "0000000000000000000000000000000000000001";
  CHECK(rig.handle(stale).detail == "the pull request has moved on to another commit");
  CHECK(rig.started.empty());
}
