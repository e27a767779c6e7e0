#include <doctest/doctest.h>
#include <stdlib.h>

#include <fstream>

#include "config/server_config.h"
#include "server/verify.h"
#include "support/fixtures.h"
#include "support/process.h"

using namespace forgehand;

namespace {
std::string errors_of(std::string_view yaml) {
  auto config = parse_server_config(yaml, "test.yaml", "/srv/forgehand");
  REQUIRE_FALSE(config.has_value());
  CHECK(config.error().code == ErrorCode::config);
  return config.error().message;
}

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}
}  // namespace

TEST_CASE("the example config is valid and complete") {
  std::string path = std::string(FORGEHAND_SOURCE_DIR) + "/config/forgehand.example.yaml";
  auto config = load_server_config(path);
  REQUIRE_MESSAGE(config.has_value(), config.error().message);
  CHECK(config->listen_host == "127.0.0.1");
  CHECK(config->listen_port == 8080);
  CHECK(config->data_dir == "/var/lib/forgehand");
  CHECK(config->store.path == "/var/lib/forgehand/forgehand.db");
  REQUIRE(config->instances.size() == 4);
  CHECK(config->instances[1].kind == ForgeKind::gitlab);
  CHECK(config->instances[1].signing_token.configured());
  CHECK(config->instances[3].kind == ForgeKind::forgejo);
  CHECK(config->instances[3].api_url == "https://codeberg.org/api/v1");
  REQUIRE(config->providers.size() == 4);
  CHECK(config->providers[2].api_version == "2024-10-21");
  REQUIRE(config->routes.size() == 3);
  CHECK(config->routes[1].providers == std::vector<std::string>{"azure", "local"});
  CHECK(config->currency == "USD");
  CHECK(config->templates_dir.empty());
}

TEST_CASE("defaults fill what a minimal config leaves out") {
  auto config =
      parse_server_config("instances:\n  - name: gh\n    type: github\n    webhook_secret: env:X\n",
                          "t.yaml", "/srv/fh");
  REQUIRE(config.has_value());
  CHECK(config->data_dir == "/srv/fh/data");
  CHECK(config->store.path == "/srv/fh/data/forgehand.db");
  CHECK(config->instances[0].api_url == "https://api.github.com");
  CHECK(config->public_url == "http://127.0.0.1:8080");
  CHECK(config->max_body_bytes == 25u * 1024 * 1024);
}

TEST_CASE("unknown keys name their path and line, with a likely intended key") {
  std::string errors = errors_of(
      "listen: 127.0.0.1:8080\n"
      "instances:\n"
      "  - name: gh\n"
      "    type: github\n"
      "    webhok_secret: env:X\n");
  CHECK(contains(errors,
                 "test.yaml:5:5: instances[0].webhok_secret: unknown key "
                 "(did you mean webhook_secret?)"));
  CHECK(contains(errors, "test.yaml:3:5: instances[0]: has no webhook_secret"));
}

TEST_CASE("bad values are reported, all of them at once") {
  std::string errors = errors_of(
      "listen: localhost\n"
      "http_threads: lots\n"
      "workers: {count: 0}\n"
      "instances:\n"
      "  - name: Bad Name\n"
      "    type: bitbucket\n"
      "    webhook_secret: hunter2\n");
  CHECK(contains(errors, "test.yaml:1:9: listen: must be host:port"));
  CHECK(contains(errors, "test.yaml:2:15: http_threads: must be an integer"));
  CHECK(contains(errors, "workers.count: must be between 1 and 256"));
  CHECK(contains(errors, "test.yaml:5:11: instances[0].name: must be 1-64 characters"));
  CHECK(contains(errors, "test.yaml:6:11: instances[0].type: must be one of github"));
  CHECK(contains(errors, "instances[0].webhook_secret: must be a reference"));
  CHECK_FALSE(contains(errors, "hunter2"));
}

TEST_CASE("templates_dir must be a directory, resolved against the config's directory") {
  testing::TempDir dir;
  std::filesystem::create_directory(dir.path() / "templates");
  std::string instance = "instances:\n  - name: gh\n    type: github\n    webhook_secret: env:X\n";
  auto config =
      parse_server_config("templates_dir: templates\n" + instance, "t.yaml", dir.path().string());
  REQUIRE_MESSAGE(config.has_value(), config.error().message);
  CHECK(config->templates_dir == (dir.path() / "templates").string());

  std::string errors = errors_of("templates_dir: /nonexistent/templates\n" + instance);
  CHECK(contains(errors, "test.yaml:1:16: templates_dir: directory does not exist"));
  std::ofstream(dir.file("file.txt")) << "x";
  auto file =
      parse_server_config("templates_dir: file.txt\n" + instance, "t.yaml", dir.path().string());
  REQUIRE_FALSE(file.has_value());
  CHECK(contains(file.error().message, "templates_dir: is not a directory"));
}

TEST_CASE("currency is a short label shown after costs") {
  std::string instance = "instances:\n  - name: gh\n    type: github\n    webhook_secret: env:X\n";
  auto euro = parse_server_config("currency: €\n" + instance, "t.yaml", "/srv");
  REQUIRE(euro.has_value());
  CHECK(euro->currency == "€");
  auto none = parse_server_config(instance, "t.yaml", "/srv");
  REQUIRE(none.has_value());
  CHECK(none->currency.empty());
  CHECK(contains(errors_of("currency: US dollars\n" + instance),
                 "test.yaml:1:11: currency: must be a short label without spaces"));
}

TEST_CASE("instances without a secret refuse to start unless explicitly insecure") {
  CHECK(contains(errors_of("instances: [{name: a, type: gitea}]"), "has no webhook_secret"));
  auto insecure = parse_server_config(
      "instances: [{name: a, type: gitea, api_url: 'http://gitea.local/api/v1', "
      "insecure_no_secret: true}]",
      "t.yaml", "/x");
  REQUIRE(insecure.has_value());
  CHECK(insecure->instances[0].insecure_no_secret);
  CHECK(contains(errors_of("instances: [{name: a, type: github, webhook_secret: env:X, "
                           "insecure_no_secret: true}]"),
                 "contradicts the configured secret"));
}

TEST_CASE("a GitLab signing token alone is enough, and only GitLab may have one") {
  auto signing_only = parse_server_config(
      "instances: [{name: gl, type: gitlab, signing_token: env:TOKEN}]", "t.yaml", "/x");
  CHECK(signing_only.has_value());
  CHECK(contains(errors_of("instances: [{name: gh, type: github, webhook_secret: env:A, "
                           "signing_token: env:B}]"),
                 "signing_token: is only for gitlab instances"));
}

TEST_CASE("API credentials belong to the right kind of instance") {
  CHECK(contains(errors_of("instances: [{name: gh, type: github, webhook_secret: env:A, "
                           "app_id: '42'}]"),
                 "a GitHub App needs both app_id and private_key"));
  CHECK(contains(errors_of("instances: [{name: gh, type: github, webhook_secret: env:A, "
                           "token: env:T}]"),
                 "github instances authenticate as an App"));
  CHECK(contains(errors_of("instances: [{name: gl, type: gitlab, webhook_secret: env:A, "
                           "private_key: file:/k.pem}]"),
                 "private_key: is only for github instances"));
  CHECK(contains(errors_of("instances: [{name: gt, type: gitea, webhook_secret: env:A, "
                           "token: ghp_inline}]"),
                 "instances[0].token: must be a reference"));
  CHECK(contains(errors_of("instances: [{name: gt, type: gitea, webhook_secret: env:A, "
                           "token: env:T, token_type: oauth}]"),
                 "token_type: is only for gitlab instances"));
  auto oauth = parse_server_config(
      "instances: [{name: gl, type: gitlab, webhook_secret: env:A, token: env:T, "
      "token_type: oauth}]",
      "t.yaml", "/x");
  REQUIRE(oauth.has_value());
  CHECK(oauth->instances[0].oauth_token);
  auto app = parse_server_config(
      "instances: [{name: gh, type: github, webhook_secret: env:A, app_id: Iv1.x, "
      "private_key: file:/k.pem}]",
      "t.yaml", "/x");
  REQUIRE(app.has_value());
  CHECK(app->instances[0].app_id == "Iv1.x");
  CHECK(app->instances[0].private_key.reference == "file:/k.pem");
}

TEST_CASE("instance names are unique, and at least one instance is needed") {
  CHECK(contains(errors_of("instances:\n"
                           "  - {name: a, type: github, webhook_secret: env:X}\n"
                           "  - {name: a, type: gitlab, webhook_secret: env:Y}\n"),
                 "test.yaml:3:12: instances[1].name: instance \"a\" is defined twice"));
  CHECK(contains(errors_of("listen: 127.0.0.1:9000\n"), "at least one forge instance"));
}

TEST_CASE("YAML syntax errors and keys given twice carry their line") {
  CHECK(contains(errors_of("instances: [\n  {name: a\n"), "test.yaml:"));
  CHECK(contains(errors_of("listen: 127.0.0.1:1\nlisten: 127.0.0.1:2\n"
                           "instances: [{name: a, type: github, webhook_secret: env:X}]\n"),
                 "test.yaml:2:1: listen: given more than once"));
}

TEST_CASE("listen addresses: IPv4, bracketed IPv6 and port 0") {
  std::string host;
  int port = -1;
  CHECK(parse_listen_address("0.0.0.0:443", host, port));
  CHECK((host == "0.0.0.0" && port == 443));
  CHECK(parse_listen_address("[::1]:0", host, port));
  CHECK((host == "::1" && port == 0));
  CHECK_FALSE(parse_listen_address("127.0.0.1:65536", host, port));
  CHECK_FALSE(parse_listen_address(":80", host, port));
  CHECK_FALSE(parse_listen_address("127.0.0.1:http", host, port));
}

TEST_CASE("webhook secrets resolve at start, reporting where an unresolvable one is") {
  testing::TempDir dir;
  std::ofstream(dir.file("signing")) << "whsec_"
                                     << "c2VjcmV0LWtleS1ieXRlcw=="
                                     << "\n";
  std::string yaml =
      "instances:\n  - name: gl\n    type: gitlab\n    signing_token: file:" + dir.file("signing") +
      "\n    webhook_secret: env:FORGEHAND_TEST_UNSET\n";
  unsetenv("FORGEHAND_TEST_UNSET");
  auto config = parse_server_config(yaml, "t.yaml", dir.path().string());
  REQUIRE(config.has_value());
  auto unresolved = resolve_webhook_secrets(config->instances[0]);
  REQUIRE_FALSE(unresolved.has_value());
  CHECK(contains(unresolved.error().message,
                 "t.yaml:5:21: instances[0].webhook_secret: environment variable "
                 "FORGEHAND_TEST_UNSET is not set"));

  setenv("FORGEHAND_TEST_UNSET", "token", 1);
  auto resolved = resolve_webhook_secrets(config->instances[0]);
  REQUIRE(resolved.has_value());
  CHECK(resolved->signing_key->reveal() == "secret-key-bytes");
  CHECK(resolved->secret->reveal() == "token");
}

TEST_CASE("forgehand check-config exits non-zero with the problems, zero when valid") {
  testing::TempDir dir;
  std::ofstream(dir.file("bad.yaml")) << "listen: nowhere\ninstances: [{name: a, type: github}]\n";
  {
    testing::ChildProcess check({"check-config", dir.file("bad.yaml")}, dir.path().string());
    CHECK(check.wait() == 1);
    CHECK(contains(check.stderr_text(), "bad.yaml:1:9: listen: must be host:port"));
  }
  std::ofstream(dir.file("secret")) << "abc\n";
  std::ofstream(dir.file("good.yaml"))
      << "instances: [{name: a, type: github, webhook_secret: 'file:" << dir.file("secret")
      << "'}]\n";
  testing::ChildProcess check({"check-config", dir.file("good.yaml")}, dir.path().string());
  CHECK(check.wait() == 0);
  CHECK(contains(check.stdout_text(), "ok (1 forge instance, 0 model providers, 0 routes)"));
}
