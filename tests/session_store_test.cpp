#include <doctest/doctest.h>
#include <sqlite3.h>

#include <thread>

#include "dispatch/session_records.h"
#include "store/sqlite_store.h"
#include "support/fixtures.h"

using namespace forgehand;
using namespace std::chrono_literals;

namespace {

// 2025-01-31T23:00:00Z
const TimePoint kJan31 = TimePoint(1'738'364'400s);

std::unique_ptr<SqliteStore> open_store(const std::string& path, bool read_only = false) {
  auto store = SqliteStore::open(SqliteStoreOptions{.path = path, .read_only = read_only});
  REQUIRE_MESSAGE(store.has_value(), store.error().message);
  return std::move(*store);
}

SessionRecord queued(std::string id, TimePoint created = kJan31) {
  SessionRecord session;
  session.id = std::move(id);
  session.instance = "github";
  session.repo = "acme/api";
  session.trigger = {"delivery-1", EventKind::comment, "alice", "aaaa111"};
  session.number = 12;
  session.is_pull_request = true;
  session.base_ref = "main";
  session.task = TaskType::comment_task;
  session.decision = {true, "", {"@alice has write permission"}, {}};
  session.route = "default";
  session.created_at = created;
  return session;
}

ModelCall call(std::string provider, std::string model, int status, double cost,
               std::int64_t in = 100, std::int64_t out = 10) {
  ModelCall made;
  made.provider = std::move(provider);
  made.model = std::move(model);
  made.endpoint_host = "api.example.com";
  made.http_status = status;
  made.latency_seconds = 1.5;
  made.input_tokens = in;
  made.output_tokens = out;
  made.cost = cost;
  made.credential = "env:MODEL_KEY";
  if (status != 200) {
    made.error = "overloaded";
    made.failover_reason = "status 529";
  }
  return made;
}

}  // namespace

TEST_CASE("session store: a complete session round-trips through the file and a reopen") {
  testing::TempDir dir;
  std::string path = dir.file("forgehand.db");
  std::string transcript;
  for (int i = 0; i < 200; ++i) {
    transcript += R"({"at":"2025-01-31T23:00:01.000Z","kind":"tool","content":"line )" +
                  std::to_string(i) + "\"}\n";
  }
  {
    auto store = open_store(path);
    REQUIRE(store->create_session(queued("fh-000000000001")));
    REQUIRE(store->start_session("fh-000000000001", "worker-1", kJan31 + 1s));
    SessionUpdate update;
    update.calls = {call("anthropic", "claude", 529, 0), call("openai", "gpt-4.1", 200, 0.25)};
    update.commands = {{{"make", "test", "it's"}, 2, 0, false, 1500ms}};
    update.instructions = {{"AGENTS.md", std::string(64, 'a'), 1234, true}};
    update.tools = {"read_file", "run"};
    update.transcript = transcript;
    update.summary = "Fixed the off-by-one.";
    update.runner_seconds = 185.5;
    update.head_ref = "forgehand/fh-000000000001";
    update.head_sha = "bbbb222";
    update.base_sha = "cccc333";
    update.acknowledgement_comment_id = "c-77";
    REQUIRE(store->update_session("fh-000000000001", update));
    SessionUpdate published;
    published.pull_request_number = 13;
    published.pull_request_url = "https://github.com/acme/api/pull/13";
    REQUIRE(store->update_session("fh-000000000001", published));
    REQUIRE(store->finish_session("fh-000000000001", SessionState::succeeded, "", kJan31 + 190s));
  }
  auto store = open_store(path);
  auto found = store->find_session("fh-000000000001");
  REQUIRE(found.has_value());
  REQUIRE(found->has_value());
  const SessionRecord& session = **found;
  CHECK(session.state == SessionState::succeeded);
  CHECK(session.trigger.actor == "alice");
  CHECK(session.trigger.event == EventKind::comment);
  CHECK(session.trigger.head_sha == "aaaa111");
  CHECK(session.is_pull_request);
  CHECK(session.decision.allowed);
  CHECK(session.decision.reasons == std::vector<std::string>{"@alice has write permission"});
  REQUIRE(session.calls.size() == 2);
  CHECK(session.calls[0].failover_reason == "status 529");
  CHECK(session.calls[1].credential == "env:MODEL_KEY");
  CHECK(session.model() == "openai/gpt-4.1");
  CHECK(session.cost() == doctest::Approx(0.25));
  CHECK(session.input_tokens() == 200);
  REQUIRE(session.commands.size() == 1);
  CHECK(session.commands[0].argv[2] == "it's");
  CHECK(session.commands[0].duration == 1500ms);
  CHECK(session.instructions[0].truncated);
  CHECK(session.tools == std::vector<std::string>{"read_file", "run"});
  CHECK(session.summary == "Fixed the off-by-one.");
  CHECK(session.runner_seconds == doctest::Approx(185.5));
  CHECK(session.head_sha == "bbbb222");
  CHECK(session.base_sha == "cccc333");
  CHECK(session.acknowledgement_comment_id == "c-77");
  CHECK(session.pull_request.number == 13);
  CHECK(session.pull_request.state == PullRequestState::open);
  CHECK(session.attempts == 1);
  CHECK(session.worker_id == "worker-1");
  CHECK(session.created_at == kJan31);
  CHECK(session.started_at == kJan31 + 1s);
  CHECK(session.finished_at == kJan31 + 190s);
  CHECK(*store->find_transcript("fh-000000000001") == transcript);
  CHECK_FALSE(store->find_transcript("fh-nothing")->has_value());
  CHECK_FALSE(store->find_session("fh-nothing")->has_value());
}

TEST_CASE("session store: a deliveries-only database from schema version 1 is migrated") {
  testing::TempDir dir;
  std::string path = dir.file("forgehand.db");
  {
    // The file as forgehand wrote it before sessions existed: no schema_version table.
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    const char* old = R"sql(
PRAGMA journal_mode = WAL;
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
PRAGMA user_version = 1;
INSERT INTO deliveries (instance, delivery_id, event, headers, body, received_at_ms, due_at_ms)
  VALUES ('github', 'd-old', 'issue_comment', '{}', '{"action":"created"}', 1, 1);
)sql";
    REQUIRE(sqlite3_exec(db, old, nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }

  auto refused = SqliteStore::open(SqliteStoreOptions{.path = path, .read_only = true});
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().code == ErrorCode::config);
  CHECK(refused.error().message.find("start forgehand serve once") != std::string::npos);

  {
    auto store = open_store(path);
    auto old_delivery = store->find_delivery("github", "d-old");
    REQUIRE(old_delivery.has_value());
    REQUIRE(old_delivery->has_value());
    CHECK((*old_delivery)->body == R"({"action":"created"})");
    CHECK(store->count_deliveries()->pending == 1);
    REQUIRE(store->create_session(queued("fh-000000000002")));
  }
  // Opening again finds nothing to do, and the reader sees the current schema.
  open_store(path);
  auto reader = open_store(path, true);
  CHECK((*reader->find_session("fh-000000000002"))->repo == "acme/api");
  auto write = reader->create_session(queued("fh-000000000003"));
  REQUIRE_FALSE(write.has_value());
  CHECK(write.error().code == ErrorCode::invalid_argument);

  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* versions = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "SELECT group_concat(version) FROM schema_version", -1, &versions,
                             nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(versions) == SQLITE_ROW);
  CHECK(std::string(reinterpret_cast<const char*>(sqlite3_column_text(versions, 0))) == "1,2,3,4");
  sqlite3_finalize(versions);
  // A file from a newer forgehand is refused rather than misread.
  REQUIRE(sqlite3_exec(db, "INSERT INTO schema_version VALUES (99, 0)", nullptr, nullptr,
                       nullptr) == SQLITE_OK);
  sqlite3_close(db);
  auto newer = SqliteStore::open(SqliteStoreOptions{.path = path});
  REQUIRE_FALSE(newer.has_value());
  CHECK(newer.error().message.find("schema version 99") != std::string::npos);
}

TEST_CASE("session store: state changes are guarded, and the first finish wins") {
  testing::TempDir dir;
  auto store = open_store(dir.file("forgehand.db"));
  REQUIRE(store->create_session(queued("fh-a")));
  CHECK(store->create_session(queued("fh-a")).error().code == ErrorCode::conflict);
  SessionRecord running = queued("fh-b");
  running.state = SessionState::running;
  CHECK(store->create_session(running).error().code == ErrorCode::invalid_argument);

  CHECK(store->start_session("fh-missing", "w1", kJan31).error().code == ErrorCode::not_found);
  REQUIRE(store->start_session("fh-a", "w1", kJan31));
  auto again = store->start_session("fh-a", "w2", kJan31);
  CHECK(again.error().code == ErrorCode::conflict);
  CHECK(again.error().message == "session fh-a is running on worker w1; cannot start it");
  CHECK(store->heartbeat_session("fh-a", "w2", kJan31).error().code == ErrorCode::conflict);
  REQUIRE(store->heartbeat_session("fh-a", "w1", kJan31 + 5s));
  CHECK(store->finish_session("fh-a", SessionState::running, "", kJan31).error().code ==
        ErrorCode::invalid_argument);
  REQUIRE(store->finish_session("fh-a", SessionState::cancelled, "cancelled by @bob", kJan31));
  CHECK(store->finish_session("fh-a", SessionState::succeeded, "", kJan31).error().code ==
        ErrorCode::conflict);
  CHECK(store->heartbeat_session("fh-a", "w1", kJan31).error().code == ErrorCode::conflict);
  CHECK((*store->find_session("fh-a"))->state == SessionState::cancelled);
  CHECK(store->update_session("fh-missing", {}).error().code == ErrorCode::not_found);

  // A denial is recorded finished, and a queued session can be cancelled before it starts.
  SessionRecord denied = queued("fh-c");
  denied.state = SessionState::denied;
  denied.decision = {false, "permission", {"@mallory has read permission"}, {}};
  REQUIRE(store->create_session(denied));
  CHECK((*store->find_session("fh-c"))->finished_at == kJan31);
  REQUIRE(store->create_session(queued("fh-d")));
  REQUIRE(store->finish_session("fh-d", SessionState::cancelled, "", kJan31));
  CHECK(store->start_session("fh-d", "w1", kJan31).error().code == ErrorCode::conflict);

  auto denials = store->list_sessions({.state = SessionState::denied});
  REQUIRE(denials->size() == 1);
  CHECK(denials->front().decision.deny_reason == "permission");
}

TEST_CASE("session store: running sessions with an old heartbeat are stale, and requeued") {
  testing::TempDir dir;
  auto store = open_store(dir.file("forgehand.db"));
  for (const char* id : {"fh-1", "fh-2", "fh-3"}) {
    REQUIRE(store->create_session(queued(id)));
    REQUIRE(store->start_session(id, "w1", kJan31));
  }
  REQUIRE(store->heartbeat_session("fh-2", "w1", kJan31 + 60s));
  REQUIRE(store->finish_session("fh-3", SessionState::failed, "boom", kJan31 + 1s));
  auto stale = store->stale_sessions(kJan31 + 30s);
  REQUIRE(stale.has_value());
  REQUIRE(stale->size() == 1);
  CHECK(stale->front().id == "fh-1");
  CHECK(stale->front().heartbeat_at == kJan31);

  REQUIRE(store->requeue_session("fh-1", "worker w1 stopped heartbeating"));
  CHECK(store->requeue_session("fh-3", "").error().code == ErrorCode::conflict);
  // The presumed-dead worker learns it lost the session.
  CHECK(store->heartbeat_session("fh-1", "w1", kJan31 + 40s).error().code == ErrorCode::conflict);
  REQUIRE(store->start_session("fh-1", "w2", kJan31 + 40s));
  auto retried = *store->find_session("fh-1");
  CHECK(retried->attempts == 2);
  CHECK(retried->worker_id == "w2");
  CHECK(retried->error == "worker w1 stopped heartbeating");
  CHECK(store->stale_sessions(kJan31 + 30s)->empty());
}

TEST_CASE("session store: a session's job is kept with it until it finishes") {
  testing::TempDir dir;
  std::string path = dir.file("forgehand.db");
  {
    auto store = open_store(path);
    REQUIRE(store->create_session(queued("fh-1"), R"({"version":1,"what":"one"})"));
    REQUIRE(store->create_session(queued("fh-2"), R"({"version":1,"what":"two"})"));
    REQUIRE(store->create_session(queued("fh-3")));
    REQUIRE(store->start_session("fh-2", "w1", kJan31));
    REQUIRE(store->finish_session("fh-2", SessionState::succeeded, "", kJan31 + 1s));
    // A second create of the same id keeps the first job.
    CHECK(store->create_session(queued("fh-1"), "other").error().code == ErrorCode::conflict);
  }
  auto store = open_store(path);
  CHECK(store->find_session_job("fh-1")->value() == R"({"version":1,"what":"one"})");
  CHECK_FALSE(store->find_session_job("fh-2")->has_value());
  CHECK_FALSE(store->find_session_job("fh-3")->has_value());
  CHECK_FALSE(store->find_session_job("fh-404")->has_value());
}

TEST_CASE("session store: a session released for a restart is queued, its attempt not counted") {
  testing::TempDir dir;
  auto store = open_store(dir.file("forgehand.db"));
  REQUIRE(store->create_session(queued("fh-1")));
  REQUIRE(store->start_session("fh-1", "w1", kJan31));
  REQUIRE(store->release_session("fh-1", "forgehand stopped"));
  auto released = *store->find_session("fh-1");
  CHECK(released->state == SessionState::queued);
  CHECK(released->attempts == 0);
  CHECK(released->error == "forgehand stopped");
  CHECK(store->release_session("fh-1", "").error().code == ErrorCode::conflict);
  REQUIRE(store->start_session("fh-1", "w2", kJan31 + 1s));
  CHECK((*store->find_session("fh-1"))->attempts == 1);
}

TEST_CASE("session store: attempts are counted per failing head sha and per pull request") {
  testing::TempDir dir;
  auto store = open_store(dir.file("forgehand.db"));
  auto fix = [](std::string id, std::string sha, SessionState state = SessionState::queued) {
    SessionRecord session = queued(std::move(id));
    session.task = TaskType::ci_fix;
    session.trigger.event = EventKind::ci_failed;
    session.trigger.head_sha = std::move(sha);
    session.state = state;
    return session;
  };
  REQUIRE(store->create_session(fix("fh-1", "sha-1")));
  REQUIRE(store->create_session(fix("fh-2", "sha-1")));
  REQUIRE(store->create_session(fix("fh-3", "sha-2")));
  REQUIRE(store->create_session(fix("fh-4", "sha-1", SessionState::denied)));
  REQUIRE(store->create_session(queued("fh-5")));  // a comment task on the same pull request
  SessionRecord other_pr = queued("fh-6");
  other_pr.number = 40;
  REQUIRE(store->create_session(other_pr));
  SessionRecord issue = queued("fh-7");
  issue.is_pull_request = false;
  REQUIRE(store->create_session(issue));  // issue #12, not pull request #12

  CHECK(store->count_ci_fix_attempts("github", "acme/api", "sha-1") == 2);
  CHECK(store->count_ci_fix_attempts("github", "acme/api", "sha-2") == 1);
  CHECK(store->count_ci_fix_attempts("github", "acme/api", "aaaa111") == 0);  // comment tasks
  CHECK(store->count_ci_fix_attempts("gitlab", "acme/api", "sha-1") == 0);
  CHECK(store->count_pull_request_attempts("github", "acme/api", 12) == 4);
  CHECK(store->count_pull_request_attempts("github", "acme/api", 40) == 1);
  CHECK(store->count_pull_request_attempts("github", "acme/web", 12) == 0);
}

TEST_CASE("session store: CI failing on forgehand's own fix counts against the commit it fixed") {
  testing::TempDir dir;
  auto store = open_store(dir.file("forgehand.db"));
  auto fix = [](std::string id, std::string failing, std::string pushed, std::string instance) {
    SessionRecord session = queued(std::move(id));
    session.instance = std::move(instance);
    session.task = TaskType::ci_fix;
    session.trigger.event = EventKind::ci_failed;
    session.trigger.head_sha = std::move(failing);
    session.head_sha = std::move(pushed);
    return session;
  };
  // A human's commit h1 failed; forgehand's fix f1 failed; its fix f2 failed too.
  REQUIRE(store->create_session(fix("fh-1", "h1", "f1", "github")));
  REQUIRE(store->create_session(fix("fh-2", "f1", "f2", "github")));
  // The same shas on another instance are another repository's.
  REQUIRE(store->create_session(fix("fh-3", "h1", "f1", "gitlab")));
  // A comment task pushed c1 on top of the human's commit: it is no CI fix attempt.
  SessionRecord comment = queued("fh-4");
  comment.trigger.head_sha = "h2";
  comment.head_sha = "c1";
  REQUIRE(store->create_session(comment));

  CHECK(store->count_ci_fix_attempts("github", "acme/api", "h1") == 1);
  CHECK(store->count_ci_fix_attempts("github", "acme/api", "f1") == 2);
  CHECK(store->count_ci_fix_attempts("github", "acme/api", "f2") == 2);
  CHECK(store->count_ci_fix_attempts("gitlab", "acme/api", "f1") == 1);
  CHECK(store->count_ci_fix_attempts("github", "acme/api", "c1") == 0);

  // A cycle (a session pushing a commit it was itself triggered by) still ends.
  REQUIRE(store->create_session(fix("fh-5", "loop", "loop", "github")));
  CHECK(store->count_ci_fix_attempts("github", "acme/api", "loop") == 1);
}

TEST_CASE("session store: monthly usage follows UTC calendar months") {
  testing::TempDir dir;
  auto store = open_store(dir.file("forgehand.db"));
  auto spent = [&](std::string id, TimePoint created, double cost, double seconds,
                   std::string repo = "acme/api") {
    SessionRecord session = queued(id, created);
    session.repo = std::move(repo);
    REQUIRE(store->create_session(session));
    SessionUpdate update;
    update.calls = {call("openai", "gpt-4.1", 200, cost, 1000, 100)};
    update.runner_seconds = seconds;
    REQUIRE(store->update_session(id, update));
  };
  const TimePoint last_second_of_january = TimePoint(1'738'367'999s);  // 2025-01-31T23:59:59Z
  const TimePoint first_of_february = TimePoint(1'738'368'000s);       // 2025-02-01T00:00:00Z
  spent("fh-1", TimePoint(1'735'689'600s), 1.0, 60);                   // 2025-01-01T00:00:00Z
  spent("fh-2", last_second_of_january, 2.0, 120);
  spent("fh-3", first_of_february, 4.0, 600);
  spent("fh-4", first_of_february, 8.0, 600, "acme/web");
  SessionRecord denied = queued("fh-5", first_of_february);
  denied.state = SessionState::denied;
  REQUIRE(store->create_session(denied));

  auto january = store->monthly_usage("github", "acme/api", TimePoint(1'737'000'000s));
  REQUIRE(january.has_value());
  CHECK(january->sessions == 2);
  CHECK(january->cost == doctest::Approx(3.0));
  CHECK(january->input_tokens == 2000);
  CHECK(january->output_tokens == 200);
  CHECK(january->runner_minutes == doctest::Approx(3.0));
  auto february = store->monthly_usage("github", "acme/api", first_of_february + 100h);
  CHECK(february->sessions == 1);
  CHECK(february->cost == doctest::Approx(4.0));
  CHECK(february->runner_minutes == doctest::Approx(10.0));
  auto march = store->monthly_usage("github", "acme/api", TimePoint(1'741'000'000s));
  CHECK(march->sessions == 0);
  CHECK(march->cost == 0);
}

TEST_CASE(
    "session store: pull request outcomes and CI results reach the sessions that opened them") {
  testing::TempDir dir;
  auto store = open_store(dir.file("forgehand.db"));
  for (const char* id : {"fh-1", "fh-2"}) {
    REQUIRE(store->create_session(queued(id)));
    SessionUpdate update;
    update.pull_request_number = std::string(id) == "fh-1" ? 13 : 14;
    update.head_sha = std::string(id) == "fh-1" ? "fix-1" : "fix-2";
    REQUIRE(store->update_session(id, update));
  }
  CHECK(store->record_pull_request_outcome("github", "acme/api", 13, PullRequestState::merged,
                                           "bob", kJan31 + 1h) == std::size_t{1});
  CHECK(store->record_pull_request_outcome("github", "acme/api", 14, PullRequestState::closed,
                                           "ignored", kJan31 + 2h) == std::size_t{1});
  CHECK(store->record_pull_request_outcome("github", "acme/api", 99, PullRequestState::merged,
                                           "bob", kJan31) == std::size_t{0});
  CHECK(store->record_ci_result("github", "acme/api", "fix-1", "suite 1", CiResult::red) ==
        std::size_t{1});
  CHECK(store->record_ci_result("github", "acme/api", "fix-1", "suite 1", CiResult::green) ==
        std::size_t{1});
  CHECK(store->record_ci_result("gitlab", "acme/api", "fix-2", "suite 1", CiResult::red) ==
        std::size_t{0});

  auto merged = *store->find_session("fh-1");
  CHECK(merged->pull_request.state == PullRequestState::merged);
  CHECK(merged->pull_request.merged_by == "bob");
  CHECK(merged->pull_request.closed_at == kJan31 + 1h);
  CHECK(merged->ci == CiResult::green);
  auto closed = *store->find_session("fh-2");
  CHECK(closed->pull_request.state == PullRequestState::closed);
  CHECK(closed->pull_request.merged_by.empty());
  CHECK(closed->ci == CiResult::unknown);

  // Reopened: open again, no longer closed.
  REQUIRE(store->record_pull_request_outcome("github", "acme/api", 14, PullRequestState::open, "",
                                             kJan31 + 3h));
  auto reopened = *store->find_session("fh-2");
  CHECK(reopened->pull_request.state == PullRequestState::open);
  CHECK_FALSE(reopened->pull_request.closed_at.has_value());
}

TEST_CASE("session store: a commit is red while any of its CI checks is, whatever the order") {
  testing::TempDir dir;
  auto store = open_store(dir.file("forgehand.db"));
  REQUIRE(store->create_session(queued("fh-1")));
  SessionUpdate update;
  update.head_sha = "fix-1";
  REQUIRE(store->update_session("fh-1", update));
  auto ci = [&] { return (*store->find_session("fh-1"))->ci; };

  REQUIRE(store->record_ci_result("github", "acme/api", "fix-1", "lint", CiResult::green));
  CHECK(ci() == CiResult::green);
  REQUIRE(store->record_ci_result("github", "acme/api", "fix-1", "tests", CiResult::red));
  CHECK(ci() == CiResult::red);
  // Another check passing after it does not hide the failure...
  REQUIRE(store->record_ci_result("github", "acme/api", "fix-1", "docs", CiResult::green));
  CHECK(ci() == CiResult::red);
  // ...a re-run of the failed one passing does. Names are keys, whatever they hold.
  REQUIRE(store->record_ci_result("github", "acme/api", "fix-1", "tests", CiResult::green));
  CHECK(ci() == CiResult::green);
  REQUIRE(store->record_ci_result("github", "acme/api", "fix-1", R"(status "ci" / x.y)",
                                  CiResult::red));
  CHECK(ci() == CiResult::red);
  REQUIRE(store->record_ci_result("github", "acme/api", "fix-1", R"(status "ci" / x.y)",
                                  CiResult::green));
  CHECK(ci() == CiResult::green);

  CHECK(store->record_ci_result("github", "acme/api", "", "tests", CiResult::red).error().code ==
        ErrorCode::invalid_argument);
  CHECK(store->record_ci_result("github", "acme/api", "fix-1", "", CiResult::red).error().code ==
        ErrorCode::invalid_argument);
  CHECK(store->record_ci_result("github", "acme/api", "fix-1", "tests", CiResult::unknown)
            .error()
            .code == ErrorCode::invalid_argument);
}

TEST_CASE("session store: list filters by repository, state and time, newest first") {
  testing::TempDir dir;
  auto store = open_store(dir.file("forgehand.db"));
  for (int i = 0; i < 4; ++i) {
    SessionRecord session = queued("fh-" + std::to_string(i), kJan31 + std::chrono::hours(i));
    if (i % 2 == 1) session.repo = "acme/web";
    REQUIRE(store->create_session(session));
  }
  REQUIRE(store->start_session("fh-2", "w1", kJan31));
  auto all = store->list_sessions({});
  REQUIRE(all->size() == 4);
  CHECK(all->front().id == "fh-3");
  auto web = store->list_sessions({.repo = "ACME/Web"});
  REQUIRE(web->size() == 2);
  CHECK(web->at(1).id == "fh-1");
  CHECK(store->list_sessions({.repo = "acme/api", .state = SessionState::running})->size() == 1);
  CHECK(store->list_sessions({.since = kJan31 + 2h})->size() == 2);
  CHECK(store->list_sessions({.limit = 3})->size() == 3);
  CHECK(store->list_sessions({.instance = "gitlab"})->empty());
}

TEST_CASE("session store: workers write concurrently through the one writer") {
  testing::TempDir dir;
  auto store = open_store(dir.file("forgehand.db"));
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&, w] {
      for (int i = 0; i < 10; ++i) {
        std::string id = "fh-" + std::to_string(w) + "-" + std::to_string(i);
        std::string worker = "w" + std::to_string(w);
        CHECK(store->create_session(queued(id)));
        CHECK(store->start_session(id, worker, kJan31));
        CHECK(store->heartbeat_session(id, worker, kJan31 + 1s));
        CHECK(store->finish_session(id, SessionState::succeeded, "", kJan31 + 2s));
      }
    });
  }
  for (auto& worker : workers) worker.join();
  CHECK(store->list_sessions({.state = SessionState::succeeded})->size() == 40);
}

TEST_CASE("session records are built from the request, the decision and the agent's result") {
  SessionRequest request;
  request.session_id = "fh-0123456789ab";
  request.event.instance = "github";
  request.event.delivery_id = "d-9";
  request.event.kind = EventKind::comment;
  request.event.repo.full_name = "acme/api";
  request.event.actor.login = "alice";
  request.event.number = 7;
  request.event.is_pull_request = true;
  request.event.head_sha = "head-1";
  request.event.base_ref = "main";
  request.decision.allowed = false;
  request.decision.deny_reason = policy::DenyReason::monthly_budget;
  request.decision.reasons = {"acme/api spent its monthly budget"};
  request.decision.task = TaskType::comment_task;
  request.acknowledgement.id = "c-1";
  SessionRecord session = new_session_record(request, kJan31);
  CHECK(session.state == SessionState::denied);
  CHECK(session.decision.deny_reason == "monthly_budget");
  CHECK(session.trigger.head_sha == "head-1");
  CHECK(session.acknowledgement_comment_id == "c-1");

  ServerConfig config;
  ProviderConfig provider;
  provider.name = "openai";
  provider.credential.reference = "env:OPENAI_API_KEY";
  config.providers.push_back(provider);
  runner::AgentResult result;
  providers::ProviderCall answered;
  answered.provider = "openai";
  answered.model = "gpt-4.1";
  answered.http_status = 200;
  answered.usage = {500, 50};
  answered.cost = 0.01;
  result.calls = {answered};
  result.commands = {{{"make"}, 0, 0, false, 2s}};
  result.instructions = {{"AGENTS.md", "abc", 3, false}};
  result.summary = "done";
  result.wall_seconds = 42;
  result.transcript = {{kJan31, runner::TranscriptKind::note, "stopped", {}, "", "", false}};
  SessionUpdate update = agent_result_update(result, config);
  REQUIRE(update.calls->size() == 1);
  CHECK(update.calls->front().credential == "env:OPENAI_API_KEY");
  CHECK(update.calls->front().input_tokens == 500);
  CHECK(update.commands->front().duration == 2s);
  CHECK(update.instructions->front().sha256 == "abc");
  CHECK(update.runner_seconds == 42);
  CHECK(update.transcript->find("\"kind\":\"note\"") != std::string::npos);
}
