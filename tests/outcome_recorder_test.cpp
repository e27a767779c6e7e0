// What became of forgehand's work: real payloads of each forge, parsed by their adapters, recorded
// through the outcome recorder into a real SQLite store, then read back by the scoreboard; and
// the same through a running `forgehand serve`.
#include "dispatch/outcome_recorder.h"

#include <doctest/doctest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/stat.h>

#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "audit/reports.h"
#include "forges/forge_registry.h"
#include "server/intake.h"
#include "store/sqlite_store.h"
#include "support/fixtures.h"
#include "support/process.h"
#include "util/http_client.h"
#include "util/log.h"

using namespace forgehand;
using namespace std::chrono_literals;

namespace {

// The event an adapter of the fixture's forge makes of it, on an instance named after the forge.
Event parse(const testing::Fixture& fixture, ForgeKind kind) {
  static const HttplibClient http;
  ApiDependencies dependencies{http, system_clock(), real_sleeper()};
  std::string instance(to_string(kind));
  auto forge = make_forge(ForgeSettings{instance, kind, "", "", "", {}, {}}, dependencies);
  REQUIRE(forge.has_value());
  Delivery delivery;
  delivery.instance = instance;
  delivery.delivery_id = "d-1";
  delivery.event = fixture.headers.at(std::string(event_header(kind)));
  delivery.headers = fixture.headers;
  delivery.body = fixture.body;
  auto parsed = (*forge)->parse(delivery);
  REQUIRE_MESSAGE(parsed.has_value(), parsed.error().message);
  REQUIRE(std::holds_alternative<Event>(*parsed));
  return std::get<Event>(*parsed);
}

Event parse(const std::string& name) {
  ForgeKind kind = *parse_forge_kind(name.substr(0, name.find('/')));
  return parse(testing::load_fixture(name), kind);
}

// The fixture with one JSON field replaced.
Event parse_with(const std::string& name, const nlohmann::json::json_pointer& field,
                 const nlohmann::json& value) {
  ForgeKind kind = *parse_forge_kind(name.substr(0, name.find('/')));
  auto fixture = testing::load_fixture(name);
  auto json = nlohmann::json::parse(fixture.body);
  json[field] = value;
  fixture.body = json.dump();
  return parse(fixture, kind);
}

struct Rig {
  testing::TempDir dir;
  testing::ManualClock clock;
  std::unique_ptr<SqliteStore> store;
  OutcomeRecorder recorder;

  Rig() : store(open()), recorder(*store, clock) {}

  std::unique_ptr<SqliteStore> open() {
    auto opened = SqliteStore::open(SqliteStoreOptions{.path = dir.file("forgehand.db")});
    REQUIRE_MESSAGE(opened.has_value(), opened.error().message);
    return std::move(*opened);
  }

  // A finished session that pushed `head_sha` and opened pull request `pull_request`.
  void session(const std::string& id, const std::string& instance, const std::string& repo,
               std::int64_t pull_request, const std::string& head_sha,
               const std::string& model = "openai/gpt-4.1") {
    SessionRecord record;
    record.id = id;
    record.instance = instance;
    record.repo = repo;
    record.trigger = {"d-0", EventKind::comment, "alice", "trigger-sha"};
    record.number = 7;
    record.is_pull_request = true;
    record.base_ref = "main";
    record.decision = {true, "", {"@alice has write permission"}, {}};
    record.route = "default";
    record.created_at = clock.now();
    REQUIRE(store->create_session(record));
    REQUIRE(store->start_session(id, "worker-1", clock.now()));
    SessionUpdate update;
    ModelCall call;
    call.provider = model.substr(0, model.find('/'));
    call.model = model.substr(model.find('/') + 1);
    call.http_status = 200;
    call.cost = 0.25;
    update.calls = std::vector<ModelCall>{call};
    update.runner_seconds = 60;
    update.head_ref = "forgehand/" + id;
    update.head_sha = head_sha;
    update.pull_request_number = pull_request;
    update.pull_request_url =
        "https://forge.example/" + repo + "/pulls/" + std::to_string(pull_request);
    REQUIRE(store->update_session(id, update));
    REQUIRE(store->finish_session(id, SessionState::succeeded, "", clock.now()));
  }

  SessionRecord find(const std::string& id) {
    auto found = store->find_session(id);
    REQUIRE(found.has_value());
    REQUIRE(found->has_value());
    return **found;
  }

  void handle(const Event& event) {
    auto handled = recorder.handle(event);
    REQUIRE_MESSAGE(handled.has_value(), handled.error().message);
  }
};

}  // namespace

TEST_CASE(
    "outcomes: a merged pull request forgehand opened records who merged it, on every forge") {
  const std::pair<const char*, const char*> merges[] = {
      {"github/pull_request.closed.merged", "anbraten/test-ready-release-go"},
      {"gitlab/merge_request_hook.merge", "anbraten/woodpecker-test"},
      {"gitea/pull_request.closed.merged", "anbraten/test-repo"},
      {"forgejo/pull_request.closed.merged", "anbraten/test-repo"},
  };
  for (const auto& [fixture, repo] : merges) {
    CAPTURE(fixture);
    Rig rig;
    Event merged = parse(fixture);
    rig.session("fh-opened", merged.instance, repo, merged.number, "pushed-1");
    rig.session("fh-other-pr", merged.instance, repo, merged.number + 1, "pushed-2");
    rig.session("fh-other-forge", "elsewhere", repo, merged.number, "pushed-3");
    rig.clock.advance(1h);
    rig.handle(merged);

    SessionRecord opened = rig.find("fh-opened");
    CHECK(opened.pull_request.state == PullRequestState::merged);
    CHECK(opened.pull_request.merged_by == "anbraten");
    CHECK(opened.pull_request.closed_at == rig.clock.now());
    CHECK(rig.find("fh-other-pr").pull_request.state == PullRequestState::open);
    CHECK(rig.find("fh-other-forge").pull_request.state == PullRequestState::open);
  }
}

TEST_CASE("outcomes: a pull request closed unmerged is closed, with nobody as its merger") {
  for (const char* fixture :
       {"github/pull_request.closed.unmerged", "gitea/pull_request.closed.unmerged",
        "forgejo/pull_request.closed.unmerged"}) {
    CAPTURE(fixture);
    Rig rig;
    Event closed = parse(fixture);
    rig.session("fh-1", closed.instance, closed.repo.full_name, closed.number, "pushed-1");
    rig.handle(closed);
    SessionRecord session = rig.find("fh-1");
    CHECK(session.pull_request.state == PullRequestState::closed);
    CHECK(session.pull_request.merged_by.empty());
    CHECK(session.pull_request.closed_at.has_value());
  }
  // GitLab's close: the same hook as a merge, action `close`; its user closed, not merged.
  Rig rig;
  Event closed = parse_with("gitlab/merge_request_hook.merge",
                            nlohmann::json::json_pointer("/object_attributes/action"), "close");
  CHECK(closed.kind == EventKind::pr_closed);
  CHECK_FALSE(closed.merged);
  rig.session("fh-1", closed.instance, closed.repo.full_name, closed.number, "pushed-1");
  rig.handle(closed);
  CHECK(rig.find("fh-1").pull_request.state == PullRequestState::closed);
  CHECK(rig.find("fh-1").pull_request.merged_by.empty());
}

TEST_CASE("outcomes: one info line per recorded outcome, none for others' pull requests") {
  Rig rig;
  Event merged = parse("github/pull_request.closed.merged");
  rig.session("fh-1", "github", merged.repo.full_name, merged.number, "pushed-1");
  rig.session("fh-2", "github", merged.repo.full_name, merged.number, "pushed-2");
  testing::LogCapture log;
  rig.handle(merged);
  std::string text = log.text();
  CHECK(text.find("pull request outcome recorded") != std::string::npos);
  CHECK(text.find(R"("sessions":2)") != std::string::npos);
  CHECK(text.find(R"("merged_by":"anbraten")") != std::string::npos);

  testing::LogCapture quiet;
  Event unmerged = parse("github/pull_request.closed.unmerged");  // a pull request of someone's
  rig.handle(unmerged);
  Event green = parse("github/check_suite.completed.success");  // a commit nobody here pushed
  rig.handle(green);
  CHECK(quiet.text().empty());
}

TEST_CASE("outcomes: CI results land on the session that pushed the head, per check, re-runs win") {
  struct Case {
    const char* passed;
    const char* failed;  // the same check failing on the same commit; empty: made from `passed`
  };
  const Case cases[] = {
      {"github/check_suite.completed.success", ""},
      {"gitlab/pipeline_hook.mr_pipeline", ""},
      {"gitea/status.success", "gitea/status.failure"},
      {"gitea/workflow_run.completed.success", "gitea/workflow_run.completed.failure"},
      {"forgejo/action_run_success", "forgejo/action_run_failure"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.passed);
    Rig rig;
    Event passed = parse(c.passed);
    REQUIRE(passed.kind == EventKind::ci_passed);
    REQUIRE_FALSE(passed.ci_check.empty());
    Event failed;
    if (*c.failed != '\0') {
      failed = parse(c.failed);
    } else if (passed.instance == "github") {
      failed =
          parse_with(c.passed, nlohmann::json::json_pointer("/check_suite/conclusion"), "failure");
    } else {
      failed =
          parse_with(c.passed, nlohmann::json::json_pointer("/object_attributes/status"), "failed");
    }
    REQUIRE(failed.kind == EventKind::ci_failed);
    CHECK(failed.ci_check == passed.ci_check);
    CHECK(failed.head_sha == passed.head_sha);

    const std::string& repo = passed.repo.full_name;
    rig.session("fh-pushed", passed.instance, repo, 100, passed.head_sha);
    rig.session("fh-other", passed.instance, repo, 101, "another-commit");
    CHECK(rig.find("fh-pushed").ci == CiResult::unknown);
    rig.handle(failed);
    CHECK(rig.find("fh-pushed").ci == CiResult::red);
    rig.handle(passed);  // the failed check re-run, passing
    CHECK(rig.find("fh-pushed").ci == CiResult::green);
    rig.handle(failed);
    CHECK(rig.find("fh-pushed").ci == CiResult::red);
    CHECK(rig.find("fh-other").ci == CiResult::unknown);
  }
}

TEST_CASE("outcomes: another check passing does not hide a failure, and jobs are not verdicts") {
  Rig rig;
  Event failed = parse("gitea/status.failure");
  rig.session("fh-1", "gitea", failed.repo.full_name, 100, failed.head_sha);
  rig.handle(failed);
  Event lint = parse_with("gitea/status.success", nlohmann::json::json_pointer("/context"),
                          "CI / lint (pull_request)");
  rig.handle(lint);
  CHECK(rig.find("fh-1").ci == CiResult::red);

  // A single job's failure starts a CI fix but is no verdict of its own: its run reports.
  Rig jobs;
  Event job = parse("github/workflow_job.completed.failure");
  REQUIRE(job.kind == EventKind::ci_failed);
  jobs.session("fh-1", "github", job.repo.full_name, 100, job.head_sha);
  jobs.handle(job);
  jobs.handle(parse("github/workflow_run.completed.failure"));
  CHECK(jobs.find("fh-1").ci == CiResult::unknown);
}

TEST_CASE("outcomes: the scoreboard shows the merged and CI green shares they recorded") {
  Rig rig;
  Event merged = parse("github/pull_request.closed.merged");
  Event green = parse("github/check_suite.completed.success");
  Event red = parse("gitea/status.failure");
  const std::string& merged_repo = merged.repo.full_name;
  rig.session("fh-1", "github", merged_repo, merged.number, "unreported");
  rig.session("fh-2", "github", merged_repo, merged.number + 1, "unreported-too");
  rig.session("fh-3", "github", green.repo.full_name, 500, green.head_sha);
  rig.session("fh-4", "gitea", red.repo.full_name, 501, red.head_sha);
  rig.session("fh-5", "github", green.repo.full_name, 502, "xyz", "anthropic/claude");
  for (const Event& event : {merged, green, red}) rig.handle(event);

  auto sessions = rig.store->list_sessions({});
  REQUIRE(sessions.has_value());
  auto rows = audit::scoreboard(*sessions);
  REQUIRE(rows.size() == 2);
  const audit::ScoreRow& gpt = rows[1];
  CHECK(gpt.model == "openai/gpt-4.1");
  CHECK(gpt.sessions == 4);
  CHECK(gpt.pull_requests == 4);
  CHECK(gpt.merged == 1);
  CHECK(gpt.ci_known == 2);
  CHECK(gpt.ci_green == 1);
  CHECK(*gpt.merged_share() == doctest::Approx(0.25));
  CHECK(*gpt.ci_green_share() == doctest::Approx(0.5));
  CHECK_FALSE(rows[0].ci_green_share().has_value());

  std::string table = audit::scoreboard_table(rows, "USD");
  CHECK(table.find("MERGED") != std::string::npos);
  CHECK(table.find("25%") != std::string::npos);
  CHECK(table.find("50%") != std::string::npos);
  auto json = audit::scoreboard_json(rows);
  CHECK(json[1]["merged_share"] == 0.25);
  CHECK(json[1]["ci_green_share"] == 0.5);
}

TEST_CASE("outcomes: forgehand serve records a merge and a CI result from signed deliveries") {
  testing::TempDir dir;
  std::string data = dir.file("data");
  std::filesystem::create_directories(data);
  std::filesystem::permissions(data, std::filesystem::perms::owner_all);
  Event merged = parse("gitea/pull_request.closed.merged");
  Event green = parse("gitea/status.success");
  {
    // Sessions as an earlier run left them; the store is closed before serve opens it.
    auto store = SqliteStore::open(SqliteStoreOptions{.path = data + "/forgehand.db"});
    REQUIRE(store.has_value());
    for (const auto& [id, repo, number, sha] :
         {std::tuple{"fh-merged", merged.repo.full_name, merged.number, std::string("aaa")},
          std::tuple{"fh-green", green.repo.full_name, std::int64_t{9}, green.head_sha}}) {
      SessionRecord record;
      record.id = id;
      record.instance = "gitea";
      record.repo = repo;
      record.created_at = system_clock().now();
      REQUIRE((*store)->create_session(record));
      SessionUpdate update;
      update.head_sha = sha;
      update.pull_request_number = number;
      REQUIRE((*store)->update_session(id, update));
      REQUIRE((*store)->start_session(id, "worker-1", record.created_at));
      REQUIRE((*store)->finish_session(id, SessionState::succeeded, "", record.created_at));
    }
  }

  std::string logs = dir.file("logs");
  std::filesystem::create_directories(logs);
  testing::ChildProcess serve({"serve", "--data-dir", data, "--listen", "127.0.0.1:0"}, logs);
  int port = serve.wait_for_port();
  REQUIRE(port > 0);
  std::string secret = testing::read_file(data + "/webhook-secret").substr(0, 64);
  httplib::Client client("127.0.0.1", port);
  for (const char* name : {"gitea/pull_request.closed.merged", "gitea/status.success"}) {
    auto fixture = testing::load_fixture(name);
    testing::sign(ForgeKind::gitea, secret, fixture.body, fixture.headers);
    fixture.headers.erase("content-type");
    auto response = client.Post("/hooks/gitea",
                                httplib::Headers(fixture.headers.begin(), fixture.headers.end()),
                                fixture.body, "application/json");
    REQUIRE(response);
    CHECK(response->status == 202);
  }
  auto recorded = [&] {
    auto reader =
        SqliteStore::open(SqliteStoreOptions{.path = data + "/forgehand.db", .read_only = true});
    REQUIRE(reader.has_value());
    auto merged_session = **(*reader)->find_session("fh-merged");
    auto green_session = **(*reader)->find_session("fh-green");
    return merged_session.pull_request.state == PullRequestState::merged &&
           merged_session.pull_request.merged_by == "anbraten" &&
           green_session.ci == CiResult::green;
  };
  bool done = false;
  for (int i = 0; i < 200 && !done; ++i) {
    done = recorded();
    if (!done) std::this_thread::sleep_for(50ms);
  }
  CHECK(done);
  serve.signal(SIGTERM);
  CHECK(serve.wait() == 0);
  std::string log = serve.stderr_text();
  CHECK(log.find("pull request outcome recorded") != std::string::npos);
  CHECK(log.find("CI result recorded") != std::string::npos);
}
