#pragma once
// The whole product under test: the real `forgehand serve` binary as a child process, a real git
// server (lighttpd + git http-backend) holding the repository, and whatever fake forge and
// scripted model a test starts on loopback. Deliveries are real-shaped payloads from fixtures/,
// pointed at the test's git server and signed as the forge signs them. Sessions are read back from
// the service's own SQLite file.

#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "forgehand/forge.h"
#include "forgehand/session.h"
#include "support/fixtures.h"
#include "support/git_server.h"
#include "support/process.h"

namespace forgehand::testing {

class ServeRig {
 public:
  static constexpr const char* kRepo = "alice/widgets";
  static constexpr const char* kSecret = "e2e-webhook-secret-5b1d";

  // The repository: the stats fixture (a C library whose tests fail on an off-by-one) on main,
  // and a `feature` branch one commit ahead, as a pull request's head.
  ServeRig();
  ~ServeRig();

  GitServer& git() { return git_; }
  TempDir& dir() { return dir_; }
  const std::string& main_sha() const { return main_sha_; }
  const std::string& feature_sha() const { return feature_sha_; }

  // `instance` is one YAML flow mapping for instances: (name, type, api_url, credentials); the
  // webhook secret is added. `model_url` is an OpenAI-compatible server's base URL (…/v1).
  void configure(const std::string& instance, const std::string& model_url);
  // Starts serve and waits until it listens.
  void start();
  // Ends serve with SIGKILL, as a crash would.
  void kill();
  // Stops serve with SIGTERM and returns its exit status.
  int stop();
  int port() const { return port_; }
  std::string logs() const;
  // Waits (bounded) until serve's logs hold `text` at least `count` times.
  bool wait_for_log(std::string_view text, int count = 1,
                    std::chrono::seconds timeout = std::chrono::seconds(30)) const;

  // POSTs the fixture to /hooks/<instance> under a new delivery id, after `patch` edits its JSON;
  // every `https://<host>/alice/widgets.git` in it becomes the git server's URL first. Returns
  // the HTTP status.
  int deliver(ForgeKind kind, const std::string& instance, const std::string& fixture,
              const std::function<void(nlohmann::json&)>& patch);

  // Checks that `session` succeeded with the scripted model and pushed the stats fix: its branch
  // on the git server, one commit on `base_sha` with the trailers, requested by alice.
  void check_pushed_fix(const SessionRecord& session, const std::string& base_sha);

  // The sessions in the service's store, newest first.
  std::vector<SessionRecord> sessions();
  // Waits (bounded) until a session exists and satisfies `done`; nullopt on timeout.
  std::optional<SessionRecord> wait_for_session(
      const std::function<bool(const SessionRecord&)>& done,
      std::chrono::seconds timeout = std::chrono::seconds(90));

 private:
  TempDir dir_;
  GitServer git_;
  std::string main_sha_;
  std::string feature_sha_;
  std::string config_path_;
  std::unique_ptr<ChildProcess> serve_;
  int port_ = -1;
  int starts_ = 0;
  int deliveries_ = 0;
};

}  // namespace forgehand::testing
