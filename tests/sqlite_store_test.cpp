#include "store/sqlite_store.h"

#include <doctest/doctest.h>

#include <atomic>
#include <thread>

#include "support/fixtures.h"

using namespace forgehand;
using namespace std::chrono_literals;

namespace {

Delivery make_delivery(std::string id, std::string body = R"({"action":"created"})",
                       TimePoint received = TimePoint(1'800'000'000s)) {
  Delivery delivery;
  delivery.instance = "github";
  delivery.delivery_id = std::move(id);
  delivery.event = "issue_comment";
  delivery.headers = {{"x-github-event", "issue_comment"}, {"user-agent", "GitHub-Hookshot/x"}};
  delivery.body = std::move(body);
  delivery.received_at = received;
  return delivery;
}

std::unique_ptr<SqliteStore> open_store(const testing::TempDir& dir,
                                        SqliteStoreOptions options = {}) {
  options.path = dir.file("forgehand.db");
  auto store = SqliteStore::open(std::move(options));
  REQUIRE_MESSAGE(store.has_value(), store.error().message);
  return std::move(*store);
}

const TimePoint kLater = TimePoint(1'900'000'000s);

}  // namespace

TEST_CASE("a delivery is recorded once, the same id again is a duplicate") {
  testing::TempDir dir;
  auto store = open_store(dir);
  CHECK(store->record_delivery(make_delivery("d-1")) == RecordOutcome::recorded);
  CHECK(store->record_delivery(make_delivery("d-1", R"({"other":1})")) == RecordOutcome::duplicate);
  Delivery other_instance = make_delivery("d-1");
  other_instance.instance = "github-enterprise";
  CHECK(store->record_delivery(other_instance) == RecordOutcome::recorded);

  auto found = store->find_delivery("github", "d-1");
  REQUIRE(found.has_value());
  REQUIRE(found->has_value());
  CHECK((*found)->body == R"({"action":"created"})");
  CHECK((*found)->header("user-agent") == "GitHub-Hookshot/x");
  CHECK(store->count_deliveries()->pending == 2);
}

TEST_CASE("bodies come back byte for byte, compressed or not") {
  testing::TempDir dir;
  auto store = open_store(dir);
  auto fixture = testing::load_fixture("github/pull_request.closed.merged");
  std::string binary("\x00\xff\x01 not json \x7f", 15);
  REQUIRE(store->record_delivery(make_delivery("big", fixture.body)));
  REQUIRE(store->record_delivery(make_delivery("binary", binary)));
  CHECK((*store->find_delivery("github", "big"))->body == fixture.body);
  CHECK((*store->find_delivery("github", "binary"))->body == binary);
}

TEST_CASE("claims take due deliveries oldest first and count attempts") {
  testing::TempDir dir;
  auto store = open_store(dir);
  for (int i = 0; i < 5; ++i)
    REQUIRE(store->record_delivery(make_delivery("d-" + std::to_string(i))));
  auto first = store->claim_deliveries(3, kLater);
  REQUIRE(first.has_value());
  REQUIRE(first->size() == 3);
  CHECK((*first)[0].delivery_id == "d-0");
  CHECK((*first)[2].delivery_id == "d-2");
  CHECK((*first)[0].attempts == 1);
  auto counts = store->count_deliveries();
  CHECK(counts->claimed == 3);
  CHECK(counts->pending == 2);
  CHECK(*store->queue_depth() == 5);

  auto rest = store->claim_deliveries(10, kLater);
  CHECK(rest->size() == 2);
  CHECK(store->claim_deliveries(10, kLater)->empty());
}

TEST_CASE("finish, retry and their guards") {
  testing::TempDir dir;
  auto store = open_store(dir);
  REQUIRE(store->record_delivery(make_delivery("a")));
  REQUIRE(store->record_delivery(make_delivery("b")));
  auto claimed = *store->claim_deliveries(2, kLater);
  REQUIRE(claimed.size() == 2);

  CHECK(store->finish_delivery(claimed[0].id, true, ""));
  auto again = store->finish_delivery(claimed[0].id, true, "");
  REQUIRE_FALSE(again.has_value());
  CHECK(again.error().code == ErrorCode::conflict);

  CHECK(store->retry_delivery(claimed[1].id, kLater + 60s, "forge answered 502"));
  CHECK(store->claim_deliveries(10, kLater + 59s)->empty());
  auto retried = *store->claim_deliveries(10, kLater + 60s);
  REQUIRE(retried.size() == 1);
  CHECK(retried[0].attempts == 2);
  CHECK(store->finish_delivery(retried[0].id, false, "gave up"));

  auto counts = *store->count_deliveries();
  CHECK(counts.done == 1);
  CHECK(counts.failed == 1);
  CHECK(*store->queue_depth() == 0);
}

TEST_CASE("deliveries claimed when the process died are requeued on the next start") {
  testing::TempDir dir;
  {
    auto store = open_store(dir);
    REQUIRE(store->record_delivery(make_delivery("in-flight")));
    REQUIRE(store->claim_deliveries(1, kLater)->size() == 1);
  }
  auto store = open_store(dir);
  CHECK(store->claim_deliveries(1, kLater)->empty());
  CHECK(*store->requeue_interrupted_deliveries() == 1);
  auto claimed = *store->claim_deliveries(1, kLater);
  REQUIRE(claimed.size() == 1);
  CHECK(claimed[0].delivery_id == "in-flight");
  CHECK(claimed[0].attempts == 2);
}

TEST_CASE("pruning removes only finished deliveries older than the cut-off") {
  testing::TempDir dir;
  auto store = open_store(dir);
  REQUIRE(store->record_delivery(make_delivery("old-done", "{}", TimePoint(1000s))));
  REQUIRE(store->record_delivery(make_delivery("old-pending", "{}", TimePoint(1001s))));
  REQUIRE(store->record_delivery(make_delivery("new-done", "{}", TimePoint(5000s))));
  auto claimed = *store->claim_deliveries(3, kLater);
  CHECK(store->finish_delivery(claimed[0].id, true, ""));
  CHECK(store->retry_delivery(claimed[1].id, kLater, "later"));
  CHECK(store->finish_delivery(claimed[2].id, true, ""));
  CHECK(*store->prune_deliveries(TimePoint(2000s)) == 1);
  CHECK_FALSE(store->find_delivery("github", "old-done")->has_value());
  CHECK(store->find_delivery("github", "old-pending")->has_value());
  CHECK(store->find_delivery("github", "new-done")->has_value());
}

TEST_CASE("concurrent writers are grouped into shared commits and none is lost") {
  testing::TempDir dir;
  std::atomic<std::size_t> commits{0};
  std::atomic<std::size_t> writes{0};
  SqliteStoreOptions options;
  options.on_commit = [&](double, std::size_t n) {
    ++commits;
    writes += n;
  };
  auto store = open_store(dir, options);
  constexpr int kThreads = 16;
  constexpr int kEach = 100;
  std::vector<std::thread> threads;
  std::atomic<int> recorded{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto outcome = store->record_delivery(
            make_delivery("t" + std::to_string(t) + "-" + std::to_string(i)));
        if (outcome && *outcome == RecordOutcome::recorded) ++recorded;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(recorded == kThreads * kEach);
  CHECK(store->count_deliveries()->pending == kThreads * kEach);
  CHECK(writes == kThreads * kEach);
  CHECK(commits < writes);  // grouped: fewer commits (and fsyncs) than writes
}

TEST_CASE("opening a path that cannot be a database is an io error naming it") {
  testing::TempDir dir;
  auto store = SqliteStore::open({.path = dir.file("missing-dir/forgehand.db")});
  REQUIRE_FALSE(store.has_value());
  CHECK(store.error().code == ErrorCode::io);
  CHECK(store.error().message.find("missing-dir") != std::string::npos);
}
