#include "dispatch/delivery_dispatcher.h"

#include <doctest/doctest.h>

#include "forges/forge_registry.h"
#include "support/fixtures.h"
#include "util/http_client.h"

using namespace forgehand;

namespace {

Delivery delivery(const std::string& instance, const std::string& fixture_name,
                  const std::string& event) {
  auto fixture = testing::load_fixture(fixture_name);
  Delivery d;
  d.instance = instance;
  d.delivery_id = "d-7";
  d.event = event;
  d.headers = fixture.headers;
  d.body = fixture.body;
  return d;
}

std::unique_ptr<Forge> forge(std::string instance, ForgeKind kind) {
  static const HttplibClient http;
  ApiDependencies dependencies{http, system_clock(), real_sleeper()};
  return std::move(*make_forge({std::move(instance), kind, "", "", "", {}, {}}, dependencies));
}

}  // namespace

TEST_CASE("the dispatcher routes deliveries to their instance's adapter") {
  std::vector<std::unique_ptr<Forge>> forges;
  forges.push_back(forge("gitlab-corp", ForgeKind::gitlab));
  forges.push_back(forge("codeberg", ForgeKind::forgejo));
  std::vector<Event> events;
  DeliveryDispatcher dispatcher(std::move(forges),
                                [&](const Event& event, const Forge&) -> Result<void> {
                                  events.push_back(event);
                                  return {};
                                });

  CHECK(dispatcher.handle(delivery("gitlab-corp", "gitlab/note_hook.issue", "Note Hook")));
  CHECK(dispatcher.handle(
      delivery("codeberg", "forgejo/pull_request.closed.merged", "pull_request")));
  REQUIRE(events.size() == 2);
  CHECK(events[0].instance == "gitlab-corp");
  CHECK(events[0].kind == EventKind::comment);
  CHECK(events[1].kind == EventKind::pr_closed);

  SUBCASE("ignored deliveries end quietly") {
    CHECK(dispatcher.handle(
        delivery("gitlab-corp", "gitlab/merge_request_hook.open", "Merge Request Hook")));
    CHECK(events.size() == 2);
  }
  SUBCASE("an instance removed from the config is a permanent error") {
    auto result = dispatcher.handle(delivery("gone", "gitlab/note_hook.issue", "Note Hook"));
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().code == ErrorCode::not_found);
    CHECK_FALSE(is_transient(result.error().code));
  }
  SUBCASE("a payload the adapter cannot convert is malformed") {
    auto broken = delivery("gitlab-corp", "gitlab/note_hook.issue", "Note Hook");
    broken.body = R"({"object_kind":"note"})";
    auto result = dispatcher.handle(broken);
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().code == ErrorCode::malformed);
  }
}

TEST_CASE("the event handler's transient errors reach the workers") {
  std::vector<std::unique_ptr<Forge>> forges;
  forges.push_back(forge("github", ForgeKind::github));
  DeliveryDispatcher dispatcher(std::move(forges), [](const Event&, const Forge&) -> Result<void> {
    return fail(ErrorCode::unavailable, "github: add reaction: 502");
  });
  auto result =
      dispatcher.handle(delivery("github", "github/issue_comment.created.issue", "issue_comment"));
  REQUIRE_FALSE(result.has_value());
  CHECK(is_transient(result.error().code));
}
