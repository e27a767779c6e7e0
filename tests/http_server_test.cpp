#include "server/http_server.h"

#include <doctest/doctest.h>
#include <httplib.h>

#include <mutex>

#include "store/sqlite_store.h"
#include "support/fixtures.h"
#include "util/log.h"

using namespace forgehand;

namespace {

constexpr std::string_view kSecret = "http-test-secret-value";

struct Forge {
  ForgeKind kind;
  const char* fixture;
};

const Forge kForges[] = {
    {ForgeKind::github, "github/issue_comment.created.issue"},
    {ForgeKind::gitlab, "gitlab/note_hook.issue"},
    {ForgeKind::gitea, "gitea/pull_request.closed.unmerged"},
    {ForgeKind::forgejo, "forgejo/pull_request.closed.unmerged"},
};

struct Rig {
  testing::TempDir dir;
  std::unique_ptr<SqliteStore> store;
  metrics::Registry registry;
  std::unique_ptr<Intake> intake;
  std::unique_ptr<HttpServer> server;
  std::unique_ptr<httplib::Client> client;

  explicit Rig(std::size_t max_body = 1 << 20) {
    store = std::move(*SqliteStore::open({.path = dir.file("forgehand.db")}));
    std::vector<IntakeInstance> instances;
    for (const Forge& forge : kForges) {
      IntakeInstance instance{std::string(to_string(forge.kind)), forge.kind, {}};
      instance.secrets.secret = Secret(std::string(kSecret));
      instances.push_back(std::move(instance));
    }
    intake = std::make_unique<Intake>(std::move(instances), *store, system_clock(), max_body);
    server = std::make_unique<HttpServer>(*intake, *store, registry,
                                          HttpServerOptions{"127.0.0.1", 0, 8, max_body});
    REQUIRE(server->start());
    client = std::make_unique<httplib::Client>("127.0.0.1", server->port());
  }

  httplib::Result post(std::string_view instance, const HeaderMap& headers,
                       const std::string& body) {
    httplib::Headers http_headers;
    std::string content_type = "application/json";
    for (const auto& [name, value] : headers) {
      if (name == "content-type") {
        content_type = value;
      } else {
        http_headers.emplace(name, value);
      }
    }
    return client->Post(("/hooks/" + std::string(instance)).c_str(), http_headers, body,
                        content_type.c_str());
  }
};

}  // namespace

TEST_CASE("over HTTP: valid, wrong, empty and missing signatures on all four forges") {
  testing::LogCapture logs;
  Rig rig;
  for (const Forge& forge : kForges) {
    CAPTURE(forge.fixture);
    std::string instance(to_string(forge.kind));
    auto fixture = testing::load_fixture(forge.fixture);

    HeaderMap valid = fixture.headers;
    testing::sign(forge.kind, kSecret, fixture.body, valid);
    auto accepted = rig.post(instance, valid, fixture.body);
    REQUIRE(accepted);
    CHECK(accepted->status == 202);
    CHECK(accepted->get_header_value("X-Forgehand-Outcome") == "accepted");

    HeaderMap wrong = fixture.headers;
    testing::sign(forge.kind, "not the secret", fixture.body, wrong);
    CHECK(rig.post(instance, wrong, fixture.body)->status == 401);

    HeaderMap empty = valid;
    for (auto& [name, value] : empty) {
      if (name.find("signature") != std::string::npos || name == "x-gitlab-token") value = "";
    }
    CHECK(rig.post(instance, empty, fixture.body)->status == 401);
    CHECK(rig.post(instance, fixture.headers, fixture.body)->status == 401);

    auto duplicate = rig.post(instance, valid, fixture.body);
    CHECK(duplicate->status == 200);
    CHECK(duplicate->body.find("duplicate") != std::string::npos);
  }
  CHECK(rig.store->count_deliveries()->pending == 4);

  std::string text = logs.text();
  CHECK(text.find(R"("msg":"webhook")") != std::string::npos);
  CHECK(text.find(testing::load_fixture(kForges[0].fixture).headers["x-github-delivery"]) !=
        std::string::npos);
  CHECK(text.find(kSecret) == std::string::npos);
}

TEST_CASE("over HTTP: unknown instance, ignored event, malformed JSON") {
  Rig rig;
  auto fixture = testing::load_fixture("github/issue_comment.created.issue");
  testing::sign(ForgeKind::github, kSecret, fixture.body, fixture.headers);
  CHECK(rig.post("bitbucket", fixture.headers, fixture.body)->status == 404);

  HeaderMap push = fixture.headers;
  push["x-github-event"] = "push";
  auto ignored = rig.post("github", push, fixture.body);
  CHECK(ignored->status == 202);
  CHECK(ignored->body.find("ignored") != std::string::npos);

  std::string broken = fixture.body.substr(0, fixture.body.size() / 2);
  HeaderMap signed_broken = fixture.headers;
  testing::sign(ForgeKind::github, kSecret, broken, signed_broken);
  CHECK(rig.post("github", signed_broken, broken)->status == 400);
  CHECK(rig.store->count_deliveries()->pending == 0);
}

TEST_CASE("over HTTP: bodies over the limit get 413, by length or by chunked reading") {
  Rig rig(/*max_body=*/20'000);
  auto fixture = testing::load_fixture("github/pull_request.closed.merged");  // 29 KB
  testing::sign(ForgeKind::github, kSecret, fixture.body, fixture.headers);
  auto by_length = rig.post("github", fixture.headers, fixture.body);
  REQUIRE(by_length);
  CHECK(by_length->status == 413);

  httplib::Headers headers;
  for (const auto& [name, value] : fixture.headers) headers.emplace(name, value);
  std::string body = fixture.body;
  auto chunked = rig.client->Post(
      "/hooks/github", headers,
      [&body](std::size_t offset, httplib::DataSink& sink) {
        sink.write(body.data() + offset, std::min<std::size_t>(4096, body.size() - offset));
        if (offset + 4096 >= body.size()) sink.done();
        return true;
      },
      "application/json");
  REQUIRE(chunked);
  CHECK(chunked->status == 413);
  CHECK(rig.store->count_deliveries()->pending == 0);
}

TEST_CASE("healthz and metrics") {
  Rig rig;
  auto fixture = testing::load_fixture("gitlab/note_hook.issue");
  testing::sign(ForgeKind::gitlab, kSecret, fixture.body, fixture.headers);
  CHECK(rig.post("gitlab", fixture.headers, fixture.body)->status == 202);
  CHECK(rig.post("gitlab", fixture.headers, fixture.body)->status == 200);
  CHECK(rig.post("nowhere", fixture.headers, fixture.body)->status == 404);

  auto health = rig.client->Get("/healthz");
  REQUIRE(health);
  CHECK(health->status == 200);
  CHECK(health->body == R"({"status":"ok","queue_depth":1})");

  auto metrics = rig.client->Get("/metrics");
  REQUIRE(metrics);
  CHECK(metrics->get_header_value("Content-Type").starts_with("text/plain; version=0.0.4"));
  const std::string& text = metrics->body;
  CHECK(
      text.find(
          R"(forgehand_deliveries_total{instance="gitlab",event="Note Hook",outcome="accepted"} 1)") !=
      std::string::npos);
  CHECK(
      text.find(
          R"(forgehand_deliveries_total{instance="gitlab",event="Note Hook",outcome="duplicate"} 1)") !=
      std::string::npos);
  CHECK(text.find(
            R"(forgehand_deliveries_total{instance="",event="",outcome="unknown_instance"} 1)") !=
        std::string::npos);
  CHECK(text.find("forgehand_ack_seconds_count 3") != std::string::npos);
}

TEST_CASE("a second server on a port already in use fails instead of sharing it") {
  Rig rig;
  HttpServer second(*rig.intake, *rig.store, rig.registry,
                    HttpServerOptions{"127.0.0.1", rig.server->port(), 2, 1 << 20});
  auto started = second.start();
  REQUIRE_FALSE(started.has_value());
  CHECK(started.error().message.find("in use") != std::string::npos);
}
