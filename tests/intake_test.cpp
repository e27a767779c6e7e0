#include "server/intake.h"

#include <doctest/doctest.h>

#include "store/sqlite_store.h"
#include "support/fixtures.h"

using namespace forgehand;

namespace {

constexpr std::string_view kSecret = "intake-test-secret";

struct Forge {
  ForgeKind kind;
  const char* instance;
  const char* fixture;
  const char* event;
};

const Forge kForges[] = {
    {ForgeKind::github, "github", "github/issue_comment.created.issue", "issue_comment"},
    {ForgeKind::gitlab, "gitlab-corp", "gitlab/note_hook.merge_request", "Note Hook"},
    {ForgeKind::gitea, "gitea", "gitea/issue_comment.created.on_pr.legacy", "issue_comment"},
    {ForgeKind::forgejo, "codeberg", "forgejo/pull_request.closed.merged", "pull_request"},
};

struct Rig {
  testing::TempDir dir;
  testing::ManualClock clock;
  std::unique_ptr<SqliteStore> store;
  int woken = 0;
  std::unique_ptr<Intake> intake;

  explicit Rig(std::size_t max_body = 25 * 1024 * 1024) {
    store = std::move(*SqliteStore::open({.path = dir.file("forgehand.db")}));
    std::vector<IntakeInstance> instances;
    for (const Forge& forge : kForges) {
      IntakeInstance instance{forge.instance, forge.kind, {}};
      instance.secrets.secret = Secret(std::string(kSecret));
      instances.push_back(std::move(instance));
    }
    intake = std::make_unique<Intake>(std::move(instances), *store, clock, max_body,
                                      [this] { ++woken; });
  }

  IntakeResponse send(const Forge& forge, testing::Fixture fixture) {
    testing::sign(forge.kind, kSecret, fixture.body, fixture.headers);
    return intake->receive(forge.instance, fixture.headers, fixture.body);
  }
};

// A store that cannot record: the disk is full, say.
class BrokenStore final : public Store {
 public:
  Result<RecordOutcome> record_delivery(const Delivery&) override {
    return fail(ErrorCode::io, "sqlite: database or disk is full");
  }
  Result<std::vector<Delivery>> claim_deliveries(std::size_t, TimePoint) override { return {}; }
  Result<void> finish_delivery(std::int64_t, bool, std::string_view) override { return {}; }
  Result<void> retry_delivery(std::int64_t, TimePoint, std::string_view) override { return {}; }
  Result<std::size_t> requeue_interrupted_deliveries() override { return 0; }
  Result<DeliveryCounts> count_deliveries() override { return DeliveryCounts{}; }
  Result<std::int64_t> queue_depth() override { return 0; }
  Result<std::optional<Delivery>> find_delivery(std::string_view, std::string_view) override {
    return std::nullopt;
  }
  Result<std::size_t> prune_deliveries(TimePoint) override { return 0; }
};

}  // namespace

TEST_CASE("a signed delivery from each forge is recorded, then recognised as a duplicate") {
  Rig rig;
  for (const Forge& forge : kForges) {
    CAPTURE(forge.fixture);
    auto fixture = testing::load_fixture(forge.fixture);
    auto answer = rig.send(forge, fixture);
    CHECK(answer.status == 202);
    CHECK(answer.outcome == IntakeOutcome::accepted);
    CHECK(answer.event == forge.event);
    CHECK(answer.body.find("\"accepted\"") != std::string::npos);

    auto stored = *rig.store->find_delivery(forge.instance, answer.delivery_id);
    REQUIRE(stored.has_value());
    CHECK(stored->body == fixture.body);
    CHECK(stored->event == forge.event);
    CHECK(stored->received_at == rig.clock.now());
    // What workers need is kept; what authenticates (secrets and signatures) never is.
    CHECK_FALSE(stored->header("user-agent").empty());
    for (const char* secret_header :
         {"x-hub-signature-256", "x-gitea-signature", "x-forgejo-signature", "x-gogs-signature",
          "x-gitlab-token"}) {
      CHECK(stored->header(secret_header).empty());
    }

    auto again = rig.send(forge, fixture);
    CHECK(again.status == 200);
    CHECK(again.outcome == IntakeOutcome::duplicate);
  }
  CHECK(rig.woken == 4);
  CHECK(rig.store->count_deliveries()->pending == 4);
}

TEST_CASE("delivery ids come from each forge's own header") {
  Rig rig;
  auto github = testing::load_fixture("github/issue_comment.created.issue");
  CHECK(rig.send(kForges[0], github).delivery_id == github.headers["x-github-delivery"]);
  auto gitlab = testing::load_fixture("gitlab/note_hook.merge_request");
  CHECK(rig.send(kForges[1], gitlab).delivery_id == gitlab.headers["idempotency-key"]);
  auto gitea = testing::load_fixture("gitea/issue_comment.created.on_pr.legacy");
  CHECK(rig.send(kForges[2], gitea).delivery_id == gitea.headers["x-gitea-delivery"]);
  auto forgejo = testing::load_fixture("forgejo/pull_request.closed.merged");
  forgejo.headers["x-forgejo-delivery"] = "forgejo-own-id";
  CHECK(rig.send(kForges[3], forgejo).delivery_id == "forgejo-own-id");
}

TEST_CASE("GitLab retries dedupe on Idempotency-Key, older GitLab on the event UUID") {
  Rig rig;
  auto first = testing::load_fixture("gitlab/note_hook.issue");
  auto retry = first;
  retry.headers["x-gitlab-event-uuid"] = "a-new-uuid-for-the-retry";
  CHECK(rig.send(kForges[1], first).outcome == IntakeOutcome::accepted);
  CHECK(rig.send(kForges[1], retry).outcome == IntakeOutcome::duplicate);

  auto old_gitlab = testing::load_fixture("gitlab/merge_request_hook.open");
  old_gitlab.headers.erase("idempotency-key");
  auto answer = rig.send(kForges[1], old_gitlab);
  CHECK(answer.delivery_id == old_gitlab.headers["x-gitlab-event-uuid"]);
}

TEST_CASE("without any delivery id, identical bytes are the same delivery") {
  Rig rig;
  auto fixture = testing::load_fixture("gitlab/pipeline_hook.mr_pipeline");
  fixture.headers.erase("idempotency-key");
  fixture.headers.erase("x-gitlab-event-uuid");
  auto first = rig.send(kForges[1], fixture);
  CHECK(first.outcome == IntakeOutcome::accepted);
  CHECK(first.delivery_id.starts_with("sha256:"));
  CHECK(rig.send(kForges[1], fixture).outcome == IntakeOutcome::duplicate);
}

TEST_CASE("events forgehand never handles are acknowledged, counted by the caller, not stored") {
  Rig rig;
  struct Ignored {
    const Forge& forge;
    const char* header;
    const char* event;
  };
  for (Ignored ignored : {Ignored{kForges[0], "x-github-event", "push"},
                          Ignored{kForges[0], "x-github-event", "star"},
                          Ignored{kForges[1], "x-gitlab-event", "Push Hook"},
                          Ignored{kForges[2], "x-gitea-event", "push"},
                          Ignored{kForges[3], "x-forgejo-event", "push"}}) {
    CAPTURE(ignored.event);
    auto fixture = testing::load_fixture(ignored.forge.fixture);
    fixture.headers[ignored.header] = ignored.event;
    auto answer = rig.send(ignored.forge, fixture);
    CHECK(answer.status == 202);
    CHECK(answer.outcome == IntakeOutcome::ignored);
    CHECK(answer.body.find("\"ignored\"") != std::string::npos);
  }
  CHECK(rig.store->count_deliveries()->pending == 0);
  CHECK(rig.woken == 0);
}

TEST_CASE("handled events per forge") {
  CHECK(Intake::handles_event(ForgeKind::github, "workflow_run"));
  CHECK(Intake::handles_event(ForgeKind::github, "installation_repositories"));
  CHECK_FALSE(Intake::handles_event(ForgeKind::github, "push"));
  CHECK(Intake::handles_event(ForgeKind::gitlab, "Pipeline Hook"));
  CHECK(Intake::handles_event(ForgeKind::gitlab, "Confidential Note Hook"));
  CHECK_FALSE(Intake::handles_event(ForgeKind::gitlab, "Job Hook"));
  CHECK(Intake::handles_event(ForgeKind::gitea, "status"));
  CHECK_FALSE(Intake::handles_event(ForgeKind::gitea, "action_run_failure"));
  CHECK(Intake::handles_event(ForgeKind::forgejo, "action_run_failure"));
  CHECK(Intake::handles_event(ForgeKind::forgejo, "workflow_job"));
  CHECK_FALSE(Intake::handles_event(ForgeKind::forgejo, "status"));
}

TEST_CASE("bad requests get the right status and store nothing") {
  Rig rig(/*max_body=*/20'000);
  const Forge& github = kForges[0];
  auto fixture = testing::load_fixture(github.fixture);

  SUBCASE("unknown instance: 404") {
    auto answer = rig.intake->receive("nope", fixture.headers, fixture.body);
    CHECK(answer.status == 404);
    CHECK(answer.instance.empty());
  }
  SUBCASE("bad signature: 401, and no event or delivery id is trusted") {
    testing::sign(github.kind, "wrong", fixture.body, fixture.headers);
    auto answer = rig.intake->receive(github.instance, fixture.headers, fixture.body);
    CHECK(answer.status == 401);
    CHECK(answer.event.empty());
    CHECK(answer.delivery_id.empty());
  }
  SUBCASE("over the body limit: 413") {
    auto big = rig.send(github, testing::load_fixture("github/pull_request.closed.merged"));
    CHECK(big.status == 413);
    CHECK(big.outcome == IntakeOutcome::too_large);
  }
  SUBCASE("signed but not JSON: 400 that says what to fix") {
    fixture.body = R"({"action": "created", "comment": )";
    auto answer = rig.send(github, fixture);
    CHECK(answer.status == 400);
    CHECK(answer.body.find("not valid JSON") != std::string::npos);
    fixture.body = "{not json}";
    CHECK(rig.send(github, fixture).status == 400);
    fixture.body = "\"\xff\xfe\"";
    CHECK(rig.send(github, fixture).status == 400);  // invalid UTF-8
  }
  SUBCASE("a form-encoded Gitea hook: 400 that says to switch to JSON") {
    auto gitea = testing::load_fixture(kForges[2].fixture);
    gitea.headers["content-type"] = "application/x-www-form-urlencoded";
    auto answer = rig.send(kForges[2], gitea);
    CHECK(answer.status == 400);
    CHECK(answer.body.find("application/json") != std::string::npos);
  }
  SUBCASE("no event header: 400") {
    fixture.headers.erase("x-github-event");
    CHECK(rig.send(github, fixture).status == 400);
  }
  SUBCASE("a delivery id that is not a printable id: 400") {
    fixture.headers["x-github-delivery"] = std::string(300, 'a');
    CHECK(rig.send(github, fixture).status == 400);
  }
  CHECK(rig.store->count_deliveries()->pending == 0);
}

TEST_CASE("when the store cannot record, the answer is 503 so the forge may redeliver") {
  BrokenStore store;
  testing::ManualClock clock;
  IntakeInstance instance{"github", ForgeKind::github, {}};
  instance.secrets.secret = Secret(std::string(kSecret));
  Intake intake({instance}, store, clock, 1 << 20);
  auto fixture = testing::load_fixture("github/issue_comment.created.issue");
  testing::sign(ForgeKind::github, kSecret, fixture.body, fixture.headers);
  auto answer = intake.receive("github", fixture.headers, fixture.body);
  CHECK(answer.status == 503);
  CHECK(answer.outcome == IntakeOutcome::store_failed);
  CHECK(answer.body.find("disk") == std::string::npos);  // internals stay in the log
}
