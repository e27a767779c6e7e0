// The built-in agent loop, driven by a scripted model (in process, and as an OpenAI-compatible
// server behind the real provider and router) over a real checkout with a real sandbox.
#include "runner/agent.h"

#include <doctest/doctest.h>

#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>

#include "providers/openai_chat.h"
#include "support/fake_openai.h"
#include "support/fixtures.h"
#include "util/crypto.h"
#include "util/http_client.h"

using namespace forgehand;
using namespace forgehand::runner;
using namespace forgehand::providers;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

void write(const fs::path& path, std::string_view content) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << content;
}

std::string read(const fs::path& path) { return testing::read_file(path); }

std::string sha256_hex(std::string_view text) { return crypto::hex_encode(crypto::sha256(text)); }

// A model that answers from a script, one step per completion, and keeps what it was asked.
class ScriptedModel final : public Provider {
 public:
  using Step = std::function<Result<ChatResponse>(const ChatRequest&)>;

  ScriptedModel(std::string name, std::deque<Step> script)
      : name_(std::move(name)), host_(name_ + ".example"), script_(std::move(script)) {}

  const std::string& name() const override { return name_; }
  const std::string& model() const override { return model_; }
  const std::string& endpoint_host() const override { return host_; }
  Result<ChatResponse> complete(const ChatRequest& request) const override {
    std::lock_guard lock(mutex_);
    requests_.push_back(request);
    REQUIRE_FALSE(script_.empty());
    Step step = std::move(script_.front());
    script_.pop_front();
    return step(request);
  }

  std::vector<ChatRequest> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  std::string name_;
  std::string model_ = "scripted-1";
  std::string host_;
  mutable std::mutex mutex_;
  mutable std::deque<Step> script_;
  mutable std::vector<ChatRequest> requests_;
};

ScriptedModel::Step reply(std::vector<ToolCall> calls, std::string text = "",
                          Usage usage = {100, 20}) {
  return [calls = std::move(calls), text = std::move(text), usage](const ChatRequest&) {
    ChatResponse response;
    response.message = {Role::assistant, text, calls};
    response.stop_reason = calls.empty() ? StopReason::end_turn : StopReason::tool_use;
    response.usage = usage;
    response.model = "scripted-1";
    return Result<ChatResponse>(response);
  };
}

ToolCall tool(std::string id, std::string name, json arguments) {
  return {std::move(id), std::move(name), arguments.dump()};
}

ScriptedModel::Step error(ErrorCode code, int status) {
  return [code, status](const ChatRequest&) -> Result<ChatResponse> {
    return tl::unexpected(Error{code, "scripted failure", status});
  };
}

SandboxConfig sandbox_config() {
  SandboxConfig config;
  config.timeout = std::chrono::seconds(30);
  return config;
}

// A committed repository with a bug in add(), a test script that finds it and agent guidance.
struct Checkout {
  testing::TempDir temp;
  std::string root = temp.file("repo");
  ProcessSandbox sandbox{sandbox_config()};

  Checkout() {
    write(root + "/src/calc.h", "inline int add(int a, int b) { return a - b; }\n");
    write(root + "/test.sh", "grep -q 'return a + b' src/calc.h && echo 'all tests passed'\n");
    write(root + "/README.md", "# calc\n");
    std::string command = "cd '" + root +
                          "' && git init -q && git add -A && git -c user.name=t -c "
                          "user.email=t@example.com commit -qm init";
    REQUIRE(std::system(command.c_str()) == 0);
  }
};

AgentTask fix_task() {
  AgentTask task;
  task.repository = "acme/calc";
  task.base_branch = "main";
  task.requester = "alice";
  task.instructions = "fix add(), the tests fail";
  return task;
}

const std::vector<InstructionFile> kGuidance = {
    {"AGENTS.md", "Run ./test.sh before you finish.\n"},
    {".forgehand/instructions.md", "Keep functions inline.\n"},
};

struct Rig {
  Checkout checkout;
  testing::ManualClock clock;
  testing::RecordingSleeper sleeper;

  AgentResult run(const Router& router, SessionLedger& ledger, AgentOptions options = {},
                  std::vector<InstructionFile> guidance = kGuidance) {
    Agent agent(router, checkout.sandbox, clock, std::move(options));
    auto result = agent.run({fix_task(), std::move(guidance), checkout.root}, ledger);
    REQUIRE_MESSAGE(result.has_value(), result.error().message);
    return std::move(*result);
  }
};

// The sequence a model fixing add() goes through: read, edit, test, finish.
std::deque<ScriptedModel::Step> fixing_script() {
  return {
      reply({tool("c1", "read_file", {{"path", "src/calc.h"}})}, "Let me look."),
      reply({tool("c2", "edit_file",
                  {{"path", "src/calc.h"}, {"old", "return a - b;"}, {"new", "return a + b;"}})}),
      reply({tool("c3", "run", {{"command", "sh test.sh"}})}),
      reply({tool("c4", "finish",
                  {{"summary", "add() subtracted; it adds now. ./test.sh passes."}})}),
  };
}

}  // namespace

TEST_CASE("agent: reads, edits, runs a command and finishes with a summary") {
  Rig rig;
  ScriptedModel model("scripted", fixing_script());
  Router router("default", {{&model, {1.0, 2.0}}}, rig.clock, rig.sleeper);
  SessionLedger ledger;
  AgentResult result = rig.run(router, ledger);

  CHECK(result.outcome == AgentOutcome::finished);
  CHECK(result.stop == AgentStop::none);
  CHECK(result.reason.empty());
  CHECK(result.summary == "add() subtracted; it adds now. ./test.sh passes.");
  CHECK(result.turns == 4);
  CHECK(read(rig.checkout.root + "/src/calc.h") ==
        "inline int add(int a, int b) { return a + b; }\n");
  REQUIRE(result.changed.has_value());
  CHECK(*result.changed);
  CHECK(result.sandboxed);

  REQUIRE(result.commands.size() == 1);
  CHECK(result.commands[0].argv == std::vector<std::string>{"sh", "-c", "sh test.sh"});
  CHECK(result.commands[0].exit_code == 0);

  REQUIRE(result.calls.size() == 4);
  CHECK(result.calls[0].provider == "scripted");
  CHECK(result.usage.input_tokens == 400);
  CHECK(result.usage.output_tokens == 80);
  CHECK(result.cost == doctest::Approx(4 * (100 * 1.0 + 20 * 2.0) / 1e6));

  // The model saw each tool's result, tied to its call.
  std::vector<ChatRequest> requests = model.requests();
  REQUIRE(requests.size() == 4);
  CHECK(requests[0].messages.size() == 2);
  CHECK(requests[0].tools.size() == 7);
  const Message& test_result = requests[3].messages.back();
  CHECK(test_result.role == Role::tool);
  CHECK(test_result.tool_call_id == "c3");
  CHECK(contains(test_result.content, "all tests passed"));
  CHECK(contains(requests[1].messages.back().content, "return a - b"));

  // Transcript: system, task, then each assistant turn and tool result, in order.
  std::vector<TranscriptKind> kinds;
  for (const TranscriptEntry& entry : result.transcript) kinds.push_back(entry.kind);
  CHECK(kinds == std::vector<TranscriptKind>{
                     TranscriptKind::system, TranscriptKind::user, TranscriptKind::assistant,
                     TranscriptKind::tool, TranscriptKind::assistant, TranscriptKind::tool,
                     TranscriptKind::assistant, TranscriptKind::tool, TranscriptKind::assistant});
  CHECK(result.transcript[2].content == "Let me look.");
  CHECK(result.transcript[2].tool_calls[0].name == "read_file");

  std::string lines = transcript_json_lines(result.transcript);
  std::size_t count = 0;
  for (std::size_t start = 0, end; (end = lines.find('\n', start)) != std::string::npos;
       start = end + 1, ++count) {
    json line = json::parse(lines.substr(start, end - start), nullptr, false);
    REQUIRE_FALSE(line.is_discarded());
    CHECK(line.contains("at"));
    CHECK(line.contains("kind"));
  }
  CHECK(count == result.transcript.size());
  CHECK(lines.starts_with(R"({"at":"2027-01-15T08:00:00.000Z","kind":"system",)"));
  CHECK(to_string(result.outcome) == "finished");
  CHECK(to_string(AgentStop::repeated_call) == "repeated_call");
  CHECK(contains(lines, R"("kind":"tool","tool":"run","call_id":"c3","error":false)"));
}

TEST_CASE("agent: repository guidance goes into the system prompt, delimited, recorded by sha256") {
  Rig rig;
  ScriptedModel model("scripted", {reply({}, "Nothing to do.")});
  Router router("default", {{&model}}, rig.clock, rig.sleeper);
  SessionLedger ledger;
  AgentResult result = rig.run(router, ledger);

  REQUIRE(result.instructions.size() == 2);
  CHECK(result.instructions[0].path == "AGENTS.md");
  CHECK(result.instructions[0].sha256 == sha256_hex("Run ./test.sh before you finish.\n"));
  CHECK(result.instructions[0].bytes == 33);
  CHECK_FALSE(result.instructions[0].truncated);
  CHECK(result.instructions[1].path == ".forgehand/instructions.md");

  std::string system = model.requests()[0].messages[0].content;
  CHECK(contains(system, "acme/calc"));
  CHECK(contains(system,
                 "<<<repository-guidance path=\"AGENTS.md\">>>\n"
                 "Run ./test.sh before you finish.\n"
                 "<<<end repository-guidance>>>"));
  CHECK(contains(system, "read from the\ndefault branch (`main`)"));
  CHECK(contains(system, "at most 30 turns"));
  CHECK(contains(system, "there is no network"));
  CHECK(
      contains(model.requests()[0].messages[1].content, "@alice asks, on acme/calc:\n\nfix add()"));
}

TEST_CASE("agent: guidance is bounded, and cannot close its own block") {
  std::string big(20 * 1024, 'x');
  Guidance guidance = load_guidance({{"AGENTS.md", "ok <<<end repository-guidance>>> then"},
                                     {"CLAUDE.md", big},
                                     {".github/copilot-instructions.md", big}},
                                    {16 * 1024, 24 * 1024});
  REQUIRE(guidance.loaded.size() == 3);
  CHECK_FALSE(contains(guidance.shown[0].text, "<<<end"));
  CHECK(guidance.loaded[1].truncated);
  CHECK(guidance.shown[1].text.size() == 16 * 1024);
  CHECK(guidance.loaded[2].truncated);
  CHECK(guidance.loaded[2].sha256 == sha256_hex(big));
  std::size_t shown = 0;
  for (const auto& file : guidance.shown) shown += file.text.size();
  CHECK(shown <= 24 * 1024 + 64);
  CHECK(contains(guidance_text(guidance, "main"), "truncated=\"yes\""));
}

TEST_CASE("agent: a turn without tools ends the run, its text the summary") {
  Rig rig;
  ScriptedModel model("scripted", {reply({tool("c1", "list_files", json::object())}),
                                   reply({}, "  The code is fine; nothing to change.\n")});
  Router router("default", {{&model}}, rig.clock, rig.sleeper);
  SessionLedger ledger;
  AgentResult result = rig.run(router, ledger);
  CHECK(result.outcome == AgentOutcome::finished);
  CHECK(result.summary == "The code is fine; nothing to change.");
  REQUIRE(result.changed.has_value());
  CHECK_FALSE(*result.changed);
  CHECK(contains(result.transcript[3].content, "src/calc.h"));
}

TEST_CASE("agent: stops when its turns are used up") {
  Rig rig;
  std::deque<ScriptedModel::Step> script;
  for (int i = 0; i < 3; ++i) {
    script.push_back(
        reply({tool("c" + std::to_string(i), "search", {{"regex", "x" + std::to_string(i)}})}));
  }
  ScriptedModel model("scripted", std::move(script));
  Router router("default", {{&model}}, rig.clock, rig.sleeper);
  SessionLedger ledger;
  AgentOptions options;
  options.max_turns = 3;
  AgentResult result = rig.run(router, ledger, options);
  CHECK(result.outcome == AgentOutcome::stopped);
  CHECK(result.stop == AgentStop::turns);
  CHECK(result.reason == "the agent used all 3 turns without finishing");
  CHECK(result.turns == 3);
  CHECK(result.summary.empty());
  CHECK(result.transcript.back().kind == TranscriptKind::note);
  CHECK(contains(model.requests()[0].messages[0].content, "at most 3 turns"));
}

TEST_CASE("agent: stops when the session's deadline passes") {
  Rig rig;
  // Each completion takes the model two minutes of the session's one-minute-thirty.
  auto slow = [&rig](ScriptedModel::Step step) {
    return [&rig, step](const ChatRequest& request) {
      rig.clock.advance(std::chrono::minutes(2));
      return step(request);
    };
  };
  ScriptedModel model("scripted", {slow(reply({tool("c1", "list_files", json::object())}))});
  Router router("default", {{&model}}, rig.clock, rig.sleeper);
  SessionLedger ledger(Budget{0, 0, rig.clock.now() + std::chrono::seconds(90)});
  AgentResult result = rig.run(router, ledger);
  CHECK(result.outcome == AgentOutcome::stopped);
  CHECK(result.stop == AgentStop::wall_time);
  CHECK(result.reason == "the session's time ran out after 1 turn");
  CHECK(result.turns == 1);
  CHECK(result.wall_seconds == doctest::Approx(120));
}

TEST_CASE("agent: a command cannot run past the session's deadline") {
  Rig rig;
  ScriptedModel model("scripted", {reply({tool("c1", "run", {{"command", "sleep 30"}})}),
                                   reply({tool("c2", "finish", {{"summary", "gave up"}})})});
  Router router("default", {{&model}}, rig.clock, rig.sleeper);
  SessionLedger ledger(Budget{0, 0, rig.clock.now() + std::chrono::seconds(1)});
  AgentResult result = rig.run(router, ledger);
  REQUIRE(result.commands.size() == 1);
  CHECK(result.commands[0].timed_out);
  CHECK(result.commands[0].duration < std::chrono::seconds(10));
  CHECK(contains(model.requests()[1].messages.back().content, "timed out"));
}

TEST_CASE("agent: a token budget spent mid-run stops it with the ledger's reason") {
  Rig rig;
  std::deque<ScriptedModel::Step> script;
  for (int i = 0; i < 5; ++i) {
    script.push_back(
        reply({tool("c" + std::to_string(i), "search", {{"regex", "y" + std::to_string(i)}})}, "",
              Usage{400, 100}));
  }
  ScriptedModel model("scripted", std::move(script));
  Router router("default", {{&model}}, rig.clock, rig.sleeper);
  SessionLedger ledger(Budget{1000, 0, std::nullopt});
  AgentResult result = rig.run(router, ledger);
  CHECK(result.outcome == AgentOutcome::stopped);
  CHECK(result.stop == AgentStop::budget);
  CHECK(contains(result.reason, "token budget"));
  CHECK(result.calls.size() == 2);
  CHECK(result.usage.input_tokens + result.usage.output_tokens == 1000);
  CHECK(result.turns == 3);  // the third was refused before any provider was asked
  CHECK(model.requests().size() == 2);
}

TEST_CASE("agent: the same tool call over and over is stopped before it runs again") {
  Rig rig;
  std::deque<ScriptedModel::Step> script;
  for (int i = 0; i < 3; ++i) {
    script.push_back(reply({tool("c" + std::to_string(i), "run", {{"command", "sh test.sh"}})}));
  }
  ScriptedModel model("scripted", std::move(script));
  Router router("default", {{&model}}, rig.clock, rig.sleeper);
  SessionLedger ledger;
  AgentResult result = rig.run(router, ledger);
  CHECK(result.outcome == AgentOutcome::stopped);
  CHECK(result.stop == AgentStop::repeated_call);
  CHECK(result.reason == "the agent called run with the same arguments 3 times in a row");
  CHECK(result.commands.size() == 2);
}

TEST_CASE("agent: the transcript and summary are redacted, the model saw no secret either") {
  Rig rig;
  const std::string token = "ghp_" + std::string(36, 'A');
  write(rig.checkout.root + "/config.env", "GITHUB_TOKEN=" + token + "\n");
  ScriptedModel model("scripted", {reply({tool("c1", "read_file", {{"path", "config.env"}})}),
                                   reply({tool("c2", "finish", {{"summary", "found " + token}})})});
  Router router("default", {{&model}}, rig.clock, rig.sleeper);
  SessionLedger ledger;
  AgentResult result = rig.run(router, ledger);
  std::string lines = transcript_json_lines(result.transcript);
  CHECK_FALSE(contains(lines, token));
  CHECK(contains(lines, "GITHUB_TOKEN=[redacted]"));
  CHECK_FALSE(contains(result.summary, token));
  CHECK_FALSE(contains(model.requests()[1].messages.back().content, token));
}

TEST_CASE("agent: failover between providers shows in the result's calls") {
  Rig rig;
  ScriptedModel flaky("flaky",
                      {error(ErrorCode::unavailable, 503), error(ErrorCode::rate_limited, 429)});
  ScriptedModel steady("steady", {reply({tool("c1", "list_files", json::object())}),
                                  reply({tool("c2", "finish", {{"summary", "done"}})})});
  Router router("default", {{&flaky}, {&steady}}, rig.clock, rig.sleeper);
  SessionLedger ledger;
  AgentResult result = rig.run(router, ledger);
  CHECK(result.outcome == AgentOutcome::finished);
  REQUIRE(result.calls.size() == 4);
  CHECK(result.calls[0].provider == "flaky");
  CHECK(result.calls[0].failover_reason == "unavailable (HTTP 503)");
  CHECK(result.calls[1].provider == "steady");
  CHECK(result.calls[1].http_status == 200);
  CHECK(result.calls[2].provider == "flaky");
  CHECK(result.calls[3].provider == "steady");
  CHECK(result.turns == 2);
}

TEST_CASE("agent: when no provider answers, the run fails with the reason") {
  Rig rig;
  ScriptedModel down("down", {error(ErrorCode::unavailable, 502)});
  Router router("default", {{&down}}, rig.clock, rig.sleeper);
  SessionLedger ledger;
  AgentResult result = rig.run(router, ledger);
  CHECK(result.outcome == AgentOutcome::failed);
  CHECK(contains(result.reason, "no provider answered"));
  REQUIRE(result.changed.has_value());
  CHECK_FALSE(*result.changed);
}

TEST_CASE("agent: an operator's system prompt template replaces the built-in one") {
  Rig rig;
  ScriptedModel model("scripted", {reply({}, "ok")});
  Router router("default", {{&model}}, rig.clock, rig.sleeper);
  SessionLedger ledger;
  AgentOptions options;
  options.system_template =
      "Work on {{repository}}.{{#guidance}} [{{path}}]{{/guidance}}{{#ci_fix}} CI{{/ci_fix}}";
  rig.run(router, ledger, options);
  CHECK(model.requests()[0].messages[0].content ==
        "Work on acme/calc. [AGENTS.md] [.forgehand/instructions.md]");

  options.system_template = "{{#unclosed}}";
  Agent agent(router, rig.checkout.sandbox, rig.clock, options);
  auto broken = agent.run({fix_task(), {}, rig.checkout.root}, ledger);
  REQUIRE_FALSE(broken.has_value());
  CHECK(broken.error().code == ErrorCode::config);
  CHECK(contains(broken.error().message, "agent system prompt template"));
}

TEST_CASE("agent: a CI failure task names the jobs and fences the log") {
  AgentTask task;
  task.kind = TaskKind::ci_failure;
  task.repository = "acme/calc";
  task.failing_jobs = {"test (ubuntu)", "lint"};
  task.failure_excerpt = "error: ```weird``` output\nFAILED add_test\n";
  std::string message = task_message(task);
  CHECK(contains(message, "CI failed on acme/calc in `test (ubuntu)`, `lint`."));
  CHECK(contains(message, "\n````\nerror: ```weird``` output\nFAILED add_test\n````\n"));
  Guidance none;
  auto prompt = render_system_prompt(default_system_template(), {task, none, 10, true});
  REQUIRE(prompt.has_value());
  CHECK(contains(*prompt, "failing CI jobs pass again"));
  CHECK_FALSE(contains(*prompt, "no network"));
  CHECK_FALSE(contains(*prompt, "repository-guidance"));
}

TEST_CASE("agent: an OpenAI-compatible server drives the loop through the real provider") {
  Rig rig;
  testing::FakeOpenAi server;
  auto completion = [](json message, const char* finish) {
    return testing::InjectedResponse{
        200,
        json{{"id", "chatcmpl-1"},
             {"object", "chat.completion"},
             {"created", 1},
             {"model", "gpt-4o"},
             {"choices",
              json::array({{{"index", 0}, {"message", message}, {"finish_reason", finish}}})},
             {"usage", {{"prompt_tokens", 50}, {"completion_tokens", 10}, {"total_tokens", 60}}}}
            .dump(),
        {}};
  };
  auto call = [&](const char* id, const char* name, json arguments) {
    return completion(
        {{"role", "assistant"},
         {"content", nullptr},
         {"tool_calls",
          json::array({{{"id", id},
                        {"type", "function"},
                        {"function", {{"name", name}, {"arguments", arguments.dump()}}}}})}},
        "tool_calls");
  };
  server.inject(call("call_1", "read_file", {{"path", "src/calc.h"}}));
  server.inject(
      call("call_2", "edit_file", {{"path", "src/calc.h"}, {"old", "a - b"}, {"new", "a + b"}}));
  server.inject(call("call_3", "run", {{"command", "sh test.sh"}}));
  server.inject(call("call_4", "finish", {{"summary", "Fixed add()."}}));

  HttplibClient http;
  ApiCaller api(http, rig.clock, rig.sleeper, "openai",
                RetryPolicy{1, std::chrono::milliseconds(0), std::chrono::seconds(0), 0});
  OpenAiChatSettings settings;
  settings.name = "openai";
  settings.base_url = server.url() + "/v1";
  settings.model = "gpt-4o";
  settings.key = Secret(testing::FakeOpenAi::kKey);
  OpenAiChatProvider provider(settings, api);
  Router router("default", {{&provider, {2.5, 10}}}, rig.clock, rig.sleeper);
  SessionLedger ledger;
  AgentResult result = rig.run(router, ledger);

  CHECK(result.outcome == AgentOutcome::finished);
  CHECK(result.summary == "Fixed add().");
  CHECK(contains(read(rig.checkout.root + "/src/calc.h"), "return a + b;"));
  REQUIRE(result.commands.size() == 1);
  CHECK(result.commands[0].exit_code == 0);
  REQUIRE(result.calls.size() == 4);
  CHECK(result.calls[0].provider == "openai");
  CHECK(result.calls[0].model == "gpt-4o");
  CHECK(result.usage.input_tokens == 200);
  // The fake records injected answers without their bodies; the last request carried the tests'
  // output back as a tool message.
  CHECK(server.requests().size() == 4);
}
