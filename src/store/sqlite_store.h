#pragma once
// The embedded store: one SQLite file in WAL mode with synchronous=FULL, so a write is on disk
// before it returns. All writes (deliveries and sessions alike) go through one writer thread that
// groups whatever is waiting into a single transaction (one fsync for many writes); reads use
// their own connection. Thread-safe.

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "forgehand/session.h"
#include "forgehand/store.h"

struct sqlite3;

namespace forgehand {

struct SqliteStoreOptions {
  std::string path;
  // Called by the writer thread after each commit with its duration and how many writes it held.
  std::function<void(double seconds, std::size_t writes)> on_commit;
  std::size_t max_batch = 1024;
  // Opens an existing file for reading only (the audit commands, beside a running server): no
  // schema change, no writer thread, and every write fails with `invalid_argument`.
  bool read_only = false;
};

class SqliteStore final : public Store, public SessionStore {
 public:
  // Creates the file if needed and brings its schema up to date (schema_version records the
  // migrations applied). Errors are `io` and name the path; `config` for a file written by a
  // newer forgehand, or, read-only, for one without the sessions table yet.
  static Result<std::unique_ptr<SqliteStore>> open(SqliteStoreOptions options);

  // Finishes every queued write, then closes the file.
  ~SqliteStore() override;

  Result<RecordOutcome> record_delivery(const Delivery& delivery) override;
  Result<std::vector<Delivery>> claim_deliveries(std::size_t limit, TimePoint now) override;
  Result<void> finish_delivery(std::int64_t id, bool succeeded, std::string_view error) override;
  Result<void> retry_delivery(std::int64_t id, TimePoint not_before,
                              std::string_view error) override;
  Result<std::size_t> requeue_interrupted_deliveries() override;
  Result<DeliveryCounts> count_deliveries() override;
  Result<std::int64_t> queue_depth() override;
  Result<std::optional<Delivery>> find_delivery(std::string_view instance,
                                                std::string_view delivery_id) override;
  Result<std::size_t> prune_deliveries(TimePoint received_before) override;

  using SessionStore::create_session;
  Result<void> create_session(const SessionRecord& session, std::string_view job) override;
  Result<void> start_session(std::string_view id, std::string_view worker, TimePoint now) override;
  Result<void> heartbeat_session(std::string_view id, std::string_view worker,
                                 TimePoint now) override;
  Result<void> requeue_session(std::string_view id, std::string_view error) override;
  Result<void> release_session(std::string_view id, std::string_view error) override;
  Result<void> update_session(std::string_view id, const SessionUpdate& update) override;
  Result<void> finish_session(std::string_view id, SessionState state, std::string_view error,
                              TimePoint now) override;
  Result<std::size_t> record_pull_request_outcome(std::string_view instance, std::string_view repo,
                                                  std::int64_t number, PullRequestState state,
                                                  std::string_view merged_by,
                                                  TimePoint at) override;
  Result<std::size_t> record_ci_result(std::string_view instance, std::string_view repo,
                                       std::string_view head_sha, std::string_view check,
                                       CiResult result) override;
  Result<std::optional<SessionRecord>> find_session(std::string_view id) override;
  Result<std::optional<std::string>> find_transcript(std::string_view id) override;
  Result<std::optional<std::string>> find_session_job(std::string_view id) override;
  Result<std::vector<SessionRecord>> list_sessions(const SessionFilter& filter) override;
  Result<std::vector<SessionRecord>> stale_sessions(TimePoint heartbeat_before) override;
  Result<std::int64_t> count_ci_fix_attempts(std::string_view instance, std::string_view repo,
                                             std::string_view head_sha) override;
  Result<std::int64_t> count_pull_request_attempts(std::string_view instance, std::string_view repo,
                                                   std::int64_t number) override;
  Result<MonthlyUsage> monthly_usage(std::string_view instance, std::string_view repo,
                                     TimePoint in_month) override;

  class Connection;
  struct WriteOp;

 private:
  SqliteStore(SqliteStoreOptions options, std::unique_ptr<Connection> writer,
              std::unique_ptr<Connection> reader);

  // Runs `body` inside the writer thread's next transaction and waits for the commit.
  template <class T>
  Result<T> write(std::function<Result<T>(Connection&)> body);
  void enqueue(std::shared_ptr<WriteOp> op);
  void writer_loop();

  SqliteStoreOptions options_;
  std::unique_ptr<Connection> writer_;
  std::unique_ptr<Connection> reader_;
  std::mutex reader_mutex_;

  std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::deque<std::shared_ptr<WriteOp>> queue_;
  bool stopping_ = false;
  std::thread writer_thread_;  // not started when read-only
};

}  // namespace forgehand
