// The audit commands run as the real binary over a database seeded through the session store.

#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "store/sqlite_store.h"
#include "support/fixtures.h"
#include "support/process.h"

using namespace forgehand;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

struct Seeded {
  testing::TempDir dir;
  std::string config;

  Seeded() {
    config = dir.file("forgehand.yaml");
    std::ofstream(config) << "data_dir: " << dir.file("data") << "\n"
                          << "currency: USD\n"
                          << "instances:\n"
                          << "  - name: github\n"
                          << "    type: github\n"
                          << "    insecure_no_secret: true\n";
    std::filesystem::create_directories(dir.file("data"));
    auto opened = SqliteStore::open(SqliteStoreOptions{.path = dir.file("data/forgehand.db")});
    REQUIRE_MESSAGE(opened.has_value(), opened.error().message);
    seed(**opened);
  }

  struct Run {
    int status;
    std::string out;
    std::string err;
  };

  Run run(std::vector<std::string> args) {
    args.push_back("--config");
    args.push_back(config);
    std::string logs = dir.file("run" + std::to_string(runs++));
    std::filesystem::create_directories(logs);
    testing::ChildProcess process(args, logs);
    int status = process.wait();
    return {status, process.stdout_text(), process.stderr_text()};
  }

  json run_json(std::vector<std::string> args) {
    args.push_back("--json");
    Run result = run(std::move(args));
    REQUIRE_MESSAGE(result.status == 0, result.err);
    return json::parse(result.out);
  }

 private:
  int runs = 0;

  // 2025-01-31T23:00:00Z, then a day apart.
  static TimePoint day(int n) { return TimePoint(1'738'364'400s) + std::chrono::hours(24 * n); }

  static ModelCall answered(std::string provider, std::string model, double cost) {
    ModelCall call;
    call.provider = std::move(provider);
    call.model = std::move(model);
    call.endpoint_host = "api.example.com";
    call.http_status = 200;
    call.latency_seconds = 2;
    call.input_tokens = 1000;
    call.output_tokens = 100;
    call.cost = cost;
    call.credential = "env:MODEL_KEY";
    return call;
  }

  // id, repo, task, model calls, runner seconds, the pull request and its outcome, CI.
  void session(SqliteStore& store, std::string id, int created_day, std::string repo, TaskType task,
               std::vector<ModelCall> calls, double runner_seconds, SessionState final_state,
               std::int64_t pr = 0, PullRequestState outcome = PullRequestState::open,
               CiResult ci = CiResult::unknown) {
    SessionRecord record;
    record.id = id;
    record.instance = "github";
    record.repo = repo;
    record.trigger = {"delivery-" + id,
                      task == TaskType::ci_fix ? EventKind::ci_failed : EventKind::comment, "alice",
                      "trigger-" + id};
    record.number = 12;
    record.is_pull_request = true;
    record.base_ref = "main";
    record.task = task;
    record.route = "default";
    record.decision = {final_state != SessionState::denied,
                       final_state == SessionState::denied ? "permission" : "",
                       {"@alice may ask"},
                       {}};
    record.created_at = day(created_day);
    if (final_state == SessionState::denied) record.state = SessionState::denied;
    REQUIRE(store.create_session(record));
    if (final_state == SessionState::denied) return;
    REQUIRE(store.start_session(id, "worker-1", day(created_day) + 1s));
    SessionUpdate update;
    update.calls = std::move(calls);
    update.runner_seconds = runner_seconds;
    update.head_ref = "forgehand/" + id;
    update.head_sha = "pushed-" + id;
    update.tools = {"read_file", "run"};
    update.commands = {{{"make", "test"}, 0, 0, false, 1200ms}};
    update.instructions = {{"AGENTS.md", std::string(64, 'e'), 321, false}};
    update.summary = "Summary of " + id;
    update.transcript =
        R"({"at":"2025-01-31T23:00:01.000Z","kind":"user","content":"fix the test"})"
        "\n"
        R"({"at":"2025-01-31T23:00:02.000Z","kind":"tool","tool":"run","call_id":"call_1",)"
        R"("error":false,"content":"ok, all green"})"
        "\n";
    if (pr != 0) {
      update.pull_request_number = pr;
      update.pull_request_url = "https://github.com/" + repo + "/pull/" + std::to_string(pr);
    }
    REQUIRE(store.update_session(id, update));
    if (pr != 0 && outcome != PullRequestState::open) {
      REQUIRE(store.record_pull_request_outcome("github", repo, pr, outcome, "bob",
                                                day(created_day) + 1h));
    }
    if (ci != CiResult::unknown)
      REQUIRE(store.record_ci_result("github", repo, "pushed-" + id, "check suite 1", ci));
    if (final_state != SessionState::running) {
      REQUIRE(store.finish_session(
          id, final_state, final_state == SessionState::failed ? "the tests still fail" : "",
          day(created_day) + 2h));
    }
  }

  void seed(SqliteStore& store) {
    ModelCall overloaded = answered("anthropic", "claude", 0);
    overloaded.http_status = 529;
    overloaded.error = "overloaded";
    overloaded.failover_reason = "status 529";
    session(store, "fh-000000000001", 0, "acme/api", TaskType::comment_task,
            {answered("openai", "gpt-4.1", 0.30)}, 600, SessionState::succeeded, 13,
            PullRequestState::merged, CiResult::green);
    session(store, "fh-000000000002", 1, "acme/api", TaskType::ci_fix,
            {answered("anthropic", "claude", 0.10)}, 1200, SessionState::succeeded, 14,
            PullRequestState::closed, CiResult::red);
    session(store, "fh-000000000003", 2, "acme/web", TaskType::comment_task,
            {answered("openai", "gpt-4.1", 0.50)}, 1800, SessionState::succeeded, 3);
    // Failed over from anthropic: the model is the one that answered last.
    session(store, "fh-000000000004", 3, "acme/web", TaskType::comment_task,
            {overloaded, answered("openai", "gpt-4.1", 0.70)}, 300, SessionState::failed);
    session(store, "fh-000000000005", 4, "acme/api", TaskType::comment_task, {}, 0,
            SessionState::denied);
    session(store, "fh-000000000006", 5, "acme/web", TaskType::issue_task,
            {answered("openai", "gpt-4.1", 0.05)}, 0, SessionState::running);
  }
};

}  // namespace

TEST_CASE("forgehand sessions lists the sessions table, filtered, and as JSON") {
  Seeded seeded;
  auto table = seeded.run({"sessions"});
  REQUIRE_MESSAGE(table.status == 0, table.err);
  CHECK(
      table.out ==
      "ID               CREATED (UTC)     STATE      TASK          REPO      ON   MODEL           "
      "  COST (USD)  RUNNER  PR\n"
      "fh-000000000006  2025-02-05 23:00  running    issue_task    acme/web  #12  openai/gpt-4.1  "
      "      0.0500     0 s  -\n"
      "fh-000000000005  2025-02-04 23:00  denied     comment_task  acme/api  #12  -               "
      "      0.0000     0 s  -\n"
      "fh-000000000004  2025-02-03 23:00  failed     comment_task  acme/web  #12  openai/gpt-4.1  "
      "      0.7000   5 min  -\n"
      "fh-000000000003  2025-02-02 23:00  succeeded  comment_task  acme/web  #12  openai/gpt-4.1  "
      "      0.5000  30 min  #3 open\n"
      "fh-000000000002  2025-02-01 23:00  succeeded  ci_fix        acme/api  #12  anthropic/claude"
      "      0.1000  20 min  #14 closed\n"
      "fh-000000000001  2025-01-31 23:00  succeeded  comment_task  acme/api  #12  openai/gpt-4.1  "
      "      0.3000  10 min  #13 merged\n");

  auto web = seeded.run({"sessions", "--repo", "acme/web", "--state", "succeeded"});
  REQUIRE(web.status == 0);
  CHECK(web.out.find("fh-000000000003") != std::string::npos);
  CHECK(web.out.find("fh-000000000004") == std::string::npos);
  CHECK(web.out.find("fh-000000000001") == std::string::npos);

  json listed = seeded.run_json({"sessions", "--repo", "acme/api"});
  REQUIRE(listed.size() == 3);
  CHECK(listed[0]["id"] == "fh-000000000005");
  CHECK(listed[0]["state"] == "denied");
  CHECK(listed[0]["decision"]["deny_reason"] == "permission");
  CHECK(listed[2]["pull_request"]["merged_by"] == "bob");
  CHECK(listed[2]["ci"] == "green");
  CHECK(listed[2]["created_at"] == "2025-01-31T23:00:00Z");

  auto bad = seeded.run({"sessions", "--state", "done"});
  CHECK(bad.status == 2);
  CHECK(bad.err.find("--state done: unknown") != std::string::npos);
}

TEST_CASE("forgehand sessions show prints one session with its redacted transcript") {
  Seeded seeded;
  auto shown = seeded.run({"sessions", "show", "fh-000000000004"});
  REQUIRE_MESSAGE(shown.status == 0, shown.err);
  for (const char* expected :
       {"Session       fh-000000000004\n", "State         failed (attempt 1, worker worker-1)",
        "Repository    acme/web on github, pull request #12\n",
        "Trigger       comment by alice (delivery delivery-fh-000000000004), head trigger-fh-",
        "Policy        allowed\n              - @alice may ask\n",
        "Head          forgehand/fh-000000000004 @ pushed-fh-000000000004\n",
        "Model         openai/gpt-4.1: 2,000 tokens in, 200 out, 0.7000 USD\n",
        "Error         the tests still fail\n", "Tools         read_file, run\n",
        "anthropic  claude   api.example.com     529", "env:MODEL_KEY  overloaded; status 529",
        "AGENTS.md  sha256:eeee", "     0  1.2 s  make test\n",
        "Transcript\n  2025-01-31T23:00:01.000Z user\n    fix the test\n",
        "  2025-01-31T23:00:02.000Z tool run (call_1)\n    ok, all green\n"}) {
    CHECK_MESSAGE(shown.out.find(expected) != std::string::npos, expected, "\n", shown.out);
  }

  json details = seeded.run_json({"sessions", "show", "fh-000000000001"});
  CHECK(details["model"] == "openai/gpt-4.1");
  CHECK(details["pull_request"]["url"] == "https://github.com/acme/api/pull/13");
  REQUIRE(details["transcript"].size() == 2);
  CHECK(details["transcript"][1]["content"] == "ok, all green");
  CHECK(details["instructions"][0]["path"] == "AGENTS.md");

  auto missing = seeded.run({"sessions", "show", "fh-nope"});
  CHECK(missing.status == 1);
  CHECK(missing.err.find("no session fh-nope") != std::string::npos);
}

TEST_CASE("forgehand usage adds up runner hours, tokens and cost by repo, model and month") {
  Seeded seeded;
  auto by_repo = seeded.run({"usage", "--by", "repo"});
  REQUIRE_MESSAGE(by_repo.status == 0, by_repo.err);
  CHECK(by_repo.out ==
        "REPO             SESSIONS  RUNNER HOURS  TOKENS IN  TOKENS OUT  COST (USD)\n"
        "github:acme/api         2          0.50      2,000         200      0.4000\n"
        "github:acme/web         3          0.58      4,000         400      1.2500\n"
        "TOTAL                   5          1.08      6,000         600      1.6500\n");

  json months = seeded.run_json({"usage", "--by", "month"});
  REQUIRE(months.size() == 2);
  CHECK(months[0]["month"] == "2025-01");
  CHECK(months[0]["sessions"] == 1);
  CHECK(months[0]["cost"].get<double>() == doctest::Approx(0.30));
  CHECK(months[1]["month"] == "2025-02");
  CHECK(months[1]["sessions"] == 4);
  CHECK(months[1]["runner_hours"].get<double>() == doctest::Approx(3300.0 / 3600));
  CHECK(months[1]["cost"].get<double>() == doctest::Approx(1.35));

  json models = seeded.run_json({"usage", "--by", "model"});
  REQUIRE(models.size() == 2);
  CHECK(models[0]["model"] == "anthropic/claude");
  CHECK(models[0]["cost"].get<double>() == doctest::Approx(0.10));
  CHECK(models[1]["model"] == "openai/gpt-4.1");
  CHECK(models[1]["sessions"] == 4);
  CHECK(models[1]["runner_hours"].get<double>() == doctest::Approx(0.75));
  CHECK(models[1]["input_tokens"] == 5000);
  CHECK(models[1]["cost"].get<double>() == doctest::Approx(1.55));

  CHECK(seeded.run({"usage", "--by", "week"}).status != 0);
}

TEST_CASE("forgehand scoreboard compares models by task type: shares and medians") {
  Seeded seeded;
  auto table = seeded.run({"scoreboard"});
  REQUIRE_MESSAGE(table.status == 0, table.err);
  CHECK(table.out ==
        "MODEL             TASK          SESSIONS  PRS  MERGED  CI GREEN  MEDIAN COST (USD)  "
        "MEDIAN RUNNER\n"
        "anthropic/claude  ci_fix               1    1      0%        0%             0.1000  "
        "       20 min\n"
        "openai/gpt-4.1    comment_task         3    2     50%      100%             0.5000  "
        "       10 min\n");

  json rows = seeded.run_json({"scoreboard"});
  REQUIRE(rows.size() == 2);
  CHECK(rows[1]["sessions"] == 3);
  CHECK(rows[1]["pull_requests"] == 2);
  CHECK(rows[1]["merged_share"].get<double>() == doctest::Approx(0.5));
  CHECK(rows[1]["ci_known"] == 1);
  CHECK(rows[1]["ci_green_share"].get<double>() == doctest::Approx(1.0));
  CHECK(rows[1]["median_cost"].get<double>() == doctest::Approx(0.50));
  CHECK(rows[1]["median_runner_seconds"].get<double>() == doctest::Approx(600));
}

TEST_CASE("forgehand sessions says where it looked when there is no store") {
  testing::TempDir dir;
  std::filesystem::create_directories(dir.file("logs"));
  testing::ChildProcess process({"sessions", "--data-dir", dir.file("empty")}, dir.file("logs"));
  CHECK(process.wait() == 2);
  CHECK(process.stderr_text().find("no store at " + dir.file("empty") + "/forgehand.db") !=
        std::string::npos);
}
