#include "dispatch/delivery_workers.h"

#include <doctest/doctest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "store/sqlite_store.h"
#include "support/fixtures.h"

using namespace forgehand;
using namespace std::chrono_literals;

namespace {

struct Rig {
  testing::TempDir dir;
  testing::ManualClock clock;
  std::unique_ptr<SqliteStore> store;

  Rig() {
    auto opened = SqliteStore::open({.path = dir.file("forgehand.db")});
    REQUIRE(opened.has_value());
    store = std::move(*opened);
  }

  void record(const std::string& id) {
    Delivery delivery;
    delivery.instance = "gitea";
    delivery.delivery_id = id;
    delivery.event = "issue_comment";
    delivery.body = "{}";
    delivery.received_at = clock.now();
    REQUIRE(store->record_delivery(delivery) == RecordOutcome::recorded);
  }

  DeliveryWorkerOptions options() const {
    DeliveryWorkerOptions options;
    options.count = 2;
    options.max_attempts = 3;
    options.retry_initial = 10s;
    options.retry_max = 15s;
    options.poll_interval = 20ms;
    return options;
  }
};

}  // namespace

TEST_CASE("retry delays double up to the maximum") {
  DeliveryWorkerOptions options;
  options.retry_initial = 10s;
  options.retry_max = 60s;
  CHECK(retry_delay(options, 1) == 10s);
  CHECK(retry_delay(options, 2) == 20s);
  CHECK(retry_delay(options, 3) == 40s);
  CHECK(retry_delay(options, 4) == 60s);
  CHECK(retry_delay(options, 30) == 60s);
}

TEST_CASE("a handled delivery is done, the handler sees it whole") {
  Rig rig;
  rig.record("ok-1");
  std::vector<std::string> seen;
  DeliveryWorkers workers(
      *rig.store,
      [&](const Delivery& delivery) -> Result<void> {
        seen.push_back(delivery.delivery_id + ":" + delivery.event + ":" + delivery.body);
        return {};
      },
      rig.clock, rig.options());
  CHECK(*workers.run_once() == 1);
  CHECK(seen == std::vector<std::string>{"ok-1:issue_comment:{}"});
  CHECK(rig.store->count_deliveries()->done == 1);
}

TEST_CASE("transient failures are retried with backoff until the attempt limit") {
  Rig rig;
  rig.record("flaky");
  int calls = 0;
  std::vector<DeliveryResult> results;
  auto options = rig.options();
  options.on_result = [&](const Delivery&, DeliveryResult result) { results.push_back(result); };
  DeliveryWorkers workers(
      *rig.store,
      [&](const Delivery&) -> Result<void> {
        ++calls;
        return fail(ErrorCode::unavailable, "forge answered 502");
      },
      rig.clock, options);

  CHECK(*workers.run_once() == 1);
  CHECK(*workers.run_once() == 0);  // not due yet
  rig.clock.advance(10s);
  CHECK(*workers.run_once() == 1);
  rig.clock.advance(14s);
  CHECK(*workers.run_once() == 0);
  rig.clock.advance(1s);  // second delay is capped at 15 s
  CHECK(*workers.run_once() == 1);
  CHECK(calls == 3);
  CHECK(results == std::vector<DeliveryResult>{DeliveryResult::retry, DeliveryResult::retry,
                                               DeliveryResult::failed});
  auto counts = *rig.store->count_deliveries();
  CHECK(counts.failed == 1);
  CHECK(counts.pending == 0);
}

TEST_CASE("a permanent error fails the delivery at once") {
  Rig rig;
  rig.record("broken");
  DeliveryWorkers workers(
      *rig.store,
      [](const Delivery&) -> Result<void> {
        return fail(ErrorCode::malformed, "github: parse issue_comment: missing comment.body");
      },
      rig.clock, rig.options());
  CHECK(*workers.run_once() == 1);
  CHECK(rig.store->count_deliveries()->failed == 1);
}

TEST_CASE("threaded workers pick up woken work and requeue what a crash left claimed") {
  Rig rig;
  rig.record("left-claimed");
  REQUIRE(rig.store->claim_deliveries(1, rig.clock.now())->size() == 1);
  std::atomic<int> handled{0};
  std::atomic<int> worker_nice{-100};
  DeliveryWorkers workers(
      *rig.store,
      [&](const Delivery&) -> Result<void> {
        worker_nice = getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
        ++handled;
        return {};
      },
      rig.clock, rig.options());
  REQUIRE(workers.start());
  for (int i = 0; i < 20; ++i) {
    rig.record("new-" + std::to_string(i));
    workers.wake();
  }
  for (int i = 0; i < 500 && handled < 21; ++i) std::this_thread::sleep_for(10ms);
  workers.stop();
  CHECK(handled == 21);
  CHECK(rig.store->count_deliveries()->done == 21);
  CHECK(worker_nice == 10);  // below the HTTP threads that acknowledge webhooks
}
