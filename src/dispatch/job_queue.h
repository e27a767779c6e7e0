#pragma once
// Runs allowed sessions on a pool of worker threads, one running session per repository at a
// time (two sessions pushing to one repository would race for its branches and its CI), in the
// order they were accepted. On one thread (an issue or pull request) the newest command wins: it
// replaces a queued session and stops a running one, whose sandbox is killed. Answers `status`
// and `cancel` for a thread. Thread-safe.
//
// With recording, every session's request is kept in the sessions table until it finishes, and
// recover() picks up what a previous process left: nothing accepted is lost to a crash.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "config/server_config.h"
#include "dispatch/comment_handler.h"
#include "dispatch/session_runner.h"
#include "forgehand/clock.h"
#include "forgehand/forge.h"
#include "forgehand/session.h"

namespace forgehand {

class JobQueue {
 public:
  // `run` does one session; `forge_for` finds the adapter of an instance (adapters outlive the
  // queue).
  using Run = std::function<SessionReport(const SessionRequest&, const Forge&,
                                          const std::atomic<bool>& cancel)>;
  using ForgeFor = std::function<const Forge*(const std::string& instance)>;

  // Where sessions are recorded (queued, running with heartbeats, their results and how they
  // ended) for the audit trail and the policy's attempt counts and budgets.
  struct Recording {
    SessionStore& store;
    const ServerConfig& config;  // names the credential behind each model call
    const Clock& clock;
  };

  JobQueue(int workers, Run run, ForgeFor forge_for,
           std::optional<Recording> recording = std::nullopt);
  // Finishes running sessions; queued ones stay queued in the table for the next recover().
  ~JobQueue();
  JobQueue(const JobQueue&) = delete;
  JobQueue& operator=(const JobQueue&) = delete;

  Result<void> start(const SessionRequest& request);
  // Markdown for the thread's `status` / `cancel` replies.
  std::string status(const Event& event) const;
  std::string cancel(const Event& event);

  // Waits until nothing is queued or running, for tests and shutdown.
  void drain();

  // For a restart: refuses new sessions and cancels the running ones (their sandboxes are
  // killed). A run that reports `queued` (SessionRunnerDeps::stopping) goes back to queued in the
  // table, its attempt not counted, for recover() at the next start; queued ones stay there.
  void interrupt();

  // Posts the failure of a session that will not run on its thread (SessionRunner::abandon).
  using Abandon = std::function<void(const SessionRequest&, const Forge&, const std::string& why)>;
  struct Recovery {
    std::vector<std::string> resumed;  // were queued: run again, in the order accepted
    std::vector<std::string> retried;  // were running: their worker died with the process
    std::vector<std::string> failed;   // ran out of attempts, or their request was unreadable
  };
  // A session may start this many times; a process dying under it each time is not retried again.
  static constexpr int kMaxAttempts = 2;
  // At start-up, before any start(): queued sessions the previous process left run again, running
  // ones (whose worker died with it) are retried until kMaxAttempts, then failed with a comment
  // through `abandon`. Needs recording; errors are the store's.
  Result<Recovery> recover(const Abandon& abandon);

 private:
  struct Job {
    SessionRequest request;
    std::string thread;  // instance/repo#number
  };
  struct Running {
    std::string session_id;
    std::shared_ptr<std::atomic<bool>> cancel;
  };
  void work();

  void enqueue(const SessionRequest& request);
  void record(const char* what, const Result<void>& written) const;
  void finish_unstarted(const std::string& session_id, const std::string& why) const;

  Run run_;
  ForgeFor forge_for_;
  std::optional<Recording> recording_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<Job> queued_;
  std::set<std::string> busy_repositories_;
  std::map<std::string, Running> running_;  // by thread
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

// "github/octo-org/hello-world#12": the key `status` and `cancel` look sessions up by.
std::string thread_key(const Event& event);

}  // namespace forgehand
