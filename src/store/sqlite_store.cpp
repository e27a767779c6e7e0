#include "store/sqlite_store.h"

#include <pthread.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <map>
#include <nlohmann/json.hpp>

#include "util/compression.h"
#include "util/log.h"

namespace forgehand {

namespace {

constexpr int kSchemaVersion = 1;

// Bodies smaller than this are stored as they are: compressing them saves too little.
constexpr std::size_t kCompressFrom = 512;
constexpr std::size_t kMaxStoredBody = std::size_t{1} << 30;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS deliveries (
  id              INTEGER PRIMARY KEY,
  instance        TEXT    NOT NULL,
  delivery_id     TEXT    NOT NULL,
  event           TEXT    NOT NULL,
  headers         TEXT    NOT NULL,
  body            BLOB    NOT NULL,
  body_encoding   TEXT    NOT NULL DEFAULT 'identity' CHECK (body_encoding IN ('identity', 'zstd')),
  received_at_ms  INTEGER NOT NULL,
  state           TEXT    NOT NULL DEFAULT 'pending'
                  CHECK (state IN ('pending', 'claimed', 'done', 'failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  due_at_ms       INTEGER NOT NULL,
  last_error      TEXT,
  finished_at_ms  INTEGER,
  UNIQUE (instance, delivery_id)
);
CREATE INDEX IF NOT EXISTS deliveries_by_state ON deliveries (state, due_at_ms);
)sql";

std::int64_t to_ms(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

TimePoint from_ms(std::int64_t ms) { return TimePoint(std::chrono::milliseconds(ms)); }

struct StatementDeleter {
  void operator()(sqlite3_stmt* statement) const { sqlite3_finalize(statement); }
};
struct DatabaseDeleter {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};

}  // namespace

// One SQLite connection and its prepared statements. Used by one thread at a time.
class SqliteStore::Connection {
 public:
  class Statement {
   public:
    Statement(Connection& connection, sqlite3_stmt* statement)
        : connection_(connection), statement_(statement) {}
    ~Statement() {
      sqlite3_reset(statement_);
      sqlite3_clear_bindings(statement_);
    }
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    Statement& bind(int index, std::int64_t value) {
      sqlite3_bind_int64(statement_, index, value);
      return *this;
    }
    Statement& bind(int index, std::string_view text) {
      sqlite3_bind_text(statement_, index, text.data(), static_cast<int>(text.size()),
                        SQLITE_STATIC);
      return *this;
    }
    Statement& bind_blob(int index, std::string_view bytes) {
      sqlite3_bind_blob(statement_, index, bytes.data(), static_cast<int>(bytes.size()),
                        SQLITE_STATIC);
      return *this;
    }

    // True while a row is available; an error ends stepping and is kept in `status()`.
    bool next_row() {
      int rc = sqlite3_step(statement_);
      if (rc == SQLITE_ROW) return true;
      if (rc != SQLITE_DONE) error_ = connection_.error("step");
      return false;
    }
    Result<void> run() {
      while (next_row()) {
      }
      return status();
    }
    Result<void> status() const {
      if (error_) return tl::unexpected(*error_);
      return {};
    }

    std::int64_t integer(int column) const { return sqlite3_column_int64(statement_, column); }
    std::string text(int column) const {
      const auto* data = static_cast<const char*>(sqlite3_column_blob(statement_, column));
      int size = sqlite3_column_bytes(statement_, column);
      return data == nullptr ? std::string{} : std::string(data, static_cast<std::size_t>(size));
    }

   private:
    Connection& connection_;
    sqlite3_stmt* statement_;
    std::optional<Error> error_;
  };

  static Result<std::unique_ptr<Connection>> open(const std::string& path) {
    sqlite3* raw = nullptr;
    int rc =
        sqlite3_open_v2(path.c_str(), &raw,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    std::unique_ptr<sqlite3, DatabaseDeleter> db(raw);
    if (rc != SQLITE_OK) {
      return fail(ErrorCode::io,
                  "sqlite: open " + path + ": " + (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
    }
    auto connection = std::unique_ptr<Connection>(new Connection(std::move(db)));
    // WAL lets reads run beside the writer; synchronous=FULL fsyncs the WAL at every commit, so
    // an acknowledged delivery survives a power cut, not only a crash of this process.
    for (const char* pragma : {"PRAGMA busy_timeout = 10000", "PRAGMA journal_mode = WAL",
                               "PRAGMA synchronous = FULL", "PRAGMA foreign_keys = ON"}) {
      if (auto done = connection->exec(pragma); !done) return tl::unexpected(done.error());
    }
    return connection;
  }

  Result<void> exec(const char* sql) {
    char* message = nullptr;
    if (sqlite3_exec(db_.get(), sql, nullptr, nullptr, &message) != SQLITE_OK) {
      std::string text = message ? message : sqlite3_errmsg(db_.get());
      sqlite3_free(message);
      return fail(ErrorCode::io, "sqlite: " + text);
    }
    return {};
  }

  // Prepared once per connection and reused: the ack path must not re-parse SQL.
  Result<std::unique_ptr<Statement>> statement(const char* sql) {
    auto it = cache_.find(sql);
    if (it == cache_.end()) {
      sqlite3_stmt* raw = nullptr;
      if (sqlite3_prepare_v3(db_.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr) !=
          SQLITE_OK) {
        return tl::unexpected(error("prepare"));
      }
      it = cache_.emplace(sql, std::unique_ptr<sqlite3_stmt, StatementDeleter>(raw)).first;
    }
    return std::make_unique<Statement>(*this, it->second.get());
  }

  int changes() const { return sqlite3_changes(db_.get()); }

  Error error(std::string_view operation) const {
    return Error{ErrorCode::io,
                 "sqlite: " + std::string(operation) + ": " + sqlite3_errmsg(db_.get())};
  }

 private:
  explicit Connection(std::unique_ptr<sqlite3, DatabaseDeleter> db) : db_(std::move(db)) {}

  std::unique_ptr<sqlite3, DatabaseDeleter> db_;
  std::map<const char*, std::unique_ptr<sqlite3_stmt, StatementDeleter>> cache_;
};

// A write waiting for the writer thread: `apply` runs one SQL statement inside the batch
// transaction, `complete` hands the caller its result once the commit succeeded or failed.
struct SqliteStore::WriteOp {
  virtual ~WriteOp() = default;
  virtual void apply(Connection& connection) = 0;
  virtual void complete(const Error* commit_error) = 0;
};

namespace {

template <class T>
struct TypedWriteOp final : SqliteStore::WriteOp {
  explicit TypedWriteOp(std::function<Result<T>(SqliteStore::Connection&)> body)
      : body_(std::move(body)) {}

  void apply(SqliteStore::Connection& connection) override { result_ = body_(connection); }
  void complete(const Error* commit_error) override {
    if (commit_error != nullptr && result_.has_value()) {
      promise_.set_value(tl::unexpected(*commit_error));
    } else {
      promise_.set_value(std::move(result_));
    }
  }

  std::function<Result<T>(SqliteStore::Connection&)> body_;
  Result<T> result_ = tl::unexpected(Error{ErrorCode::internal, "write never ran"});
  std::promise<Result<T>> promise_;
};

Delivery read_delivery(const SqliteStore::Connection::Statement& row) {
  Delivery delivery;
  delivery.id = row.integer(0);
  delivery.instance = row.text(1);
  delivery.delivery_id = row.text(2);
  delivery.event = row.text(3);
  auto headers = nlohmann::json::parse(row.text(4), nullptr, false);
  if (headers.is_object()) {
    for (const auto& [name, value] : headers.items()) {
      if (value.is_string()) delivery.headers.emplace(name, value.get<std::string>());
    }
  }
  delivery.received_at = from_ms(row.integer(6));
  delivery.attempts = static_cast<int>(row.integer(7));
  if (row.text(8) == "zstd") {
    auto body = compression::zstd_decompress(row.text(5), kMaxStoredBody);
    if (body) {
      delivery.body = std::move(*body);
    } else {
      // Left empty, the delivery fails in its handler and is kept for an operator to inspect,
      // instead of blocking every later claim.
      log::error("stored delivery body is corrupt",
                 {{"delivery", delivery.delivery_id}, {"error", body.error().message}});
    }
  } else {
    delivery.body = row.text(5);
  }
  return delivery;
}

constexpr const char* kDeliveryColumns =
    "id, instance, delivery_id, event, headers, body, received_at_ms, attempts, body_encoding";

}  // namespace

SqliteStore::SqliteStore(SqliteStoreOptions options, std::unique_ptr<Connection> writer,
                         std::unique_ptr<Connection> reader)
    : options_(std::move(options)), writer_(std::move(writer)), reader_(std::move(reader)) {
  writer_thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "fh-store");
    writer_loop();
  });
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(SqliteStoreOptions options) {
  auto writer = Connection::open(options.path);
  if (!writer) return tl::unexpected(writer.error());
  if (auto schema = (*writer)->exec(kSchema); !schema) {
    return tl::unexpected(schema.error().context("create schema in " + options.path));
  }
  std::string version = "PRAGMA user_version = " + std::to_string(kSchemaVersion);
  if (auto set = (*writer)->exec(version.c_str()); !set) return tl::unexpected(set.error());
  auto reader = Connection::open(options.path);
  if (!reader) return tl::unexpected(reader.error());
  return std::unique_ptr<SqliteStore>(
      new SqliteStore(std::move(options), std::move(*writer), std::move(*reader)));
}

SqliteStore::~SqliteStore() {
  {
    std::lock_guard lock(queue_mutex_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  writer_thread_.join();
}

void SqliteStore::enqueue(std::shared_ptr<WriteOp> op) {
  {
    std::lock_guard lock(queue_mutex_);
    if (!stopping_) {
      queue_.push_back(std::move(op));
      op = nullptr;
    }
  }
  if (op) {
    Error closing{ErrorCode::unavailable, "sqlite: the store is closing"};
    op->complete(&closing);
    return;
  }
  queue_cv_.notify_one();
}

template <class T>
Result<T> SqliteStore::write(std::function<Result<T>(Connection&)> body) {
  auto op = std::make_shared<TypedWriteOp<T>>(std::move(body));
  auto result = op->promise_.get_future();
  enqueue(op);
  return result.get();
}

void SqliteStore::writer_loop() {
  std::vector<std::shared_ptr<WriteOp>> batch;
  for (;;) {
    {
      std::unique_lock lock(queue_mutex_);
      queue_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and every queued write is done
      std::size_t take = std::min(queue_.size(), options_.max_batch);
      batch.assign(std::make_move_iterator(queue_.begin()),
                   std::make_move_iterator(queue_.begin() + static_cast<long>(take)));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<long>(take));
    }

    auto started = std::chrono::steady_clock::now();
    std::optional<Error> failure;
    if (auto begun = writer_->exec("BEGIN IMMEDIATE"); !begun) {
      failure = begun.error();
    } else {
      // Each write is one SQL statement, which SQLite applies or rolls back as a whole, so a
      // failed write leaves the others in the batch intact.
      for (auto& op : batch) op->apply(*writer_);
      if (auto committed = writer_->exec("COMMIT"); !committed) {
        failure = committed.error();
        writer_->exec("ROLLBACK");
      }
    }
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (options_.on_commit) options_.on_commit(seconds, batch.size());
    for (auto& op : batch) op->complete(failure ? &*failure : nullptr);
    batch.clear();
  }
}

Result<RecordOutcome> SqliteStore::record_delivery(const Delivery& delivery) {
  nlohmann::json headers(delivery.headers);
  std::string headers_json = headers.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  // Compressed here, on the caller's thread, so the single writer only copies a few KB.
  std::string compressed;
  if (delivery.body.size() >= kCompressFrom) compressed = compression::zstd_compress(delivery.body);
  bool use_compressed = !compressed.empty() && compressed.size() < delivery.body.size();
  std::string_view body = use_compressed ? std::string_view(compressed) : delivery.body;
  std::string_view encoding = use_compressed ? "zstd" : "identity";
  return write<RecordOutcome>([&](Connection& db) -> Result<RecordOutcome> {
    auto insert = db.statement(
        "INSERT INTO deliveries (instance, delivery_id, event, headers, body, body_encoding, "
        "received_at_ms, due_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?7, ?6, ?6) "
        "ON CONFLICT (instance, delivery_id) DO NOTHING");
    if (!insert) return tl::unexpected(insert.error());
    (*insert)
        ->bind(1, delivery.instance)
        .bind(2, delivery.delivery_id)
        .bind(3, delivery.event)
        .bind(4, headers_json)
        .bind_blob(5, body)
        .bind(6, to_ms(delivery.received_at))
        .bind(7, encoding);
    if (auto done = (*insert)->run(); !done) {
      return tl::unexpected(done.error().context("record delivery " + delivery.delivery_id));
    }
    return db.changes() == 1 ? RecordOutcome::recorded : RecordOutcome::duplicate;
  });
}

Result<std::vector<Delivery>> SqliteStore::claim_deliveries(std::size_t limit, TimePoint now) {
  return write<std::vector<Delivery>>([&](Connection& db) -> Result<std::vector<Delivery>> {
    static const std::string sql =
        std::string(
            "UPDATE deliveries SET state = 'claimed', attempts = attempts + 1 "
            "WHERE id IN (SELECT id FROM deliveries WHERE state = 'pending' AND "
            "due_at_ms <= ?1 ORDER BY due_at_ms, id LIMIT ?2) RETURNING ") +
        kDeliveryColumns;
    auto claim = db.statement(sql.c_str());
    if (!claim) return tl::unexpected(claim.error());
    (*claim)->bind(1, to_ms(now)).bind(2, static_cast<std::int64_t>(limit));
    std::vector<Delivery> claimed;
    while ((*claim)->next_row()) claimed.push_back(read_delivery(**claim));
    if (auto status = (*claim)->status(); !status) {
      return tl::unexpected(status.error().context("claim deliveries"));
    }
    std::sort(claimed.begin(), claimed.end(),
              [](const Delivery& a, const Delivery& b) { return a.id < b.id; });
    return claimed;
  });
}

Result<void> SqliteStore::finish_delivery(std::int64_t id, bool succeeded, std::string_view error) {
  auto finished_at = to_ms(std::chrono::system_clock::now());
  return write<void>([&](Connection& db) -> Result<void> {
    auto finish = db.statement(
        "UPDATE deliveries SET state = ?2, last_error = NULLIF(?3, ''), finished_at_ms = ?4 "
        "WHERE id = ?1 AND state = 'claimed'");
    if (!finish) return tl::unexpected(finish.error());
    (*finish)
        ->bind(1, id)
        .bind(2, succeeded ? "done" : "failed")
        .bind(3, error)
        .bind(4, finished_at);
    if (auto done = (*finish)->run(); !done) return tl::unexpected(done.error());
    if (db.changes() != 1) {
      return fail(ErrorCode::conflict,
                  "delivery " + std::to_string(id) + " is not claimed; cannot finish it");
    }
    return {};
  });
}

Result<void> SqliteStore::retry_delivery(std::int64_t id, TimePoint not_before,
                                         std::string_view error) {
  return write<void>([&](Connection& db) -> Result<void> {
    auto retry = db.statement(
        "UPDATE deliveries SET state = 'pending', due_at_ms = ?2, last_error = ?3 "
        "WHERE id = ?1 AND state = 'claimed'");
    if (!retry) return tl::unexpected(retry.error());
    (*retry)->bind(1, id).bind(2, to_ms(not_before)).bind(3, error);
    if (auto done = (*retry)->run(); !done) return tl::unexpected(done.error());
    if (db.changes() != 1) {
      return fail(ErrorCode::conflict,
                  "delivery " + std::to_string(id) + " is not claimed; cannot retry it");
    }
    return {};
  });
}

Result<std::size_t> SqliteStore::requeue_interrupted_deliveries() {
  return write<std::size_t>([&](Connection& db) -> Result<std::size_t> {
    auto requeue = db.statement(
        "UPDATE deliveries SET state = 'pending', "
        "last_error = 'interrupted: the process stopped while handling it' "
        "WHERE state = 'claimed'");
    if (!requeue) return tl::unexpected(requeue.error());
    if (auto done = (*requeue)->run(); !done) return tl::unexpected(done.error());
    return static_cast<std::size_t>(db.changes());
  });
}

Result<DeliveryCounts> SqliteStore::count_deliveries() {
  std::lock_guard lock(reader_mutex_);
  auto count = reader_->statement("SELECT state, count(*) FROM deliveries GROUP BY state");
  if (!count) return tl::unexpected(count.error());
  DeliveryCounts counts;
  while ((*count)->next_row()) {
    std::string state = (*count)->text(0);
    std::int64_t n = (*count)->integer(1);
    if (state == "pending") counts.pending = n;
    if (state == "claimed") counts.claimed = n;
    if (state == "done") counts.done = n;
    if (state == "failed") counts.failed = n;
  }
  if (auto status = (*count)->status(); !status) return tl::unexpected(status.error());
  return counts;
}

Result<std::int64_t> SqliteStore::queue_depth() {
  std::lock_guard lock(reader_mutex_);
  auto count =
      reader_->statement("SELECT count(*) FROM deliveries WHERE state IN ('pending', 'claimed')");
  if (!count) return tl::unexpected(count.error());
  std::int64_t depth = (*count)->next_row() ? (*count)->integer(0) : 0;
  if (auto status = (*count)->status(); !status) return tl::unexpected(status.error());
  return depth;
}

Result<std::optional<Delivery>> SqliteStore::find_delivery(std::string_view instance,
                                                           std::string_view delivery_id) {
  static const std::string sql = std::string("SELECT ") + kDeliveryColumns +
                                 " FROM deliveries WHERE instance = ?1 AND delivery_id = ?2";
  std::lock_guard lock(reader_mutex_);
  auto find = reader_->statement(sql.c_str());
  if (!find) return tl::unexpected(find.error());
  (*find)->bind(1, instance).bind(2, delivery_id);
  std::optional<Delivery> found;
  if ((*find)->next_row()) found = read_delivery(**find);
  if (auto status = (*find)->status(); !status) return tl::unexpected(status.error());
  return found;
}

Result<std::size_t> SqliteStore::prune_deliveries(TimePoint received_before) {
  // Small batches keep each transaction short, so intake commits are never held up for long.
  constexpr std::int64_t kBatch = 500;
  std::size_t total = 0;
  for (;;) {
    auto deleted = write<std::size_t>([&](Connection& db) -> Result<std::size_t> {
      auto prune = db.statement(
          "DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries WHERE state IN "
          "('done', 'failed') AND received_at_ms < ?1 LIMIT ?2)");
      if (!prune) return tl::unexpected(prune.error());
      (*prune)->bind(1, to_ms(received_before)).bind(2, kBatch);
      if (auto done = (*prune)->run(); !done) return tl::unexpected(done.error());
      return static_cast<std::size_t>(db.changes());
    });
    if (!deleted) return deleted;
    total += *deleted;
    if (*deleted < static_cast<std::size_t>(kBatch)) return total;
  }
}

}  // namespace forgehand
