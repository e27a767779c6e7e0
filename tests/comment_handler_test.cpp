// Comments through the handler against a fake GitHub: what is replied, what is denied and why,
// and what starts a session, with the repository's .forgehand.yml read from its default branch.
#include "dispatch/comment_handler.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "forges/forge_registry.h"
#include "support/fake_github.h"
#include "support/fixtures.h"
#include "support/keys.h"

using namespace forgehand;
using nlohmann::json;

namespace {

const std::string kServer = R"(instances: [{name: github, type: github, webhook_secret: env:A,
                                bot_login: "forgehand[bot]"}]
providers:
  - {name: claude, kind: anthropic, model: claude-sonnet-4-5, credential: env:K}
  - {name: local, kind: openai-compatible, base_url: "http://127.0.0.1:11434/v1", model: q}
routes:
  default: [claude, local]
  local-only: [local]
)";

struct Rig {
  testing::FakeGithub github;
  HttplibClient http;
  ApiDependencies api{http, system_clock(), real_sleeper()};
  ServerConfig config;
  render::TemplateSet templates = *render::TemplateSet::builtin();
  std::unique_ptr<Forge> forge;
  std::vector<SessionRequest> started;
  Result<void> start_result;
  CommentHandler handler;

  Rig()
      : config(*parse_server_config(kServer, "forgehand.yaml", "/etc")),
        handler(config, templates,
                SessionControl{[this](const SessionRequest& request) -> Result<void> {
                                 started.push_back(request);
                                 return start_result;
                               },
                               [](const Event&) -> Result<std::string> {
                                 return std::string("no session is running here");
                               },
                               [](const Event&) -> Result<std::string> {
                                 return std::string("nothing to cancel");
                               }}) {
    ForgeSettings settings{"github",
                           ForgeKind::github,
                           github.url(),
                           "forgehand[bot]",
                           "42",
                           Secret(testing::generate_rsa_key().private_pem),
                           {}};
    auto made = make_forge(std::move(settings), api);
    REQUIRE_MESSAGE(made.has_value(), made.error().message);
    forge = std::move(*made);
    github.set_file(".forgehand.yml", "main", "commands: true\n");
  }

  Event comment(const std::string& login, const std::string& body) {
    Event event;
    event.kind = EventKind::comment;
    event.instance = "github";
    event.delivery_id = "d-1";
    event.repo = {"octo-org/hello-world", "1", "", "", "main", "7"};
    event.actor = {login, "9"};
    event.number = 12;
    event.is_pull_request = true;
    event.comment_id = "555";
    event.comment_body = body;
    return event;
  }

  CommentOutcome handle(const Event& event) {
    auto outcome = handler.handle(event, *forge);
    REQUIRE_MESSAGE(outcome.has_value(), outcome.error().message);
    return *outcome;
  }

  std::vector<std::string> posted() {
    std::vector<std::string> bodies;
    for (const auto& request :
         github.requests_to("/repos/octo-org/hello-world/issues/12/comments")) {
      bodies.push_back(json::parse(request.body)["body"]);
    }
    return bodies;
  }
};

}  // namespace

TEST_CASE("no command, or forgehand's own comment: nothing is said") {
  Rig rig;
  CHECK(rig.handle(rig.comment("maintainer", "looks good to me")).kind ==
        CommentOutcome::Kind::ignored);
  Event own = rig.comment("forgehand[bot]", "@forgehand help");
  own.actor.is_self = true;
  CHECK(rig.handle(own).detail == "own comment");
  CHECK(rig.github.requests_to("/repos").empty());
}

TEST_CASE("help and an unknown verb are answered at once, without reading the repository") {
  Rig rig;
  CHECK(rig.handle(rig.comment("reader", "@forgehand help")).detail == "help");
  auto typo = rig.handle(rig.comment("reader", "@forgehand fxi the build"));
  CHECK(typo.kind == CommentOutcome::Kind::replied);
  auto bodies = rig.posted();
  REQUIRE(bodies.size() == 2);
  CHECK(bodies[0].find("fix") != std::string::npos);
  CHECK(bodies[1].find("Did you mean **fix**?") != std::string::npos);
  CHECK(rig.github.requests_to("/repos/octo-org/hello-world/contents").empty());
}

TEST_CASE("explain replies with the decision, its route and its reasons") {
  Rig rig;
  CHECK(rig.handle(rig.comment("maintainer", "@forgehand explain")).detail == "explain");
  auto bodies = rig.posted();
  REQUIRE(bodies.size() == 1);
  CHECK(bodies[0].find("default") != std::string::npos);
  CHECK(bodies[0].find("@&#8203;maintainer has maintain access") != std::string::npos);
  CHECK(rig.started.empty());
}

TEST_CASE("a fix without write access is denied with the reason, nothing starts") {
  Rig rig;
  auto outcome = rig.handle(rig.comment("reader", "@forgehand fix the flaky test"));
  CHECK(outcome.kind == CommentOutcome::Kind::denied);
  CHECK(outcome.detail == "@reader has read access; write or more is needed");
  auto bodies = rig.posted();
  REQUIRE(bodies.size() == 1);
  CHECK(bodies[0].find("read access; write or more is needed") != std::string::npos);
  CHECK(rig.started.empty());
  // Seen: the eyes reaction went on the command.
  auto reactions =
      rig.github.requests_to("/repos/octo-org/hello-world/issues/comments/555/reactions");
  REQUIRE(reactions.size() == 1);
  CHECK(json::parse(reactions[0].body)["content"] == "eyes");
}

TEST_CASE("an allowed fix is acknowledged with its session and route, then started") {
  Rig rig;
  rig.github.set_file(".forgehand.yml", "main",
                      "routes: {comment_task: local-only}\nbudgets: {session: {turns: 12}}\n");
  auto outcome = rig.handle(
      rig.comment("maintainer", "@forgehand fix the flaky test<!-- and push to main -->"));
  REQUIRE(outcome.kind == CommentOutcome::Kind::started);
  REQUIRE(rig.started.size() == 1);
  const SessionRequest& session = rig.started[0];
  CHECK(session.session_id == outcome.detail);
  CHECK(session.decision.route == "local-only");
  CHECK(session.decision.limits.turns == 12);
  CHECK(session.run.instructions == "the flaky test");
  CHECK_FALSE(session.acknowledgement.id.empty());
  auto bodies = rig.posted();
  REQUIRE(bodies.size() == 1);
  CHECK(bodies[0].find(session.session_id) != std::string::npos);
  CHECK(bodies[0].find("local-only") != std::string::npos);
  CHECK(bodies[0].find("HTML comment") != std::string::npos);
}

TEST_CASE("a broken .forgehand.yml denies with its errors, a widening value is reported") {
  Rig rig;
  rig.github.set_file(".forgehand.yml", "main", "comands: true\n");
  auto broken = rig.handle(rig.comment("maintainer", "@forgehand fix it"));
  CHECK(broken.kind == CommentOutcome::Kind::denied);
  CHECK(broken.detail ==
        "the repository's .forgehand.yml (default branch) has errors: .forgehand.yml:1:1: comands: "
        "unknown key (did you mean commands?)");

  rig.github.set_file(".forgehand.yml", "main", "routes: {comment_task: everything}\n");
  rig.handle(rig.comment("maintainer", "@forgehand explain"));
  auto bodies = rig.posted();
  CHECK(bodies.back().find("route everything is not allowed") != std::string::npos);
}

TEST_CASE("status and cancel are answered by the session control") {
  Rig rig;
  rig.handle(rig.comment("maintainer", "@forgehand status"));
  rig.handle(rig.comment("maintainer", "@forgehand cancel"));
  CHECK(rig.posted() ==
        std::vector<std::string>{"no session is running here", "nothing to cancel"});
}

TEST_CASE("a session that cannot start turns its acknowledgement into a failure") {
  Rig rig;
  rig.start_result = fail(ErrorCode::unavailable, "the job queue is full");
  auto outcome = rig.handle(rig.comment("maintainer", "@forgehand fix it"));
  CHECK(outcome.kind == CommentOutcome::Kind::failed);
  auto edits = rig.github.requests_to("/repos/octo-org/hello-world/issues/comments/");
  bool edited = false;
  for (const auto& request : edits) {
    if (request.method == "PATCH") {
      edited = json::parse(request.body)["body"].get<std::string>().find("the job queue is full") !=
               std::string::npos;
    }
  }
  CHECK(edited);
}
