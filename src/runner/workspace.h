#pragma once
// Where a job's code comes from: one bare mirror per repository, fetched with only the refs a job
// names, and a fresh checkout per job copied from the mirror's local path, on its own
// `forgehand/<session>-<slug>` branch. Old mirrors and checkouts are evicted by age and total
// size. Thread-safe; several processes may share one root (mirrors are also locked on disk).

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "forgehand/clock.h"
#include "forgehand/error.h"
#include "forgehand/forge.h"

namespace forgehand::runner {

struct WorkspaceOptions {
  std::string root;       // <data_dir>/workspaces: holds mirrors/ and jobs/
  std::string ca_bundle;  // trust store for https remotes (ServerConfig::ca_bundle); empty: system
  // The git that indexes fetched packs on every core (index_pack.h), an absolute path; empty:
  // libgit2 indexes them on one thread.
  std::string git_program;
  int max_auth_attempts = 3;
  // How long prepare() waits for another job (or process) using the same mirror.
  std::chrono::milliseconds lock_timeout{std::chrono::minutes(15)};
  std::chrono::seconds max_age{std::chrono::hours(24 * 7)};  // unused this long: evicted
  std::uint64_t max_bytes = 20ULL << 30;                     // all mirrors and checkouts together
  const Clock* clock = &system_clock();
};

struct RepoSource {
  std::string instance;        // the configured forge instance
  std::string full_name;       // "owner/repo"; GitLab: "group/subgroup/project"
  GitCredentials credentials;  // clone_url (http or https), user name, token
};

struct CheckoutRequest {
  std::string session_id;  // letters, digits, '-' and '_'
  std::string task;        // a few words for the branch name ("fix the flaky test")
  // What to fetch: branch names ("main"), full refs ("refs/pull/7/head",
  // "refs/merge-requests/7/head") or 40-hex commit ids. Nothing else is fetched.
  std::vector<std::string> refs;
  std::string base_sha;  // where the branch starts; empty: the commit of refs[0]
};

// A job's working tree. While any copy exists the directory is leased to the job and eviction
// leaves it alone.
struct Checkout {
  std::string path;    // the working tree (absolute)
  std::string branch;  // forgehand/<session>-<slug>
  std::string base_sha;
  // The mirror's object directory: where publish reads the base from, out of the agent's reach.
  std::string base_objects;
  std::shared_ptr<void> lease;
};

struct EvictionReport {
  std::vector<std::string> removed;  // directories, oldest first
  std::vector<std::string> busy;     // due for eviction but in use
  std::uint64_t bytes_freed = 0;
  std::uint64_t bytes_kept = 0;
};

class Workspace {
 public:
  // Creates the root directories and initialises libgit2 (`config` if the CA bundle cannot be
  // used).
  static Result<std::unique_ptr<Workspace>> open(WorkspaceOptions options);

  // Brings the repository's mirror up to date with exactly `request.refs` (serialised with every
  // other user of the mirror), then makes a new checkout on a new forgehand branch at the base
  // commit. A checkout left by an earlier attempt of the same session is replaced. Errors:
  // `invalid_argument` for a bad session id, ref or URL; `unauthorized` when the forge's
  // credentials are refused (after max_auth_attempts offers); `not_found` when a ref is not on the
  // remote or the base commit is not in what was fetched; `timeout` when the mirror stays busy;
  // `conflict` when the session's checkout is in use; `unavailable` for network failures;
  // `config` for an untrusted certificate.
  Result<Checkout> prepare(const RepoSource& source, const CheckoutRequest& request);

  // Removes mirrors and checkouts unused for max_age, then the least recently used until the
  // total is within max_bytes. Entries in use are skipped and reported. The service calls this
  // periodically.
  Result<EvictionReport> evict();

  const WorkspaceOptions& options() const { return options_; }
  std::string mirror_path(std::string_view instance, std::string_view full_name) const;

 private:
  explicit Workspace(WorkspaceOptions options) : options_(std::move(options)) {}
  std::shared_ptr<std::timed_mutex> mirror_mutex(const std::string& mirror);

  WorkspaceOptions options_;
  std::mutex mutexes_mutex_;
  std::map<std::string, std::shared_ptr<std::timed_mutex>> mirror_mutexes_;
};

// "Fix the flaky test in parser_test.cpp!" → "fix-the-flaky-test-in-parser-test"; at most 40
// characters, cut at a word boundary; "task" when nothing is left.
std::string branch_slug(std::string_view task);

}  // namespace forgehand::runner
