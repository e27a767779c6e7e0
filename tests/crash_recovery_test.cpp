// Runs the real forgehand binary: crashes it mid-burst, stops it by signal, starts it with zero
// configuration. Every load loop here is bounded in count and time.
#include <doctest/doctest.h>
#include <httplib.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <atomic>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "support/fixtures.h"
#include "support/process.h"

using namespace forgehand;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view kSecret = "crash-test-secret";

struct Server {
  testing::TempDir dir;
  std::string config;

  Server() {
    std::ofstream(dir.file("secret")) << kSecret << "\n";
    config = dir.file("forgehand.yaml");
    std::ofstream(config) << "listen: 127.0.0.1:0\n"
                          << "data_dir: " << dir.file("data") << "\n"
                          << "instances:\n"
                          << "  - name: github\n"
                          << "    type: github\n"
                          << "    webhook_secret: file:" << dir.file("secret") << "\n";
  }

  std::unique_ptr<testing::ChildProcess> start(const std::string& log_name) {
    std::filesystem::create_directories(dir.file(log_name));
    return std::make_unique<testing::ChildProcess>(
        std::vector<std::string>{"serve", "--config", config}, dir.file(log_name));
  }

  // delivery id -> how many rows hold it, read straight from the SQLite file.
  std::map<std::string, int> stored_ids(std::map<std::string, std::string>* states = nullptr) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open_v2(dir.file("data/forgehand.db").c_str(), &db, SQLITE_OPEN_READONLY,
                            nullptr) == SQLITE_OK);
    sqlite3_stmt* statement = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, "SELECT delivery_id, state FROM deliveries", -1, &statement,
                               nullptr) == SQLITE_OK);
    std::map<std::string, int> ids;
    while (sqlite3_step(statement) == SQLITE_ROW) {
      std::string id = reinterpret_cast<const char*>(sqlite3_column_text(statement, 0));
      ++ids[id];
      if (states) (*states)[id] = reinterpret_cast<const char*>(sqlite3_column_text(statement, 1));
    }
    sqlite3_finalize(statement);
    sqlite3_close(db);
    return ids;
  }
};

httplib::Headers signed_headers(const testing::Fixture& fixture, const std::string& id) {
  HeaderMap headers = fixture.headers;
  headers["x-github-delivery"] = id;
  testing::sign(ForgeKind::github, kSecret, fixture.body, headers);
  headers.erase("content-type");
  return httplib::Headers(headers.begin(), headers.end());
}

void wait_until_drained(int port) {
  httplib::Client client("127.0.0.1", port);
  for (int i = 0; i < 200; ++i) {
    auto health = client.Get("/healthz");
    if (health && health->body.find("\"queue_depth\":0}") != std::string::npos) return;
    std::this_thread::sleep_for(50ms);
  }
  FAIL("the queue did not drain within 10 s");
}

}  // namespace

TEST_CASE("SIGKILL mid-burst loses no acknowledged delivery, and restart finishes them all") {
  Server server;
  auto fixture = testing::load_fixture("github/issue_comment.created.issue");
  auto first = server.start("first");
  int port = first->wait_for_port();
  REQUIRE(port > 0);

  std::mutex mutex;
  std::set<std::string> acknowledged;
  std::atomic<bool> stop{false};
  std::vector<std::thread> senders;
  for (int t = 0; t < 4; ++t) {
    senders.emplace_back([&, t] {
      httplib::Client client("127.0.0.1", port);
      client.set_connection_timeout(2s);
      client.set_read_timeout(5s);
      for (int i = 0; i < 2000 && !stop; ++i) {
        std::string id = "burst-" + std::to_string(t) + "-" + std::to_string(i);
        auto response = client.Post("/hooks/github", signed_headers(fixture, id), fixture.body,
                                    "application/json");
        if (!response) break;  // the server is gone
        if (response->status / 100 == 2) {
          std::lock_guard lock(mutex);
          acknowledged.insert(id);
        }
      }
    });
  }
  for (int i = 0; i < 1000; ++i) {
    {
      std::lock_guard lock(mutex);
      if (acknowledged.size() >= 400) break;
    }
    std::this_thread::sleep_for(5ms);
  }
  first->signal(SIGKILL);
  CHECK(first->wait() == 128 + SIGKILL);
  stop = true;
  for (auto& sender : senders) sender.join();
  REQUIRE(acknowledged.size() >= 400);

  auto after_crash = server.stored_ids();
  for (const std::string& id : acknowledged) {
    CAPTURE(id);
    CHECK(after_crash[id] == 1);
  }

  auto second = server.start("second");
  int second_port = second->wait_for_port();
  REQUIRE(second_port > 0);
  wait_until_drained(second_port);

  httplib::Client client("127.0.0.1", second_port);
  for (const std::string& id :
       std::vector<std::string>(acknowledged.begin(), std::next(acknowledged.begin(), 20))) {
    auto again =
        client.Post("/hooks/github", signed_headers(fixture, id), fixture.body, "application/json");
    REQUIRE(again);
    CHECK(again->status == 200);
  }

  std::map<std::string, std::string> states;
  auto after_restart = server.stored_ids(&states);
  for (const std::string& id : acknowledged) {
    CAPTURE(id);
    CHECK(after_restart[id] == 1);
    CHECK(states[id] == "done");
  }
  for (const auto& [id, count] : after_restart) CHECK(count == 1);

  second->signal(SIGTERM);
  CHECK(second->wait() == 0);
}

TEST_CASE("SIGTERM finishes in-flight requests, flushes and exits 0") {
  Server server;
  auto fixture = testing::load_fixture("github/issue_comment.created.issue");
  auto process = server.start("run");
  int port = process->wait_for_port();
  REQUIRE(port > 0);

  std::atomic<int> acknowledged{0};
  std::atomic<int> refused{0};
  std::thread sender([&] {
    httplib::Client client("127.0.0.1", port);
    for (int i = 0; i < 3000; ++i) {
      auto response =
          client.Post("/hooks/github", signed_headers(fixture, "term-" + std::to_string(i)),
                      fixture.body, "application/json");
      if (!response) {
        ++refused;
        break;
      }
      if (response->status == 202) ++acknowledged;
    }
  });
  while (acknowledged < 50) std::this_thread::sleep_for(2ms);
  process->signal(SIGTERM);
  CHECK(process->wait() == 0);
  sender.join();
  CHECK(process->stderr_text().find(R"("msg":"stopped")") != std::string::npos);

  auto stored = server.stored_ids();
  CHECK(static_cast<int>(stored.size()) >= acknowledged.load());
}

TEST_CASE("zero configuration: the first start makes a data dir and a private secret") {
  testing::TempDir dir;
  std::string data = dir.file("data");
  std::string secret_before;
  for (int run = 0; run < 2; ++run) {
    std::string logs = dir.file("run" + std::to_string(run));
    std::filesystem::create_directories(logs);
    testing::ChildProcess process({"serve", "--data-dir", data, "--listen", "127.0.0.1:0"}, logs);
    int port = process.wait_for_port();
    REQUIRE(port > 0);
    std::string secret = testing::read_file(data + "/webhook-secret");
    CHECK(secret.size() == 65);                    // 32 random bytes in hex, and a newline
    if (run == 1) CHECK(secret == secret_before);  // kept across restarts
    secret_before = secret;
    struct stat info {};
    REQUIRE(stat((data + "/webhook-secret").c_str(), &info) == 0);
    CHECK((info.st_mode & 0777) == 0600);
    REQUIRE(stat(data.c_str(), &info) == 0);
    CHECK((info.st_mode & 0777) == 0700);

    std::string banner = process.stdout_text();
    for (const char* instance : {"github", "gitlab", "gitea", "forgejo"}) {
      CHECK(banner.find(":" + std::to_string(port) + "/hooks/" + instance) != std::string::npos);
    }
    CHECK(banner.find("secret: file:" + data + "/webhook-secret") != std::string::npos);
    CHECK(banner.find(secret.substr(0, 64)) == std::string::npos);  // where, never what
    CHECK(banner.find("Next:") != std::string::npos);

    auto fixture = testing::load_fixture("gitea/pull_request.closed.merged");
    testing::sign(ForgeKind::gitea, secret.substr(0, 64), fixture.body, fixture.headers);
    fixture.headers.erase("content-type");
    httplib::Client client("127.0.0.1", port);
    auto response = client.Post("/hooks/gitea",
                                httplib::Headers(fixture.headers.begin(), fixture.headers.end()),
                                fixture.body, "application/json");
    REQUIRE(response);
    CHECK(response->status == (run == 0 ? 202 : 200));
    process.signal(SIGTERM);
    CHECK(process.wait() == 0);
  }
}
