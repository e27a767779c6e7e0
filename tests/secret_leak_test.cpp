// Secrets planted in a real config, then every output of the real binary searched for them:
// check-config, providers check (with a provider that echoes its key back in an error), and
// serve's logs while it takes good and badly signed deliveries.
#include <doctest/doctest.h>
#include <httplib.h>
#include <signal.h>

#include <fstream>
#include <thread>

#include "support/fake_anthropic.h"
#include "support/fake_openai.h"
#include "support/fixtures.h"
#include "support/keys.h"
#include "support/process.h"

using namespace forgehand;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view kWebhookSecret = "planted-webhook-secret-0001";
constexpr std::string_view kGiteaToken = "planted-gitea-token-0002";
constexpr std::string_view kAnthropicKey = "planted-anthropic-key-0003";

struct Planted {
  testing::TempDir dir;
  testing::FakeOpenAi openai;
  testing::FakeAnthropic anthropic;
  std::string private_key = testing::generate_rsa_key().private_pem;
  std::string config = dir.file("forgehand.yaml");

  Planted() {
    auto secret_file = [&](const std::string& name, std::string_view value) {
      std::ofstream(dir.file(name)) << value << "\n";
      return "file:" + dir.file(name);
    };
    std::ofstream(config)
        << "listen: 127.0.0.1:0\n"
        << "data_dir: " << dir.file("data") << "\n"
        << "instances:\n"
        << "  - {name: gitea, type: gitea, api_url: http://127.0.0.1:9/api/v1, webhook_secret: "
        << secret_file("webhook", kWebhookSecret)
        << ", token: " << secret_file("gitea-token", kGiteaToken) << "}\n"
        << "  - {name: github, type: github, app_id: '12345', private_key: "
        << secret_file("app.pem", private_key)
        << ", webhook_secret: " << secret_file("webhook2", kWebhookSecret) << "}\n"
        << "providers:\n"
        << "  - {name: openai, kind: openai, base_url: " << openai.url()
        << "/v1, model: gpt-4o, credential: "
        << secret_file("openai-key", testing::FakeOpenAi::kKey) << "}\n"
        << "  - {name: claude, kind: anthropic, base_url: " << anthropic.url()
        << ", model: claude-sonnet-4-5, credential: " << secret_file("anthropic-key", kAnthropicKey)
        << "}\n"
        << "routes:\n"
        << "  default: [openai, claude]\n";
  }

  // Every planted value, and each line of the private key's body.
  std::vector<std::string> secrets() const {
    std::vector<std::string> values{std::string(kWebhookSecret), std::string(kGiteaToken),
                                    std::string(kAnthropicKey), testing::FakeOpenAi::kKey};
    std::istringstream lines(private_key);
    for (std::string line; std::getline(lines, line);) {
      if (!line.starts_with("-----")) values.push_back(line);
    }
    return values;
  }

  std::string run(std::vector<std::string> args, int expected_exit) {
    std::string logs = dir.file("logs-" + std::to_string(++runs_));
    std::filesystem::create_directories(logs);
    testing::ChildProcess process(std::move(args), logs);
    int status = process.wait();
    std::string output = process.stdout_text() + process.stderr_text();
    CHECK_MESSAGE(status == expected_exit, output);
    return output;
  }

 private:
  int runs_ = 0;
};

void check_clean(const Planted& planted, const std::string& output) {
  for (const std::string& secret : planted.secrets()) {
    CAPTURE(secret);
    CHECK(output.find(secret) == std::string::npos);
  }
}

}  // namespace

TEST_CASE("planted secrets appear in no output of check-config and providers check") {
  Planted planted;
  check_clean(planted, planted.run({"check-config", planted.config}, 0));
  check_clean(planted,
              planted.run({"providers", "check", "--config", planted.config, "--dry-run"}, 0));

  // A provider that quotes the key it was given, as some compatible servers do.
  planted.anthropic.inject({401,
                            R"({"type":"error","error":{"type":"authentication_error",)"
                            R"("message":"invalid x-api-key: )" +
                                std::string(kAnthropicKey) + R"("}})",
                            {}});
  std::string table = planted.run({"providers", "check", "--config", planted.config}, 1);
  check_clean(planted, table);
  CHECK(table.find("openai") != std::string::npos);
  CHECK(table.find("ok") != std::string::npos);
  CHECK(table.find("invalid x-api-key: [redacted]") != std::string::npos);
  CHECK(planted.run({"providers", "check", "--config", planted.config, "--route", "nope"}, 2)
            .find("no route named nope") != std::string::npos);
}

TEST_CASE("planted secrets appear in no log line of serve") {
  Planted planted;
  std::string logs = planted.dir.file("serve-logs");
  std::filesystem::create_directories(logs);
  testing::ChildProcess server({"serve", "--config", planted.config}, logs);
  int port = server.wait_for_port();
  REQUIRE(port > 0);

  auto fixture = testing::load_fixture("gitea/issue_comment.created.on_issue");
  httplib::Client client("127.0.0.1", port);
  for (std::string_view secret : {kWebhookSecret, std::string_view("a-wrong-secret-entirely")}) {
    HeaderMap headers = fixture.headers;
    testing::sign(ForgeKind::gitea, secret, fixture.body, headers);
    headers.erase("content-type");
    client.Post("/hooks/gitea", httplib::Headers(headers.begin(), headers.end()), fixture.body,
                "application/json");
  }
  // The token itself sent as a webhook's signature header must not be logged either.
  client.Post("/hooks/gitea", {{"X-Gitea-Signature", std::string(kGiteaToken)}}, fixture.body,
              "application/json");
  client.Get("/metrics");
  std::this_thread::sleep_for(200ms);
  server.signal(SIGTERM);
  CHECK(server.wait() == 0);
  check_clean(planted, server.stdout_text() + server.stderr_text());
}
