#pragma once
// The embedded store: one SQLite file in WAL mode with synchronous=FULL, so a write is on disk
// before it returns. All writes go through one writer thread that groups whatever is waiting
// into a single transaction (one fsync for many deliveries); reads use their own connection.
// Thread-safe.

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "forgehand/store.h"

struct sqlite3;

namespace forgehand {

struct SqliteStoreOptions {
  std::string path;
  // Called by the writer thread after each commit with its duration and how many writes it held.
  std::function<void(double seconds, std::size_t writes)> on_commit;
  std::size_t max_batch = 1024;
};

class SqliteStore final : public Store {
 public:
  // Creates the file and schema if needed. Errors are `io` and name the path.
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
  std::thread writer_thread_;
};

}  // namespace forgehand
