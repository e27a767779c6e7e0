// The runner end to end, with nothing faked but the model: a real git server (basic auth) serves
// the fixture repository fixtures/repos/stats, whose unit tests fail on an off-by-one; Workspace
// prepares a checkout; the built-in agent, through the real OpenAI provider and router, follows a
// scripted Chat Completions model that lists, reads, runs the failing tests, fixes the bug and
// runs them again, all in the real sandbox; then publish pushes the fix.
#include <doctest/doctest.h>

#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "providers/openai_chat.h"
#include "providers/router.h"
#include "providers/session_ledger.h"
#include "runner/agent.h"
#include "runner/publish.h"
#include "runner/sandbox.h"
#include "runner/workspace.h"
#include "support/fixtures.h"
#include "support/git_server.h"
#include "support/scripted_openai.h"
#include "util/api_caller.h"
#include "util/http_client.h"

using namespace forgehand;
using namespace forgehand::runner;
using namespace forgehand::providers;
namespace fs = std::filesystem;
using json = nlohmann::json;
using testing::ScriptedCall;
using testing::ScriptedTurn;

namespace {

constexpr std::string_view kRepo = "acme/stats";
constexpr std::string_view kBug = "for (int i = from; i < to; ++i)";
constexpr std::string_view kFix = "for (int i = from; i <= to; ++i)";
constexpr std::string_view kSummary =
    "range_sum() left out its upper bound: the loop ran `i < to` although `to` is included. It "
    "runs `i <= to` now; `make test` passes (6 checks).";

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

// Each turn checks what the previous turn's tools returned before the model "decides" the next.
std::vector<ScriptedTurn> fixing_script() {
  auto require = [](std::vector<std::pair<std::size_t, std::string>> wanted) {
    return [wanted](const std::vector<std::string>& results) -> std::string {
      for (const auto& [index, part] : wanted) {
        if (index >= results.size() || !contains(results[index], part)) {
          return "result " + std::to_string(index) + " lacks \"" + part + "\"";
        }
      }
      return "";
    };
  };
  return {
      {"I'll look at the repository first.", {{"list_files", json::object()}}, {}},
      {"",
       {{"read_file", {{"path", "Makefile"}}},
        {"read_file", {{"path", "src/stats.c"}}},
        {"read_file", {{"path", "tests/stats_test.c"}}}},
       [](const std::vector<std::string>& results) -> std::string {
         if (results.size() != 1) return "one listing expected";
         for (const char* path : {"Makefile", "src/stats.c", "src/stats.h", "tests/stats_test.c"}) {
           if (!contains(results[0], path)) return std::string("the listing lacks ") + path;
         }
         return contains(results[0], "build/") ? "the listing shows ignored files" : "";
       }},
      {"Let me run the tests to see what fails.",
       {{"run", {{"command", "make test"}}}},
       require({{0, "./build/stats_test"},
                {1, std::string(kBug)},
                {2, "CHECK_EQ(range_sum(1, 4), 10);"}})},
      {"range_sum() stops one short: the loop runs `i < to`, but `to` is included.",
       {{"edit_file",
         {{"path", "src/stats.c"}, {"old", std::string(kBug)}, {"new", std::string(kFix)}}}},
       require({{0, "[exit 2 after"},
                {0, "FAIL tests/stats_test.c:20: range_sum(1, 4) == 6, want 10"},
                {0, "3 of 6 checks failed"}})},
      {"", {{"run", {{"command", "make test"}}}}, require({{0, "edited src/stats.c at line 5"}})},
      {"",
       {{"finish", {{"summary", std::string(kSummary)}}}},
       require({{0, "[exit 0 after"}, {0, "all 6 checks passed"}})},
  };
}

SandboxConfig sandbox_config() {
  SandboxConfig config;
  config.timeout = std::chrono::seconds(60);
  return config;
}

}  // namespace

// No ';' in the name: CMake would cut the ctest entry there and run nothing.
TEST_CASE(
    "runner e2e: a scripted model fixes a failing unit test, which then passes in the sandbox, "
    "and publish pushes exactly the fix with its attribution") {
  testing::GitServer git;
  git.create_repo(kRepo);
  std::map<std::string, std::optional<std::string>> files = testing::fixture_repository("stats");
  std::string main_sha = git.commit(kRepo, "main", files, "stats: range_sum and mean");

  testing::TempDir data;
  auto workspace = Workspace::open({data.file("workspaces")});
  REQUIRE_MESSAGE(workspace.has_value(), workspace.error().message);
  auto checkout = (*workspace)
                      ->prepare({"gitea", std::string(kRepo), git.credentials(kRepo)},
                                {"e2e7", "fix range_sum off by one", {"main"}, ""});
  REQUIRE_MESSAGE(checkout.has_value(), checkout.error().message);
  CHECK(checkout->branch == "forgehand/e2e7-fix-range-sum-off-by-one");
  CHECK(checkout->base_sha == main_sha);

  testing::ScriptedOpenAi model(fixing_script());
  testing::ManualClock clock;
  testing::RecordingSleeper sleeper;
  HttplibClient http;
  ApiCaller api(http, clock, sleeper, "openai",
                RetryPolicy{1, std::chrono::milliseconds(0), std::chrono::seconds(0), 0});
  OpenAiChatSettings settings;
  settings.name = "openai";
  settings.base_url = model.url() + "/v1";
  settings.model = "gpt-4o";
  settings.key = Secret(testing::ScriptedOpenAi::kKey);
  OpenAiChatProvider provider(settings, api);
  Router router("default", {{&provider, {2.5, 10}}}, clock, sleeper);
  ProcessSandbox sandbox(sandbox_config());

  // A maintainer pasted CI output that carries a token; it must not reach the transcript.
  const std::string leaked = "glpat-" + std::string("e2eLeakedToken7x9Q");
  AgentTask task;
  task.repository = std::string(kRepo);
  task.base_branch = "main";
  task.requester = "alice";
  task.instructions =
      "`make test` fails on CI since range_sum() landed:\n\n"
      "    + curl --header 'PRIVATE-TOKEN: " +
      leaked +
      "' https://ci.example/artifacts\n"
      "    FAIL tests/stats_test.c:20: range_sum(1, 4) == 6, want 10\n\n"
      "Please fix it.";
  std::vector<InstructionFile> guidance = {{"AGENTS.md", *files.at("AGENTS.md")}};
  SessionLedger ledger;
  Agent agent(router, sandbox, clock);
  auto run = agent.run({task, guidance, checkout->path}, ledger);
  REQUIRE_MESSAGE(run.has_value(), run.error().message);
  const AgentResult& result = *run;

  // The model's side: every request continued the conversation, tool results came back for each
  // tool_call_id, and each result was what a real model would have reacted to.
  CHECK(model.problems() == std::vector<std::string>{});
  CHECK(model.turns_served() == 6);
  CHECK_MESSAGE(result.outcome == AgentOutcome::finished, result.reason);
  CHECK(result.summary == kSummary);
  CHECK(result.turns == 6);
  CHECK(result.sandboxed);
  REQUIRE(result.changed.has_value());
  CHECK(*result.changed);
  REQUIRE(result.instructions.size() == 1);
  CHECK(result.instructions[0].path == "AGENTS.md");

  REQUIRE(result.commands.size() == 2);
  for (const CommandRecord& command : result.commands) {
    CHECK(command.argv == std::vector<std::string>{"sh", "-c", "make test"});
    CHECK_FALSE(command.timed_out);
  }
  CHECK(result.commands[0].exit_code == 2);
  CHECK(result.commands[1].exit_code == 0);

  // The ledger holds one answered call per turn, with the usage the server reported.
  std::vector<ProviderCall> calls = ledger.calls();
  REQUIRE(calls.size() == 6);
  for (const ProviderCall& call : calls) {
    CHECK(call.provider == "openai");
    CHECK("http://" + call.endpoint_host == model.url());
    CHECK(call.http_status == 200);
    CHECK(call.failover_reason.empty());
  }
  CHECK(ledger.usage().input_tokens == model.prompt_tokens());
  CHECK(ledger.usage().output_tokens == model.completion_tokens());
  double spent = static_cast<double>(model.prompt_tokens()) * 2.5 +
                 static_cast<double>(model.completion_tokens()) * 10.0;
  CHECK(ledger.cost() == doctest::Approx(spent / 1e6));
  CHECK(result.calls.size() == calls.size());

  // The transcript: system, task, then six answers and a result for each call but finish's.
  std::vector<TranscriptKind> kinds;
  for (const TranscriptEntry& entry : result.transcript) kinds.push_back(entry.kind);
  using K = TranscriptKind;
  CHECK(kinds == std::vector<K>{K::system, K::user, K::assistant, K::tool, K::assistant, K::tool,
                                K::tool, K::tool, K::assistant, K::tool, K::assistant, K::tool,
                                K::assistant, K::tool, K::assistant});
  CHECK(result.transcript[5].tool_call_id == "call_2_1");
  CHECK(result.transcript[7].tool_call_id == "call_2_3");
  std::string lines = transcript_json_lines(result.transcript);
  CHECK_FALSE(contains(lines, leaked));
  CHECK_FALSE(contains(lines, testing::ScriptedOpenAi::kKey));
  CHECK_FALSE(contains(lines, testing::GitServer::kPassword));
  CHECK(contains(lines, "PRIVATE-TOKEN: [redacted]"));
  // Nor did the token leave the machine towards the model.
  for (const testing::RecordedRequest& request : model.requests()) {
    CHECK_FALSE(contains(request.body, leaked));
  }

  // The tests pass in the sandbox on a clean rebuild, exactly as the runner would run them.
  auto again = sandbox.run({{"make", "-B", "test"}, checkout->path});
  REQUIRE_MESSAGE(again.has_value(), again.error().message);
  CHECK_MESSAGE(again->succeeded(), again->output);
  CHECK(again->sandboxed);
  CHECK(contains(again->output, "all 6 checks passed"));

  PublishRequest request;
  request.checkout_path = checkout->path;
  request.base_objects = checkout->base_objects;
  request.branch = checkout->branch;
  request.base_sha = checkout->base_sha;
  request.remote = git.credentials(kRepo);
  request.commit.author_name = "forgehand[bot]";
  request.commit.author_email = "forgehand@example.com";
  request.commit.message = "Fix range_sum's upper bound\n\n" + result.summary + "\n";
  request.commit.session_id = "e2e7";
  for (const ProviderCall& call : calls) request.commit.models.push_back("openai/" + call.model);
  request.commit.requested_by = task.requester;
  request.policy.default_branch = "main";
  auto published = publish(request);
  REQUIRE_MESSAGE(published.has_value(), published.error().message);
  CHECK(published->outcome == PublishOutcome::pushed);

  // On the server: one commit on the new branch, parent main, carrying exactly the fix.
  std::string ref = "refs/heads/" + checkout->branch;
  CHECK(git.rev_parse(kRepo, ref) == published->sha);
  CHECK(git.rev_parse(kRepo, "refs/heads/main") == main_sha);
  CHECK(git.git(kRepo, {"log", "--format=%P", "-1", ref}) == main_sha + "\n");
  CHECK(git.git(kRepo, {"diff", "--name-status", main_sha, ref}) == "M\tsrc/stats.c\n");
  std::string fixed = *files.at("src/stats.c");
  fixed.replace(fixed.find(kBug), kBug.size(), kFix);
  CHECK(git.git(kRepo, {"show", ref + ":src/stats.c"}) == fixed);
  std::string message = git.git(kRepo, {"log", "-1", "--format=%an <%ae>%n%B", ref});
  CHECK(
      message.starts_with("forgehand[bot] <forgehand@example.com>\nFix range_sum's upper bound\n"));
  CHECK(contains(message, "Forgehand-Session: e2e7\n"));
  CHECK(contains(message, "Model: openai/" + calls[0].model + "\n"));
  CHECK(contains(message, "Requested-by: alice\n"));
  REQUIRE(published->changes.files.size() == 1);
  CHECK(published->changes.added_lines == 1);
  CHECK(published->changes.deleted_lines == 1);
  CHECK(contains(published->changes.patch, "-  " + std::string(kBug) + " sum += i;\n"));
  CHECK(contains(published->changes.patch, "+  " + std::string(kFix) + " sum += i;\n"));
}
