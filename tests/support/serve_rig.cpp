#include "support/serve_rig.h"

#include <doctest/doctest.h>
#include <httplib.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "store/sqlite_store.h"
#include "support/scripted_openai.h"

namespace forgehand::testing {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// The fixtures name their forge's own host; the service must clone from the test's server.
void point_clone_urls(json& value, const std::string& clone_url) {
  static const std::regex kCloneUrl(R"(^https?://[^/]+/alice/widgets\.git$)");
  if (value.is_object() || value.is_array()) {
    for (auto& item : value) point_clone_urls(item, clone_url);
  } else if (value.is_string() && std::regex_match(value.get<std::string>(), kCloneUrl)) {
    value = clone_url;
  }
}

}  // namespace

ServeRig::ServeRig() {
  git_.create_repo(kRepo);
  main_sha_ = git_.commit(kRepo, "main", fixture_repository("stats"), "stats");
  feature_sha_ =
      git_.commit(kRepo, "feature", {{"NOTES.md", "work in progress\n"}}, "notes", "main");
  std::ofstream(dir_.file("webhook-secret")) << kSecret << "\n";
  std::ofstream(dir_.file("model-key")) << ScriptedOpenAi::kKey << "\n";
  config_path_ = dir_.file("forgehand.yaml");
}

ServeRig::~ServeRig() {
  if (serve_) stop();
}

void ServeRig::configure(const std::string& instance, const std::string& model_url) {
  std::string with_secret = instance;
  with_secret.insert(with_secret.rfind('}'),
                     ", webhook_secret: \"file:" + dir_.file("webhook-secret") + "\"");
  std::ofstream(config_path_, std::ios::trunc)
      << "listen: 127.0.0.1:0\n"
      << "data_dir: " << dir_.file("data") << "\n"
      << "workers: {count: 2}\n"
      << "instances:\n  - " << with_secret << "\n"
      << "providers:\n"
      << "  - {name: scripted, kind: openai-compatible, base_url: \"" << model_url
      << "\", model: gpt-4o, credential: \"file:" << dir_.file("model-key")
      << "\", price: {input_per_million: 2, output_per_million: 8}}\n"
      << "routes: {default: [scripted]}\n";
}

void ServeRig::start() {
  std::string logs = dir_.file("logs-" + std::to_string(++starts_));
  fs::create_directories(logs);
  serve_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{"serve", "--config", config_path_}, logs);
  port_ = serve_->wait_for_port();
  REQUIRE_MESSAGE(port_ > 0, serve_->stderr_text());
}

void ServeRig::kill() {
  serve_->signal(SIGKILL);
  serve_->wait();
  serve_.reset();
}

int ServeRig::stop() {
  serve_->signal(SIGTERM);
  int status = serve_->wait();
  serve_.reset();
  return status;
}

std::string ServeRig::logs() const {
  std::string all;
  for (int i = 1; i <= starts_; ++i) {
    fs::path dir = dir_.path() / ("logs-" + std::to_string(i));
    for (const auto& entry : fs::directory_iterator(dir)) all += read_file(entry.path());
  }
  return all;
}

bool ServeRig::wait_for_log(std::string_view text, int count, std::chrono::seconds timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::string all = logs();
    int found = 0;
    for (auto at = all.find(text); at != std::string::npos; at = all.find(text, at + 1)) ++found;
    if (found >= count) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

int ServeRig::deliver(ForgeKind kind, const std::string& instance, const std::string& fixture,
                      const std::function<void(json&)>& patch) {
  Fixture loaded = load_fixture(fixture);
  json body = json::parse(loaded.body);
  point_clone_urls(body, git_.url(kRepo));
  patch(body);
  std::string text = body.dump();
  HeaderMap headers = loaded.headers;
  std::string id = "e2e-" + std::to_string(++deliveries_) + "-" + std::to_string(::getpid());
  for (auto& [name, value] : headers) {
    // GitLab's intake takes Idempotency-Key before X-Gitlab-Event-UUID.
    if (name.ends_with("-delivery") || name == "x-gitlab-event-uuid" || name == "idempotency-key") {
      value = id;
    }
  }
  sign(kind, kSecret, text, headers);
  headers.erase("content-type");
  httplib::Client client("127.0.0.1", port_);
  auto response =
      client.Post("/hooks/" + instance, httplib::Headers(headers.begin(), headers.end()), text,
                  "application/json");
  return response ? response->status : -1;
}

void ServeRig::check_pushed_fix(const SessionRecord& session, const std::string& base_sha) {
  auto contains = [](const std::string& text, std::string_view part) {
    return text.find(part) != std::string::npos;
  };
  CHECK(session.state == SessionState::succeeded);
  CHECK(session.error.empty());
  CHECK(session.head_ref.starts_with("forgehand/" + session.id + "-"));
  REQUIRE(session.head_sha.size() == 40);
  CHECK(session.model() == "scripted/" + std::string(ScriptedOpenAi::kModel));
  CHECK(session.runner_seconds > 0);
  CHECK_FALSE(session.calls.empty());

  CHECK(git_.rev_parse(kRepo, session.head_ref) == session.head_sha);
  CHECK(git_.rev_parse(kRepo, session.head_sha + "~1") == base_sha);
  std::string message = git_.git(kRepo, {"log", "-1", "--format=%B", session.head_sha});
  CHECK(contains(message, "Forgehand-Session: " + session.id));
  CHECK(contains(message, "Model: scripted/"));
  CHECK(contains(message, "Requested-by: alice"));
  CHECK(contains(git_.git(kRepo, {"show", session.head_sha + ":src/stats.c"}), "i <= to"));
}

std::vector<SessionRecord> ServeRig::sessions() {
  auto store = SqliteStore::open(
      SqliteStoreOptions{.path = dir_.file("data/forgehand.db"), .read_only = true});
  if (!store) return {};
  auto listed = (*store)->list_sessions({});
  return listed ? *listed : std::vector<SessionRecord>{};
}

std::optional<SessionRecord> ServeRig::wait_for_session(
    const std::function<bool(const SessionRecord&)>& done, std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    for (const SessionRecord& session : sessions()) {
      if (done(session)) return session;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return std::nullopt;
}

}  // namespace forgehand::testing
