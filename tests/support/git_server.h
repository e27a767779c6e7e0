#pragma once
// A real git smart-HTTP server for tests: lighttpd running `git http-backend` as CGI on a loopback
// port behind HTTP basic auth (wrong credentials get 401), serving bare repositories from a
// temporary directory, push allowed. Repositories are seeded and read back with the git CLI.
// One per test; the server handles concurrent clients, the object itself is single-threaded.

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "forgehand/forge.h"
#include "support/fixtures.h"

namespace forgehand::testing {

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs `argv` (no shell) in `cwd` with `env` added to a minimal environment in which git reads no
// host configuration. Killed after `timeout`.
CommandResult run_command(const std::vector<std::string>& argv, const std::string& cwd = "",
                          const std::map<std::string, std::string>& env = {},
                          std::chrono::seconds timeout = std::chrono::seconds(60));

class GitServer {
 public:
  // Starts lighttpd on a free loopback port (another is tried if the port is taken meanwhile).
  // Each request is held for `request_delay` first, so tests can widen races. Throws if it
  // cannot start.
  explicit GitServer(std::chrono::milliseconds request_delay = std::chrono::milliseconds(0));
  ~GitServer();  // stops the server
  GitServer(const GitServer&) = delete;
  GitServer& operator=(const GitServer&) = delete;

  static constexpr std::string_view kUser = "forgehand-bot";
  static constexpr std::string_view kPassword = "gitserver-token-5f1d8e0c2b7a4936";

  // http://127.0.0.1:<port>/git/<repo>.git
  std::string url(std::string_view repo) const;
  GitCredentials credentials(std::string_view repo, std::string_view password = kPassword) const;
  // An account basic auth accepts (a forge adapter's bot and token, say); replaces the user's
  // password when it has one.
  void add_user(std::string_view user, std::string_view password);

  // An empty bare repository (HEAD: main) that accepts pushes and fetches by commit id.
  void create_repo(std::string_view repo);
  // Commits `files` (path → content; nullopt deletes) on top of `branch` (or of `from` when the
  // branch is new; an orphan commit when both are missing) and moves the branch. Returns the sha.
  std::string commit(std::string_view repo, std::string_view branch,
                     const std::map<std::string, std::optional<std::string>>& files,
                     std::string_view message = "change", std::string_view from = "");
  // `git <args>` in the bare repository; throws on failure.
  std::string git(std::string_view repo, const std::vector<std::string>& args) const;
  // The sha `rev` names, or "" when it names nothing.
  std::string rev_parse(std::string_view repo, std::string_view rev) const;
  std::vector<std::string> refs(std::string_view repo) const;
  void install_hook(std::string_view repo, std::string_view name, std::string_view script);
  std::string repo_path(std::string_view repo) const;

  // Requests answered with a wrong password so far (lighttpd's error log, written at once).
  int failed_logins() const;
  // Requests that arrived while another was still being served.
  int overlapping_requests() const;
  // Lines of "<status> <method> <path> <user>"; lighttpd buffers this log, so it is complete
  // only after stop().
  std::vector<std::string> access_log() const;
  void stop();

 private:
  bool start_on(int port);

  TempDir dir_;
  std::chrono::milliseconds request_delay_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace forgehand::testing
