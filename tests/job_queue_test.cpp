// The job queue: one running session per repository, in order; status and cancel per thread.
#include "dispatch/job_queue.h"

#include <doctest/doctest.h>

#include <atomic>
#include <thread>

#include "forges/forge_registry.h"

using namespace forgehand;
using namespace std::chrono_literals;

namespace {

SessionRequest request(const std::string& id, const std::string& repo, std::int64_t number) {
  SessionRequest session;
  session.session_id = id;
  session.event.instance = "gitea";
  session.event.repo.full_name = repo;
  session.event.number = number;
  return session;
}

struct Rig {
  HttplibClient http;
  ApiDependencies api{http, system_clock(), real_sleeper()};
  std::unique_ptr<Forge> forge = std::move(
      *make_forge(ForgeSettings{"gitea", ForgeKind::gitea, "http://127.0.0.1:9/api/v1"}, api));
  std::mutex mutex;
  std::vector<std::string> order;
  std::atomic<int> running{0};
  std::atomic<int> most_running_per_repo{0};
  std::atomic<bool> hold{true};
  // While set, a cancelled session takes its time to stop, as a sandbox being killed does.
  std::atomic<bool> linger{false};
  std::atomic<int> cancelled{0};

  JobQueue::Run run() {
    return [this](const SessionRequest& session, const Forge&, const std::atomic<bool>& cancel) {
      int now = ++running;
      {
        std::lock_guard lock(mutex);
        order.push_back(session.session_id);
      }
      for (int i = 0; i < 500 && hold && !(cancel && !linger); ++i) {
        std::this_thread::sleep_for(1ms);
      }
      most_running_per_repo = std::max(most_running_per_repo.load(), now);
      --running;
      SessionReport report;
      report.state = cancel ? SessionState::cancelled : SessionState::succeeded;
      if (cancel) ++cancelled;
      return report;
    };
  }
  JobQueue::ForgeFor forge_for() {
    return [this](const std::string& name) { return name == "gitea" ? forge.get() : nullptr; };
  }
};

}  // namespace

TEST_CASE("sessions on one repository run one at a time, in order, others run alongside") {
  Rig rig;
  rig.hold = false;
  JobQueue queue(3, rig.run(), rig.forge_for());
  REQUIRE(queue.start(request("a1", "o/a", 1)));
  REQUIRE(queue.start(request("a2", "o/a", 2)));
  REQUIRE(queue.start(request("a3", "o/a", 3)));
  queue.drain();
  std::vector<std::string> a_order;
  for (const std::string& id : rig.order) a_order.push_back(id);
  CHECK(a_order == std::vector<std::string>{"a1", "a2", "a3"});
  CHECK(rig.most_running_per_repo == 1);
}

TEST_CASE("status and cancel answer for the thread, a queued session can be cancelled") {
  Rig rig;
  JobQueue queue(1, rig.run(), rig.forge_for());
  REQUIRE(queue.start(request("r1", "o/a", 7)));
  for (int i = 0; i < 500 && rig.running == 0; ++i) std::this_thread::sleep_for(1ms);
  REQUIRE(queue.start(request("r2", "o/a", 8)));
  CHECK(queue.status(request("x", "o/a", 7).event) == "Session `r1` is running here.");
  CHECK(queue.status(request("x", "o/a", 8).event) == "Session `r2` is queued here.");
  CHECK(queue.cancel(request("x", "o/a", 8).event) == "Cancelled session `r2` before it started.");
  CHECK(queue.status(request("x", "o/a", 9).event) ==
        "No forgehand session is queued or running here.");
  rig.hold = false;
  queue.drain();
  CHECK(rig.order == std::vector<std::string>{"r1"});
  CHECK(queue.start(request("z", "o/a", 1)));
  queue.drain();
  auto unknown = request("u", "o/a", 1);
  unknown.event.instance = "nope";
  CHECK(queue.start(unknown).error().code == ErrorCode::not_found);
}

TEST_CASE("cancel stops a running session, a newer command replaces the one on its thread") {
  Rig rig;
  JobQueue queue(1, rig.run(), rig.forge_for());
  REQUIRE(queue.start(request("c1", "o/a", 7)));
  for (int i = 0; i < 500 && rig.running == 0; ++i) std::this_thread::sleep_for(1ms);
  CHECK(queue.cancel(request("x", "o/a", 7).event) ==
        "Stopping session `c1`: its commands are killed and nothing is pushed.");
  queue.drain();
  CHECK(rig.cancelled == 1);

  REQUIRE(queue.start(request("n1", "o/a", 8)));
  for (int i = 0; i < 500 && rig.running == 0; ++i) std::this_thread::sleep_for(1ms);
  rig.linger = true;
  REQUIRE(queue.start(request("n2", "o/a", 8)));  // stops n1
  REQUIRE(queue.start(request("n3", "o/a", 8)));  // replaces n2 before it starts
  rig.linger = false;
  rig.hold = false;
  queue.drain();
  CHECK(rig.cancelled == 2);
  CHECK(rig.order == std::vector<std::string>{"c1", "n1", "n3"});
}
