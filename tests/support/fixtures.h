#pragma once
// Test support: real payloads from fixtures/, signed at test time the way each forge signs them,
// temporary directories and a clock tests move by hand. Single-threaded use unless noted.

#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "forgehand/clock.h"
#include "forgehand/delivery.h"
#include "forgehand/forge_kind.h"

namespace forgehand::testing {

struct Fixture {
  std::string body;
  HeaderMap headers;  // lower-cased names, no signature headers
};

// `name` is "<forge>/<file stem>", e.g. "github/issue_comment.created.issue".
Fixture load_fixture(std::string_view name);

std::string read_file(const std::filesystem::path& path);

// The files of fixtures/repos/<name>, path → content, for GitServer::commit.
std::map<std::string, std::optional<std::string>> fixture_repository(std::string_view name);

// Adds the authenticity headers `kind` sends for `body` under `secret`:
// GitHub X-Hub-Signature-256, GitLab X-Gitlab-Token, Gitea X-Gitea-Signature (plus the
// X-Hub-Signature-256 copy Gitea sends), Forgejo X-Forgejo-Signature plus the Gitea set.
void sign(ForgeKind kind, std::string_view secret, std::string_view body, HeaderMap& headers);

// GitLab's signing-token headers (Standard Webhooks) for `body`, keyed by the raw key bytes.
void sign_gitlab_standard(std::string_view key, std::string_view webhook_id, long long timestamp,
                          std::string_view body, HeaderMap& headers);

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string file(std::string_view name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start = TimePoint(std::chrono::seconds(1'800'000'000)))
      : now_(start) {}
  TimePoint now() const override {
    std::lock_guard lock(mutex_);
    return now_;
  }
  void advance(std::chrono::milliseconds by) {
    std::lock_guard lock(mutex_);
    now_ += by;
  }

 private:
  mutable std::mutex mutex_;
  TimePoint now_;
};

// Records the waits it is asked for instead of waiting. Thread-safe.
class RecordingSleeper final : public Sleeper {
 public:
  void sleep_for(std::chrono::milliseconds duration) const override {
    std::lock_guard lock(mutex_);
    slept_.push_back(duration);
  }
  std::vector<std::chrono::milliseconds> slept() const {
    std::lock_guard lock(mutex_);
    return slept_;
  }

 private:
  mutable std::mutex mutex_;
  mutable std::vector<std::chrono::milliseconds> slept_;
};

// Captures forgehand's log lines for its lifetime (one at a time: it replaces the log's sink).
class LogCapture {
 public:
  LogCapture();
  ~LogCapture();
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;
  std::string text();

 private:
  std::mutex mutex_;
  std::string text_;
};

}  // namespace forgehand::testing
