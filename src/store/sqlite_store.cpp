#include "store/sqlite_store.h"

#include <pthread.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <iterator>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>

#include "store/session_record.h"
#include "util/compression.h"
#include "util/log.h"
#include "util/redact.h"

namespace forgehand {

namespace {

// Bodies smaller than this are stored as they are: compressing them saves too little.
constexpr std::size_t kCompressFrom = 512;
constexpr std::size_t kMaxStoredBody = std::size_t{1} << 30;

// Migration N (1-based) brings a file from version N-1 to N. Files written before the
// schema_version table existed hold only the deliveries table and count as version 0: migration 1
// creates nothing they lack. Append new migrations; never edit one that has shipped.
constexpr const char* kMigrations[] = {
    R"sql(
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
)sql",
    // Lists (calls, tools, instructions, commands, reasons) are JSON: they are read whole with
    // their session. The model, tokens and cost derived from the calls are columns so usage and
    // budgets add up in SQL.
    R"sql(
CREATE TABLE sessions (
  id               TEXT    PRIMARY KEY,
  instance         TEXT    NOT NULL,
  repo             TEXT    NOT NULL,
  delivery_id      TEXT    NOT NULL,
  event            TEXT    NOT NULL,
  actor            TEXT    NOT NULL,
  trigger_head_sha TEXT    NOT NULL,
  number           INTEGER NOT NULL,
  is_pull_request  INTEGER NOT NULL,
  base_ref         TEXT    NOT NULL,
  base_sha         TEXT    NOT NULL,
  head_ref         TEXT    NOT NULL,
  head_sha         TEXT    NOT NULL,
  task             TEXT    NOT NULL CHECK (task IN ('ci_fix', 'comment_task', 'issue_task')),
  state            TEXT    NOT NULL
                   CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled',
                                    'denied')),
  allowed          INTEGER NOT NULL,
  deny_reason      TEXT    NOT NULL,
  reasons          TEXT    NOT NULL,
  rejections       TEXT    NOT NULL,
  route            TEXT    NOT NULL,
  calls            TEXT    NOT NULL,
  model            TEXT    NOT NULL,
  input_tokens     INTEGER NOT NULL,
  output_tokens    INTEGER NOT NULL,
  cost             REAL    NOT NULL,
  tools            TEXT    NOT NULL,
  instructions     TEXT    NOT NULL,
  commands         TEXT    NOT NULL,
  runner_seconds   REAL    NOT NULL,
  pr_number        INTEGER NOT NULL DEFAULT 0,
  pr_url           TEXT    NOT NULL DEFAULT '',
  pr_state         TEXT    NOT NULL DEFAULT 'none'
                   CHECK (pr_state IN ('none', 'open', 'merged', 'closed')),
  pr_merged_by     TEXT    NOT NULL DEFAULT '',
  pr_closed_at_ms  INTEGER,
  ci_result        TEXT    NOT NULL DEFAULT 'unknown'
                   CHECK (ci_result IN ('unknown', 'green', 'red')),
  ack_comment_id   TEXT    NOT NULL,
  summary          TEXT    NOT NULL,
  error            TEXT    NOT NULL,
  attempts         INTEGER NOT NULL DEFAULT 0,
  worker_id        TEXT    NOT NULL DEFAULT '',
  heartbeat_at_ms  INTEGER,
  created_at_ms    INTEGER NOT NULL,
  started_at_ms    INTEGER,
  finished_at_ms   INTEGER
);
CREATE INDEX sessions_by_created ON sessions (created_at_ms);
CREATE INDEX sessions_by_repo ON sessions (instance, repo, created_at_ms);
CREATE INDEX sessions_by_trigger_sha ON sessions (instance, repo, trigger_head_sha);
CREATE INDEX sessions_by_thread ON sessions (instance, repo, number);
CREATE INDEX sessions_by_pull_request ON sessions (instance, repo, pr_number) WHERE pr_number <> 0;
CREATE INDEX sessions_by_head_sha ON sessions (instance, repo, head_sha) WHERE head_sha <> '';
CREATE INDEX sessions_running ON sessions (heartbeat_at_ms) WHERE state = 'running';
-- Transcripts are the bulk of a session; apart, listing and reporting never read them.
CREATE TABLE session_transcripts (
  session_id TEXT PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
  encoding   TEXT NOT NULL CHECK (encoding IN ('identity', 'zstd')),
  body       BLOB NOT NULL
);
)sql",
    // A queued or running session's request (dispatch/session_job), for running it again after
    // a restart. Removed when the session finishes.
    R"sql(
CREATE TABLE session_jobs (
  session_id TEXT PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
  body       TEXT NOT NULL
);
)sql",
    // Each CI check's latest result on the pushed commit ({"check suite 42": "red"}), from which
    // ci_result is derived: several workflows report on one commit, in any order.
    R"sql(
ALTER TABLE sessions ADD COLUMN ci_checks TEXT NOT NULL DEFAULT '{}';
)sql",
};
constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));

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
      // An empty view may have no data pointer, which SQLite would bind as NULL.
      sqlite3_bind_text(statement_, index, text.empty() ? "" : text.data(),
                        static_cast<int>(text.size()), SQLITE_STATIC);
      return *this;
    }
    Statement& bind_real(int index, double value) {
      sqlite3_bind_double(statement_, index, value);
      return *this;
    }
    Statement& bind_null(int index) {
      sqlite3_bind_null(statement_, index);
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
    double real(int column) const { return sqlite3_column_double(statement_, column); }
    bool is_null(int column) const {
      return sqlite3_column_type(statement_, column) == SQLITE_NULL;
    }
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

  static Result<std::unique_ptr<Connection>> open(const std::string& path, bool read_only) {
    sqlite3* raw = nullptr;
    int flags = read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    int rc = sqlite3_open_v2(path.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, nullptr);
    std::unique_ptr<sqlite3, DatabaseDeleter> db(raw);
    if (rc != SQLITE_OK) {
      return fail(ErrorCode::io,
                  "sqlite: open " + path + ": " + (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
    }
    auto connection = std::unique_ptr<Connection>(new Connection(std::move(db)));
    if (auto done = connection->exec("PRAGMA busy_timeout = 10000"); !done) {
      return tl::unexpected(done.error());
    }
    if (read_only) return connection;
    // WAL lets reads run beside the writer; synchronous=FULL fsyncs the WAL at every commit, so
    // an acknowledged delivery survives a power cut, not only a crash of this process.
    for (const char* pragma :
         {"PRAGMA journal_mode = WAL", "PRAGMA synchronous = FULL", "PRAGMA foreign_keys = ON"}) {
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

  // Runs several statements as one write: all of them apply, or none (the writer's batch
  // transaction otherwise relies on each write being a single statement).
  template <class T>
  Result<T> atomically(const std::function<Result<T>()>& body) {
    if (auto begun = exec("SAVEPOINT write_op"); !begun) return tl::unexpected(begun.error());
    Result<T> result = body();
    if (!result) exec("ROLLBACK TO write_op");
    exec("RELEASE write_op");
    return result;
  }

  // The schema version recorded in the file; 0 when it predates schema_version.
  Result<int> schema_version() {
    auto table = statement(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'");
    if (!table) return tl::unexpected(table.error());
    bool exists = (*table)->next_row() && (*table)->integer(0) > 0;
    if (auto status = (*table)->status(); !status) return tl::unexpected(status.error());
    if (!exists) return 0;
    auto version = statement("SELECT coalesce(max(version), 0) FROM schema_version");
    if (!version) return tl::unexpected(version.error());
    int found = (*version)->next_row() ? static_cast<int>((*version)->integer(0)) : 0;
    if (auto status = (*version)->status(); !status) return tl::unexpected(status.error());
    return found;
  }

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
  if (!writer_) return;
  writer_thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "fh-store");
    writer_loop();
  });
}

namespace {

Error newer_schema(const std::string& path, int version) {
  return Error{ErrorCode::config, "sqlite: " + path + " has schema version " +
                                      std::to_string(version) + "; this forgehand knows up to " +
                                      std::to_string(kSchemaVersion) + ": upgrade forgehand"};
}

// Applies the migrations the file lacks, all in one transaction: BEGIN IMMEDIATE makes a second
// process starting at the same time wait, then find nothing left to do.
Result<void> migrate(SqliteStore::Connection& db, const std::string& path) {
  if (auto begun = db.exec("BEGIN IMMEDIATE"); !begun) return begun;
  auto applied = [&]() -> Result<void> {
    if (auto made = db.exec("CREATE TABLE IF NOT EXISTS schema_version ("
                            "version INTEGER PRIMARY KEY, applied_at_ms INTEGER NOT NULL)");
        !made) {
      return made;
    }
    auto version = db.schema_version();
    if (!version) return tl::unexpected(version.error());
    if (*version > kSchemaVersion) return tl::unexpected(newer_schema(path, *version));
    auto now = to_ms(std::chrono::system_clock::now());
    for (int next = *version + 1; next <= kSchemaVersion; ++next) {
      if (auto done = db.exec(kMigrations[next - 1]); !done) {
        return tl::unexpected(
            done.error().context("migrate to schema version " + std::to_string(next)));
      }
      auto record =
          db.statement("INSERT INTO schema_version (version, applied_at_ms) VALUES (?1, ?2)");
      if (!record) return tl::unexpected(record.error());
      (*record)->bind(1, std::int64_t{next}).bind(2, now);
      if (auto done = (*record)->run(); !done) return done;
    }
    return {};
  }();
  if (!applied) {
    db.exec("ROLLBACK");
    return tl::unexpected(applied.error().context(path));
  }
  return db.exec("COMMIT");
}

}  // namespace

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(SqliteStoreOptions options) {
  std::unique_ptr<Connection> writer;
  if (!options.read_only) {
    auto opened = Connection::open(options.path, false);
    if (!opened) return tl::unexpected(opened.error());
    if (auto migrated = migrate(**opened, options.path); !migrated) {
      return tl::unexpected(migrated.error());
    }
    writer = std::move(*opened);
  }
  auto reader = Connection::open(options.path, options.read_only);
  if (!reader) return tl::unexpected(reader.error());
  if (options.read_only) {
    // A read-only reader cannot migrate, and must not read tables that are not there yet.
    auto version = (*reader)->schema_version();
    if (!version) return tl::unexpected(version.error().context(options.path));
    if (*version > kSchemaVersion) return tl::unexpected(newer_schema(options.path, *version));
    if (*version < kSchemaVersion) {
      return fail(ErrorCode::config, "sqlite: " + options.path + " has schema version " +
                                         std::to_string(*version) +
                                         " (no sessions yet); start forgehand serve once to "
                                         "upgrade it");
    }
  }
  return std::unique_ptr<SqliteStore>(
      new SqliteStore(std::move(options), std::move(writer), std::move(*reader)));
}

SqliteStore::~SqliteStore() {
  {
    std::lock_guard lock(queue_mutex_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  if (writer_thread_.joinable()) writer_thread_.join();
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
  if (!writer_) {
    return fail(ErrorCode::invalid_argument, "sqlite: " + options_.path + " is open read-only");
  }
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

namespace {

constexpr const char* kSessionColumns =
    "id, instance, repo, delivery_id, event, actor, trigger_head_sha, number, is_pull_request, "
    "base_ref, base_sha, head_ref, head_sha, task, state, allowed, deny_reason, reasons, "
    "rejections, route, calls, tools, instructions, commands, runner_seconds, pr_number, pr_url, "
    "pr_state, pr_merged_by, pr_closed_at_ms, ci_result, ack_comment_id, summary, error, "
    "attempts, worker_id, heartbeat_at_ms, created_at_ms, started_at_ms, finished_at_ms";

std::string dump(const nlohmann::json& value) {
  // Model output and command lines need not be valid UTF-8.
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

template <class T>
T parse_column(const std::string& text) {
  return nlohmann::json::parse(text).get<T>();
}

std::optional<TimePoint> optional_time(const SqliteStore::Connection::Statement& row, int column) {
  if (row.is_null(column)) return std::nullopt;
  return from_ms(row.integer(column));
}

template <class Enum, std::size_t N>
Enum enum_named(const std::string& name, const std::string_view (&names)[N]) {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == name) return static_cast<Enum>(i);
  }
  return static_cast<Enum>(0);
}

EventKind event_kind_named(const std::string& name) {
  for (EventKind kind : kAllEventKinds) {
    if (to_string(kind) == name) return kind;
  }
  return EventKind::comment;
}

SessionRecord read_session(const SqliteStore::Connection::Statement& row) {
  SessionRecord session;
  session.id = row.text(0);
  session.instance = row.text(1);
  session.repo = row.text(2);
  session.trigger.delivery_id = row.text(3);
  session.trigger.event = event_kind_named(row.text(4));
  session.trigger.actor = row.text(5);
  session.trigger.head_sha = row.text(6);
  session.number = row.integer(7);
  session.is_pull_request = row.integer(8) != 0;
  session.base_ref = row.text(9);
  session.base_sha = row.text(10);
  session.head_ref = row.text(11);
  session.head_sha = row.text(12);
  session.task = task_type_named(row.text(13)).value_or(TaskType::comment_task);
  session.state = session_state_named(row.text(14)).value_or(SessionState::failed);
  session.decision.allowed = row.integer(15) != 0;
  session.decision.deny_reason = row.text(16);
  session.route = row.text(19);
  session.runner_seconds = row.real(24);
  session.pull_request.number = row.integer(25);
  session.pull_request.url = row.text(26);
  session.pull_request.state = enum_named<PullRequestState>(row.text(27), kPullRequestStateNames);
  session.pull_request.merged_by = row.text(28);
  session.pull_request.closed_at = optional_time(row, 29);
  session.ci = enum_named<CiResult>(row.text(30), kCiResultNames);
  session.acknowledgement_comment_id = row.text(31);
  session.summary = row.text(32);
  session.error = row.text(33);
  session.attempts = static_cast<int>(row.integer(34));
  session.worker_id = row.text(35);
  session.heartbeat_at = optional_time(row, 36);
  session.created_at = from_ms(row.integer(37));
  session.started_at = optional_time(row, 38);
  session.finished_at = optional_time(row, 39);
  // The lists are ours, written by update_session; a damaged one leaves its list empty rather
  // than hiding the whole session from an operator.
  try {
    session.decision.reasons = parse_column<std::vector<std::string>>(row.text(17));
    session.decision.rejections = parse_column<std::vector<std::string>>(row.text(18));
    session.calls = parse_column<std::vector<ModelCall>>(row.text(20));
    session.tools = parse_column<std::vector<std::string>>(row.text(21));
    session.instructions = parse_column<std::vector<InstructionRecord>>(row.text(22));
    session.commands = parse_column<std::vector<CommandRun>>(row.text(23));
  } catch (const nlohmann::json::exception& error) {
    log::error("stored session is damaged", {{"session", session.id}, {"error", error.what()}});
  }
  return session;
}

// For a guarded state change that changed no row: is the session missing, or in another state?
Result<void> explain_unchanged(SqliteStore::Connection& db, std::string_view id,
                               std::string_view action) {
  auto find = db.statement("SELECT state, worker_id FROM sessions WHERE id = ?1");
  if (!find) return tl::unexpected(find.error());
  (*find)->bind(1, id);
  if (!(*find)->next_row()) {
    if (auto status = (*find)->status(); !status) return status;
    return fail(ErrorCode::not_found, "session " + std::string(id) + " does not exist");
  }
  std::string state = (*find)->text(0);
  std::string worker = (*find)->text(1);
  std::string where = state == "running" ? " on worker " + worker : "";
  return fail(ErrorCode::conflict, "session " + std::string(id) + " is " + state + where +
                                       "; cannot " + std::string(action) + " it");
}

// [start, end) of the UTC calendar month holding `time`, in milliseconds.
std::pair<std::int64_t, std::int64_t> month_bounds(TimePoint time) {
  using namespace std::chrono;
  year_month_day day{floor<days>(time)};
  sys_days first = day.year() / day.month() / 1;
  sys_days next = (day.year() / day.month() + months{1}) / 1;
  return {to_ms(TimePoint(first)), to_ms(TimePoint(next))};
}

// Transcripts are compressed like delivery bodies, on the caller's thread.
std::pair<std::string, std::string_view> encode_body(const std::string& body) {
  if (body.size() >= kCompressFrom) {
    std::string compressed = compression::zstd_compress(body);
    if (!compressed.empty() && compressed.size() < body.size()) {
      return {std::move(compressed), "zstd"};
    }
  }
  return {body, "identity"};
}

}  // namespace

Result<void> SqliteStore::create_session(const SessionRecord& session, std::string_view job) {
  if (session.state != SessionState::queued && session.state != SessionState::denied) {
    return fail(ErrorCode::invalid_argument,
                "a new session is queued or denied, not " + std::string(to_string(session.state)));
  }
  std::string reasons = dump(session.decision.reasons);
  std::string rejections = dump(session.decision.rejections);
  std::string calls = dump(session.calls);
  std::string tools = dump(session.tools);
  std::string instructions = dump(session.instructions);
  std::string commands = dump(session.commands);
  std::string error = redact(session.error);
  std::int64_t created = to_ms(session.created_at);
  return write<void>([&](Connection& db) -> Result<void> {
    auto insert = db.statement(
        "INSERT INTO sessions (id, instance, repo, delivery_id, event, actor, trigger_head_sha, "
        "number, is_pull_request, base_ref, base_sha, head_ref, head_sha, task, state, allowed, "
        "deny_reason, reasons, rejections, route, calls, model, input_tokens, output_tokens, "
        "cost, tools, instructions, commands, runner_seconds, ack_comment_id, summary, error, "
        "created_at_ms, finished_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
        "?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, "
        "?29, ?30, ?31, ?32, ?33, CASE WHEN ?15 = 'denied' THEN ?33 END) "
        "ON CONFLICT (id) DO NOTHING");
    if (!insert) return tl::unexpected(insert.error());
    std::string model = session.model();
    (*insert)
        ->bind(1, session.id)
        .bind(2, session.instance)
        .bind(3, session.repo)
        .bind(4, session.trigger.delivery_id)
        .bind(5, to_string(session.trigger.event))
        .bind(6, session.trigger.actor)
        .bind(7, session.trigger.head_sha)
        .bind(8, session.number)
        .bind(9, std::int64_t{session.is_pull_request})
        .bind(10, session.base_ref)
        .bind(11, session.base_sha)
        .bind(12, session.head_ref)
        .bind(13, session.head_sha)
        .bind(14, to_string(session.task))
        .bind(15, to_string(session.state))
        .bind(16, std::int64_t{session.decision.allowed})
        .bind(17, session.decision.deny_reason)
        .bind(18, reasons)
        .bind(19, rejections)
        .bind(20, session.route)
        .bind(21, calls)
        .bind(22, model)
        .bind(23, session.input_tokens())
        .bind(24, session.output_tokens())
        .bind_real(25, session.cost())
        .bind(26, tools)
        .bind(27, instructions)
        .bind(28, commands)
        .bind_real(29, session.runner_seconds)
        .bind(30, session.acknowledgement_comment_id)
        .bind(31, session.summary)
        .bind(32, error)
        .bind(33, created);
    if (auto done = (*insert)->run(); !done) {
      return tl::unexpected(done.error().context("create session " + session.id));
    }
    if (db.changes() != 1) {
      return fail(ErrorCode::conflict, "session " + session.id + " exists already");
    }
    if (job.empty()) return {};
    auto keep = db.statement("INSERT INTO session_jobs (session_id, body) VALUES (?1, ?2)");
    if (!keep) return tl::unexpected(keep.error());
    (*keep)->bind(1, session.id).bind(2, job);
    return (*keep)->run();
  });
}

Result<void> SqliteStore::start_session(std::string_view id, std::string_view worker,
                                        TimePoint now) {
  return write<void>([&](Connection& db) -> Result<void> {
    auto start = db.statement(
        "UPDATE sessions SET state = 'running', worker_id = ?2, attempts = attempts + 1, "
        "started_at_ms = ?3, heartbeat_at_ms = ?3 WHERE id = ?1 AND state = 'queued'");
    if (!start) return tl::unexpected(start.error());
    (*start)->bind(1, id).bind(2, worker).bind(3, to_ms(now));
    if (auto done = (*start)->run(); !done) return done;
    if (db.changes() != 1) return explain_unchanged(db, id, "start");
    return {};
  });
}

Result<void> SqliteStore::heartbeat_session(std::string_view id, std::string_view worker,
                                            TimePoint now) {
  return write<void>([&](Connection& db) -> Result<void> {
    auto beat = db.statement(
        "UPDATE sessions SET heartbeat_at_ms = ?3 "
        "WHERE id = ?1 AND state = 'running' AND worker_id = ?2");
    if (!beat) return tl::unexpected(beat.error());
    (*beat)->bind(1, id).bind(2, worker).bind(3, to_ms(now));
    if (auto done = (*beat)->run(); !done) return done;
    if (db.changes() != 1) return explain_unchanged(db, id, "heartbeat");
    return {};
  });
}

Result<void> SqliteStore::requeue_session(std::string_view id, std::string_view error) {
  std::string redacted = redact(error);
  return write<void>([&](Connection& db) -> Result<void> {
    auto requeue = db.statement(
        "UPDATE sessions SET state = 'queued', error = ?2, heartbeat_at_ms = NULL "
        "WHERE id = ?1 AND state = 'running'");
    if (!requeue) return tl::unexpected(requeue.error());
    (*requeue)->bind(1, id).bind(2, redacted);
    if (auto done = (*requeue)->run(); !done) return done;
    if (db.changes() != 1) return explain_unchanged(db, id, "requeue");
    return {};
  });
}

Result<void> SqliteStore::release_session(std::string_view id, std::string_view error) {
  std::string redacted = redact(error);
  return write<void>([&](Connection& db) -> Result<void> {
    auto release = db.statement(
        "UPDATE sessions SET state = 'queued', error = ?2, heartbeat_at_ms = NULL, "
        "attempts = max(attempts - 1, 0) WHERE id = ?1 AND state = 'running'");
    if (!release) return tl::unexpected(release.error());
    (*release)->bind(1, id).bind(2, redacted);
    if (auto done = (*release)->run(); !done) return done;
    if (db.changes() != 1) return explain_unchanged(db, id, "release");
    return {};
  });
}

Result<void> SqliteStore::update_session(std::string_view id, const SessionUpdate& update) {
  // Everything is serialised and compressed here, so the writer only binds.
  std::optional<std::string> calls, model, tools, instructions, commands, summary;
  if (update.calls) {
    calls = dump(*update.calls);
    model = answering_model(*update.calls);
  }
  if (update.tools) tools = dump(*update.tools);
  if (update.instructions) instructions = dump(*update.instructions);
  if (update.commands) commands = dump(*update.commands);
  if (update.summary) summary = redact(*update.summary);
  std::optional<std::pair<std::string, std::string_view>> transcript;
  if (update.transcript) transcript = encode_body(*update.transcript);

  return write<void>([&](Connection& db) -> Result<void> {
    return db.atomically<void>([&]() -> Result<void> {
      auto change = db.statement(
          "UPDATE sessions SET base_sha = coalesce(?2, base_sha), "
          "head_ref = coalesce(?3, head_ref), head_sha = coalesce(?4, head_sha), "
          "route = coalesce(?5, route), calls = coalesce(?6, calls), model = coalesce(?7, model), "
          "input_tokens = coalesce(?8, input_tokens), "
          "output_tokens = coalesce(?9, output_tokens), cost = coalesce(?10, cost), "
          "tools = coalesce(?11, tools), instructions = coalesce(?12, instructions), "
          "commands = coalesce(?13, commands), runner_seconds = coalesce(?14, runner_seconds), "
          "summary = coalesce(?15, summary), ack_comment_id = coalesce(?16, ack_comment_id), "
          "pr_number = coalesce(?17, pr_number), pr_url = coalesce(?18, pr_url), "
          "pr_state = CASE WHEN ?17 > 0 AND pr_state = 'none' THEN 'open' ELSE pr_state END "
          "WHERE id = ?1");
      if (!change) return tl::unexpected(change.error());
      auto& statement = **change;
      auto text = [&](int index, const std::optional<std::string>& value) {
        if (value) {
          statement.bind(index, *value);
        } else {
          statement.bind_null(index);
        }
      };
      auto integer = [&](int index, std::optional<std::int64_t> value) {
        if (value) {
          statement.bind(index, *value);
        } else {
          statement.bind_null(index);
        }
      };
      auto real = [&](int index, std::optional<double> value) {
        if (value) {
          statement.bind_real(index, *value);
        } else {
          statement.bind_null(index);
        }
      };
      statement.bind(1, id);
      text(2, update.base_sha);
      text(3, update.head_ref);
      text(4, update.head_sha);
      text(5, update.route);
      text(6, calls);
      text(7, model);
      integer(8, update.calls ? std::optional(total_input_tokens(*update.calls)) : std::nullopt);
      integer(9, update.calls ? std::optional(total_output_tokens(*update.calls)) : std::nullopt);
      real(10, update.calls ? std::optional(total_cost(*update.calls)) : std::nullopt);
      text(11, tools);
      text(12, instructions);
      text(13, commands);
      real(14, update.runner_seconds);
      text(15, summary);
      text(16, update.acknowledgement_comment_id);
      integer(17, update.pull_request_number);
      text(18, update.pull_request_url);
      if (auto done = statement.run(); !done) return done;
      if (db.changes() != 1) {
        return fail(ErrorCode::not_found, "session " + std::string(id) + " does not exist");
      }
      if (!transcript) return {};
      auto store = db.statement(
          "INSERT INTO session_transcripts (session_id, encoding, body) VALUES (?1, ?2, ?3) "
          "ON CONFLICT (session_id) DO UPDATE SET encoding = excluded.encoding, "
          "body = excluded.body");
      if (!store) return tl::unexpected(store.error());
      (*store)->bind(1, id).bind(2, transcript->second).bind_blob(3, transcript->first);
      return (*store)->run();
    });
  });
}

Result<void> SqliteStore::finish_session(std::string_view id, SessionState state,
                                         std::string_view error, TimePoint now) {
  if (state != SessionState::succeeded && state != SessionState::failed &&
      state != SessionState::cancelled) {
    return fail(ErrorCode::invalid_argument,
                "a session finishes succeeded, failed or cancelled, "
                "not " +
                    std::string(to_string(state)));
  }
  std::string redacted = redact(error);
  return write<void>([&](Connection& db) -> Result<void> {
    auto finish = db.statement(
        "UPDATE sessions SET state = ?2, error = ?3, finished_at_ms = ?4 "
        "WHERE id = ?1 AND state IN ('queued', 'running')");
    if (!finish) return tl::unexpected(finish.error());
    (*finish)->bind(1, id).bind(2, to_string(state)).bind(3, redacted).bind(4, to_ms(now));
    if (auto done = (*finish)->run(); !done) return done;
    if (db.changes() != 1) return explain_unchanged(db, id, "finish");
    auto forget = db.statement("DELETE FROM session_jobs WHERE session_id = ?1");
    if (!forget) return tl::unexpected(forget.error());
    (*forget)->bind(1, id);
    return (*forget)->run();
  });
}

Result<std::size_t> SqliteStore::record_pull_request_outcome(
    std::string_view instance, std::string_view repo, std::int64_t number, PullRequestState state,
    std::string_view merged_by, TimePoint at) {
  if (state == PullRequestState::none || number <= 0) {
    return fail(ErrorCode::invalid_argument, "a pull request outcome needs a number and a state");
  }
  // Reopened: it is open again and nobody has merged it.
  bool closed = state != PullRequestState::open;
  std::string_view by = state == PullRequestState::merged ? merged_by : std::string_view{};
  return write<std::size_t>([&](Connection& db) -> Result<std::size_t> {
    auto record = db.statement(
        "UPDATE sessions SET pr_state = ?4, pr_merged_by = ?5, pr_closed_at_ms = ?6 "
        "WHERE instance = ?1 AND repo = ?2 AND pr_number = ?3");
    if (!record) return tl::unexpected(record.error());
    (*record)
        ->bind(1, instance)
        .bind(2, repo)
        .bind(3, number)
        .bind(4, to_string(state))
        .bind(5, by);
    if (closed) {
      (*record)->bind(6, to_ms(at));
    } else {
      (*record)->bind_null(6);
    }
    if (auto done = (*record)->run(); !done) return tl::unexpected(done.error());
    return static_cast<std::size_t>(db.changes());
  });
}

Result<std::size_t> SqliteStore::record_ci_result(std::string_view instance, std::string_view repo,
                                                  std::string_view head_sha, std::string_view check,
                                                  CiResult result) {
  if (head_sha.empty() || check.empty() || result == CiResult::unknown) {
    return fail(ErrorCode::invalid_argument, "a CI result needs a head sha, a check and a result");
  }
  return write<std::size_t>([&](Connection& db) -> Result<std::size_t> {
    // SET expressions read the row as it was, so the other checks are read from the old map.
    auto record = db.statement(
        "UPDATE sessions SET ci_checks = json_patch(ci_checks, json_object(?4, ?5)), "
        "ci_result = CASE WHEN ?5 = 'red' OR EXISTS (SELECT 1 FROM json_each(sessions.ci_checks) "
        "WHERE key <> ?4 AND value = 'red') THEN 'red' ELSE 'green' END "
        "WHERE instance = ?1 AND repo = ?2 AND head_sha = ?3");
    if (!record) return tl::unexpected(record.error());
    (*record)
        ->bind(1, instance)
        .bind(2, repo)
        .bind(3, head_sha)
        .bind(4, check)
        .bind(5, to_string(result));
    if (auto done = (*record)->run(); !done) return tl::unexpected(done.error());
    return static_cast<std::size_t>(db.changes());
  });
}

Result<std::optional<SessionRecord>> SqliteStore::find_session(std::string_view id) {
  static const std::string sql =
      std::string("SELECT ") + kSessionColumns + " FROM sessions WHERE id = ?1";
  std::lock_guard lock(reader_mutex_);
  auto find = reader_->statement(sql.c_str());
  if (!find) return tl::unexpected(find.error());
  (*find)->bind(1, id);
  std::optional<SessionRecord> found;
  if ((*find)->next_row()) found = read_session(**find);
  if (auto status = (*find)->status(); !status) return tl::unexpected(status.error());
  return found;
}

Result<std::optional<std::string>> SqliteStore::find_transcript(std::string_view id) {
  std::string encoding, body;
  {
    std::lock_guard lock(reader_mutex_);
    auto find =
        reader_->statement("SELECT encoding, body FROM session_transcripts WHERE session_id = ?1");
    if (!find) return tl::unexpected(find.error());
    (*find)->bind(1, id);
    bool found = (*find)->next_row();
    if (auto status = (*find)->status(); !status) return tl::unexpected(status.error());
    if (!found) return std::nullopt;
    encoding = (*find)->text(0);
    body = (*find)->text(1);
  }
  if (encoding != "zstd") return body;
  auto text = compression::zstd_decompress(body, kMaxStoredBody);
  if (!text) return tl::unexpected(text.error().context("transcript of " + std::string(id)));
  return std::move(*text);
}

Result<std::optional<std::string>> SqliteStore::find_session_job(std::string_view id) {
  std::lock_guard lock(reader_mutex_);
  auto find = reader_->statement("SELECT body FROM session_jobs WHERE session_id = ?1");
  if (!find) return tl::unexpected(find.error());
  (*find)->bind(1, id);
  bool found = (*find)->next_row();
  if (auto status = (*find)->status(); !status) return tl::unexpected(status.error());
  if (!found) return std::nullopt;
  return (*find)->text(0);
}

Result<std::vector<SessionRecord>> SqliteStore::list_sessions(const SessionFilter& filter) {
  // One statement for every filter (an empty value matches all), so it is prepared once.
  static const std::string sql =
      std::string("SELECT ") + kSessionColumns +
      " FROM sessions WHERE (?1 = '' OR instance = ?1) AND (?2 = '' OR repo = ?2 COLLATE NOCASE) "
      "AND (?3 = '' OR state = ?3) AND created_at_ms >= ?4 "
      "ORDER BY created_at_ms DESC, id DESC LIMIT ?5";
  std::lock_guard lock(reader_mutex_);
  auto list = reader_->statement(sql.c_str());
  if (!list) return tl::unexpected(list.error());
  (*list)
      ->bind(1, filter.instance)
      .bind(2, filter.repo)
      .bind(3, filter.state ? to_string(*filter.state) : std::string_view{})
      .bind(4, filter.since ? to_ms(*filter.since) : std::numeric_limits<std::int64_t>::min())
      .bind(5, filter.limit == 0 ? std::int64_t{-1} : static_cast<std::int64_t>(filter.limit));
  std::vector<SessionRecord> sessions;
  while ((*list)->next_row()) sessions.push_back(read_session(**list));
  if (auto status = (*list)->status(); !status) return tl::unexpected(status.error());
  return sessions;
}

Result<std::vector<SessionRecord>> SqliteStore::stale_sessions(TimePoint heartbeat_before) {
  static const std::string sql =
      std::string("SELECT ") + kSessionColumns +
      " FROM sessions WHERE state = 'running' AND heartbeat_at_ms < ?1 ORDER BY heartbeat_at_ms";
  std::lock_guard lock(reader_mutex_);
  auto stale = reader_->statement(sql.c_str());
  if (!stale) return tl::unexpected(stale.error());
  (*stale)->bind(1, to_ms(heartbeat_before));
  std::vector<SessionRecord> sessions;
  while ((*stale)->next_row()) sessions.push_back(read_session(**stale));
  if (auto status = (*stale)->status(); !status) return tl::unexpected(status.error());
  return sessions;
}

Result<std::int64_t> SqliteStore::count_ci_fix_attempts(std::string_view instance,
                                                        std::string_view repo,
                                                        std::string_view head_sha) {
  std::lock_guard lock(reader_mutex_);
  // The chain: the sha, the sha of the commit the session that pushed it was fixing, and so on
  // back to a commit nobody's session pushed. UNION drops repeats, so even a cycle ends.
  auto count = reader_->statement(
      "WITH RECURSIVE chain(sha, depth) AS ("
      " SELECT ?3, 0"
      " UNION"
      " SELECT s.trigger_head_sha, chain.depth + 1 FROM sessions s JOIN chain ON s.head_sha = "
      "chain.sha"
      " WHERE s.instance = ?1 AND s.repo = ?2 AND s.trigger_head_sha <> '' AND chain.depth < 50)"
      " SELECT count(*) FROM sessions WHERE instance = ?1 AND repo = ?2 AND "
      "trigger_head_sha IN (SELECT sha FROM chain) AND task = 'ci_fix' AND state <> 'denied'");
  if (!count) return tl::unexpected(count.error());
  (*count)->bind(1, instance).bind(2, repo).bind(3, head_sha);
  std::int64_t n = (*count)->next_row() ? (*count)->integer(0) : 0;
  if (auto status = (*count)->status(); !status) return tl::unexpected(status.error());
  return n;
}

Result<std::int64_t> SqliteStore::count_pull_request_attempts(std::string_view instance,
                                                              std::string_view repo,
                                                              std::int64_t number) {
  std::lock_guard lock(reader_mutex_);
  auto count = reader_->statement(
      "SELECT count(*) FROM sessions WHERE instance = ?1 AND repo = ?2 AND number = ?3 AND "
      "is_pull_request = 1 AND state <> 'denied'");
  if (!count) return tl::unexpected(count.error());
  (*count)->bind(1, instance).bind(2, repo).bind(3, number);
  std::int64_t n = (*count)->next_row() ? (*count)->integer(0) : 0;
  if (auto status = (*count)->status(); !status) return tl::unexpected(status.error());
  return n;
}

Result<MonthlyUsage> SqliteStore::monthly_usage(std::string_view instance, std::string_view repo,
                                                TimePoint in_month) {
  auto [from, to] = month_bounds(in_month);
  std::lock_guard lock(reader_mutex_);
  auto sum = reader_->statement(
      "SELECT count(*), coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0), "
      "total(cost), total(runner_seconds) FROM sessions WHERE instance = ?1 AND repo = ?2 AND "
      "state <> 'denied' AND created_at_ms >= ?3 AND created_at_ms < ?4");
  if (!sum) return tl::unexpected(sum.error());
  (*sum)->bind(1, instance).bind(2, repo).bind(3, from).bind(4, to);
  MonthlyUsage usage;
  if ((*sum)->next_row()) {
    usage.sessions = (*sum)->integer(0);
    usage.input_tokens = (*sum)->integer(1);
    usage.output_tokens = (*sum)->integer(2);
    usage.cost = (*sum)->real(3);
    usage.runner_minutes = (*sum)->real(4) / 60;
  }
  if (auto status = (*sum)->status(); !status) return tl::unexpected(status.error());
  return usage;
}

}  // namespace forgehand
