// Sessions survive a restart: their requests are kept in the sessions table (a real SQLite
// file), and a new process's JobQueue::recover runs the queued ones again, retries the ones whose
// worker died once, and fails with a comment those that died too often or cannot be read back.
#include <doctest/doctest.h>

#include <mutex>
#include <thread>

#include "dispatch/job_queue.h"
#include "dispatch/session_job.h"
#include "dispatch/session_records.h"
#include "forges/forge_registry.h"
#include "store/sqlite_store.h"
#include "support/fixtures.h"

using namespace forgehand;
using namespace std::chrono_literals;

namespace {

SessionRequest full_request(const std::string& id, std::int64_t number) {
  SessionRequest request;
  request.session_id = id;
  Event& event = request.event;
  event.kind = EventKind::ci_failed;
  event.instance = "gitea";
  event.delivery_id = "delivery-" + id;
  event.action = "completed";
  event.repo = {"octo/widgets",
                "42",
                "http://127.0.0.1:9/octo/widgets.git",
                "http://127.0.0.1:9/octo/widgets",
                "main",
                ""};
  event.actor = {"alice", "7", false, false};
  event.number = number;
  event.is_pull_request = true;
  event.comment_body = "@forgehand fix it — “quoted” ✓";
  event.head_sha = std::string(40, 'a');
  event.head_ref = "feature";
  event.base_ref = "main";
  event.ci_job_ids = {"11", "12"};
  event.ci_conclusion = "failure";
  event.ci_check = "workflow run 7";
  request.run.verb = commands::Verb::retry;
  request.run.instructions = "fix the flaky test\nsecond line";
  request.run.route = "fast";
  request.decision.allowed = true;
  request.decision.task = TaskType::ci_fix;
  request.decision.sensitivity = "internal";
  request.decision.route = "fast";
  request.decision.limits = {1000, 0.5, 10, 20};
  request.decision.protected_paths = {"secrets/**"};
  request.decision.network = true;
  request.decision.instructions = {"docs/AGENTS.md"};
  request.decision.reasons = {"alice may write", "route fast"};
  request.decision.rejections = {".forgehand.yml:3:5: budget is above the server's"};
  request.acknowledgement = {"901", "http://127.0.0.1:9/octo/widgets/pulls/3#issuecomment-901"};
  request.failing_jobs = {"build (ubuntu)"};
  request.failure_excerpt = "error: expected ';'\n";
  return request;
}

struct Rig {
  testing::TempDir dir;
  std::unique_ptr<SqliteStore> store = open();
  ServerConfig config;
  HttplibClient http;
  ApiDependencies api{http, system_clock(), real_sleeper()};
  std::unique_ptr<Forge> forge = std::move(
      *make_forge(ForgeSettings{"gitea", ForgeKind::gitea, "http://127.0.0.1:9/api/v1"}, api));
  std::mutex mutex;
  std::vector<std::string> ran;
  std::vector<std::pair<SessionRequest, std::string>> abandoned;

  std::unique_ptr<SqliteStore> open() {
    auto opened = SqliteStore::open(SqliteStoreOptions{.path = dir.file("forgehand.db")});
    REQUIRE_MESSAGE(opened.has_value(), opened.error().message);
    return std::move(*opened);
  }

  std::unique_ptr<JobQueue> queue() {
    return std::make_unique<JobQueue>(
        1,
        [this](const SessionRequest& request, const Forge&, const std::atomic<bool>&) {
          std::lock_guard lock(mutex);
          ran.push_back(request.session_id + ":" + request.run.instructions);
          SessionReport report;
          report.state = SessionState::succeeded;
          return report;
        },
        [this](const std::string& name) { return name == "gitea" ? forge.get() : nullptr; },
        JobQueue::Recording{*store, config, system_clock()});
  }

  JobQueue::Abandon abandon() {
    return [this](const SessionRequest& request, const Forge&, const std::string& why) {
      std::lock_guard lock(mutex);
      abandoned.emplace_back(request, why);
    };
  }

  // What a previous process left: the session created with its job, started `starts` times.
  void leave(const SessionRequest& request, int starts, TimePoint created) {
    REQUIRE(store->create_session(new_session_record(request, created), session_job_json(request)));
    for (int i = 0; i < starts; ++i) {
      if (i > 0) REQUIRE(store->requeue_session(request.session_id, "died"));
      REQUIRE(store->start_session(request.session_id, "pid1", created));
    }
  }

  SessionState state(const std::string& id) { return (*store->find_session(id))->state; }
};

}  // namespace

TEST_CASE("session job: a request round-trips through its JSON") {
  SessionRequest original = full_request("fh-000000000001", 3);
  auto parsed = parse_session_job(session_job_json(original));
  REQUIRE_MESSAGE(parsed.has_value(), parsed.error().message);
  CHECK(session_job_json(*parsed) == session_job_json(original));
  CHECK(parsed->event.kind == EventKind::ci_failed);
  CHECK(parsed->event.repo.id == "42");
  CHECK(parsed->event.comment_body == original.event.comment_body);
  CHECK(parsed->event.ci_check == "workflow run 7");
  CHECK(parsed->event.ci_job_ids == original.event.ci_job_ids);
  CHECK(parsed->run.verb == commands::Verb::retry);
  CHECK(parsed->decision.task == TaskType::ci_fix);
  CHECK(parsed->decision.limits.cost == doctest::Approx(0.5));
  CHECK(parsed->decision.rejections == original.decision.rejections);
  CHECK(parsed->acknowledgement.id == "901");
  CHECK(parsed->failure_excerpt == original.failure_excerpt);

  for (const char* bad : {"", "not json", "[]", R"({"version":2})", R"({"version":1})"}) {
    CAPTURE(bad);
    auto refused = parse_session_job(bad);
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error().code == ErrorCode::malformed);
  }
}

TEST_CASE("recovery: queued sessions run again in the order they were accepted") {
  Rig rig;
  TimePoint t0 = system_clock().now() - 1h;
  SessionRequest second = full_request("fh-000000000002", 2);
  second.run.instructions = "second";
  SessionRequest first = full_request("fh-000000000001", 1);
  first.run.instructions = "first";
  rig.leave(second, 0, t0 + 2s);
  rig.leave(first, 0, t0 + 1s);

  auto queue = rig.queue();
  auto recovered = queue->recover(rig.abandon());
  REQUIRE_MESSAGE(recovered.has_value(), recovered.error().message);
  CHECK(recovered->resumed == std::vector<std::string>{"fh-000000000001", "fh-000000000002"});
  CHECK(recovered->retried.empty());
  CHECK(recovered->failed.empty());
  queue->drain();
  CHECK(rig.ran == std::vector<std::string>{"fh-000000000001:first", "fh-000000000002:second"});
  CHECK(rig.state("fh-000000000001") == SessionState::succeeded);
  CHECK(rig.state("fh-000000000002") == SessionState::succeeded);
  CHECK_FALSE(rig.store->find_session_job("fh-000000000001")->has_value());
  CHECK(rig.abandoned.empty());
}

TEST_CASE("recovery: a session whose worker died is retried once, then failed with a comment") {
  Rig rig;
  TimePoint t0 = system_clock().now() - 1h;
  rig.leave(full_request("fh-00000000000a", 1), 1, t0);
  rig.leave(full_request("fh-00000000000b", 2), JobQueue::kMaxAttempts, t0 + 1s);

  auto queue = rig.queue();
  auto recovered = queue->recover(rig.abandon());
  REQUIRE_MESSAGE(recovered.has_value(), recovered.error().message);
  CHECK(recovered->retried == std::vector<std::string>{"fh-00000000000a"});
  CHECK(recovered->failed == std::vector<std::string>{"fh-00000000000b"});
  CHECK(recovered->resumed.empty());
  queue->drain();

  CHECK(rig.ran == std::vector<std::string>{"fh-00000000000a:fix the flaky test\nsecond line"});
  auto retried = *rig.store->find_session("fh-00000000000a");
  CHECK(retried->state == SessionState::succeeded);
  CHECK(retried->attempts == 2);

  auto failed = *rig.store->find_session("fh-00000000000b");
  CHECK(failed->state == SessionState::failed);
  CHECK(failed->error ==
        "forgehand stopped while this session ran, 2 times; it is not retried again");
  REQUIRE(rig.abandoned.size() == 1);
  // The whole request was kept, so the failure goes to the right comment with its route.
  CHECK(rig.abandoned[0].first.acknowledgement.id == "901");
  CHECK(rig.abandoned[0].first.decision.route == "fast");
  CHECK(rig.abandoned[0].second == failed->error);
}

TEST_CASE("recovery: a session whose request cannot be read back is failed on its thread") {
  Rig rig;
  SessionRequest lost = full_request("fh-00000000000c", 5);
  REQUIRE(rig.store->create_session(new_session_record(lost, system_clock().now())));
  SessionRequest garbled = full_request("fh-00000000000d", 6);
  REQUIRE(rig.store->create_session(new_session_record(garbled, system_clock().now()),
                                    R"({"version":99})"));
  SessionRequest elsewhere = full_request("fh-00000000000e", 7);
  elsewhere.event.instance = "removed-from-config";
  rig.leave(elsewhere, 0, system_clock().now());

  auto queue = rig.queue();
  auto recovered = queue->recover(rig.abandon());
  REQUIRE_MESSAGE(recovered.has_value(), recovered.error().message);
  CHECK(recovered->failed.size() == 3);
  CHECK(recovered->resumed.empty());
  queue->drain();
  CHECK(rig.ran.empty());
  CHECK(rig.state("fh-00000000000c") == SessionState::failed);
  CHECK(rig.state("fh-00000000000d") == SessionState::failed);
  CHECK(rig.state("fh-00000000000e") == SessionState::failed);
  // The record alone still finds the thread and the acknowledgement to edit; a session of an
  // instance no longer configured has nowhere to be reported.
  REQUIRE(rig.abandoned.size() == 2);
  for (const auto& [request, why] : rig.abandoned) {
    CHECK(request.acknowledgement.id == "901");
    CHECK(request.event.repo.full_name == "octo/widgets");
    CHECK(request.event.is_pull_request);
    CHECK(why.starts_with("forgehand restarted and could not read this session back"));
  }
  CHECK((*rig.store->find_session("fh-00000000000e"))->error.find("no forge instance") !=
        std::string::npos);
}

TEST_CASE("recovery: a session interrupted by a stopping queue runs again, its attempt refunded") {
  Rig rig;
  SessionRequest request = full_request("fh-00000000000f", 8);
  std::atomic<bool> running{false};
  {
    // As SessionRunner reports a session cancelled while forgehand stops.
    JobQueue queue(
        1,
        [&](const SessionRequest&, const Forge&, const std::atomic<bool>& cancel) {
          running = true;
          for (int i = 0; i < 5000 && !cancel; ++i) std::this_thread::sleep_for(1ms);
          SessionReport report;
          report.state = cancel ? SessionState::queued : SessionState::succeeded;
          report.error = "forgehand stopped while this session ran";
          report.agent.calls = {{"openai", "gpt-4o", "api.openai.com", 200, 1.0, {}, 0.25, "", ""}};
          report.runner_seconds = 30;
          return report;
        },
        [&](const std::string& name) { return name == "gitea" ? rig.forge.get() : nullptr; },
        JobQueue::Recording{*rig.store, rig.config, system_clock()});
    REQUIRE(queue.start(request));
    for (int i = 0; i < 2000 && !running; ++i) std::this_thread::sleep_for(1ms);
    REQUIRE(running);
    queue.interrupt();
    CHECK_FALSE(queue.start(full_request("fh-000000000010", 9)).has_value());
  }
  auto interrupted = *rig.store->find_session(request.session_id);
  CHECK(interrupted->state == SessionState::queued);
  CHECK(interrupted->attempts == 0);
  CHECK(interrupted->cost() == doctest::Approx(0.25));
  CHECK_FALSE(rig.store->find_session("fh-000000000010")->has_value());

  auto queue = rig.queue();
  auto recovered = queue->recover(rig.abandon());
  REQUIRE_MESSAGE(recovered.has_value(), recovered.error().message);
  CHECK(recovered->resumed == std::vector<std::string>{request.session_id});
  queue->drain();
  auto finished = *rig.store->find_session(request.session_id);
  CHECK(finished->state == SessionState::succeeded);
  CHECK(finished->attempts == 1);
  // The rerun's spend comes on top of what the interrupted start spent (the rig's run reports
  // none).
  CHECK(finished->calls.size() == 1);
  CHECK(finished->cost() == doctest::Approx(0.25));
  CHECK(finished->runner_seconds == doctest::Approx(30));
  CHECK(rig.abandoned.empty());
}
