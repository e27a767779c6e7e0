// An agent CLI run the way the runner runs one: a shell script standing in for Aider or Codex CLI,
// in the real sandbox, calling the real model proxy (through the bridge when the sandbox has no
// network) in front of a fake OpenAI server.
#include "runner/external_agent.h"

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "providers/openai_chat.h"
#include "support/fake_openai.h"
#include "support/fixtures.h"
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

constexpr const char* kProviderKey = testing::FakeOpenAi::kKey;

// Records what it was given, asks the model through the proxy, fixes add() and reports. The
// `{summary_file}` argument, when there is one, gets a summary of its own.
constexpr const char* kFakeCli = R"(#!/bin/sh
out=.fake-agent
env > $out/env.txt
printf '%s\n' "$0" "$@" > $out/argv.txt
for f in /proc/[0-9]*/cmdline; do tr '\0' ' ' < "$f"; echo; done > $out/cmdlines.txt
cp "$FORGEHAND_TASK_FILE" $out/task.txt
ask() {
  curl -sS -f --max-time 20 -H "Authorization: Bearer $OPENAI_API_KEY" \
    -H 'Content-Type: application/json' \
    -d "{\"model\":\"$OPENAI_MODEL\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}" \
    "$OPENAI_BASE_URL/chat/completions"
}
ask > $out/answer.json || exit 3
if [ "$1" = twice ]; then ask > $out/second.json || exit 4; fi
if [ "$1" = sleep ]; then sleep 30; fi
if [ "$1" = fail ]; then echo "cannot go on" >&2; exit 9; fi
echo 'inline int add(int a, int b) { return a + b; }' > src/calc.h
if [ "$2" = --summary ]; then printf 'From the summary file.\n\nTwo paragraphs.\n' > "$3"; fi
echo "Asked the model; it answered."
echo
echo "Fixed add() so it adds."
)";

SandboxConfig sandbox_config() {
  SandboxConfig config;
  config.timeout = std::chrono::seconds(60);
  return config;
}

class Rig {
 public:
  Rig()
      : api_(http_, clock, sleeper_, "openai",
             RetryPolicy{1, std::chrono::milliseconds(0), std::chrono::seconds(0), 0}),
        openai_(openai_settings(), api_),
        router_("default", {{&openai_, {2.5, 10}}}, clock, sleeper_),
        proxy(proxy::ModelProxyOptions{}, clock) {
    REQUIRE(proxy.start());
    write(root + "/src/calc.h", "inline int add(int a, int b) { return a - b; }\n");
    write(root + "/.fake-agent/agent.sh", kFakeCli);
    std::string command = "cd '" + root +
                          "' && git init -q && echo .fake-agent/ >> .git/info/exclude && git add "
                          "-A && git -c user.name=t -c user.email=t@example.com commit -qm init";
    REQUIRE(std::system(command.c_str()) == 0);
  }

  AgentResult run(std::vector<std::string> extra_args = {}, RunnerConfig config = {},
                  ExternalAgentOptions options = {}, Budget budget = {}) {
    config.kind = RunnerKind::command;
    if (config.argv.empty()) {
      config.argv = {"sh", ".fake-agent/agent.sh"};
      config.argv.insert(config.argv.end(), extra_args.begin(), extra_args.end());
      config.argv.insert(config.argv.end(), {"--model", "openai/{model}", "{task_file}"});
    }
    options.bridge_executable = FORGEHAND_BINARY;
    ledger = std::make_shared<SessionLedger>(budget);
    ExternalAgent agent(std::move(config), sandbox, proxy, router_, clock, std::move(options));
    AgentTask task;
    task.repository = "acme/calc";
    task.base_branch = "main";
    task.requester = "alice";
    task.instructions = "fix add()";
    auto result =
        agent.run({task, {{"AGENTS.md", "Run the tests first.\n"}}, root}, "session-1", ledger);
    REQUIRE_MESSAGE(result.has_value(), result.error().message);
    return std::move(*result);
  }

  std::string recorded(const std::string& name) const {
    return testing::read_file(root + "/.fake-agent/" + name);
  }
  // The value of NAME in the environment the CLI saw.
  std::string env(const std::string& name) const {
    std::string text = "\n" + recorded("env.txt");
    std::size_t at = text.find("\n" + name + "=");
    if (at == std::string::npos) return {};
    at += name.size() + 2;
    return text.substr(at, text.find('\n', at) - at);
  }

  testing::TempDir temp;
  std::string root = temp.file("repo");
  testing::ManualClock clock;
  testing::FakeOpenAi provider_server;
  ProcessSandbox sandbox{sandbox_config()};
  std::shared_ptr<SessionLedger> ledger;

 private:
  OpenAiChatSettings openai_settings() const {
    OpenAiChatSettings settings;
    settings.name = "openai";
    settings.base_url = provider_server.url() + "/v1";
    settings.model = "gpt-4o";
    settings.key = Secret(kProviderKey);
    return settings;
  }

  testing::RecordingSleeper sleeper_;
  HttplibClient http_;
  ApiCaller api_;
  OpenAiChatProvider openai_;
  Router router_;

 public:
  proxy::ModelProxy proxy;
};

}  // namespace

TEST_CASE("external agent: a CLI reaches the model through the bridge with a session token only") {
  Rig rig;
  RunnerConfig config;
  config.env = {{"MY_CLI_KEY", "{api_key}"}, {"MY_CLI_URL", "{base_url}"}};
  AgentResult result = rig.run({}, config);

  CHECK(result.outcome == AgentOutcome::finished);
  CHECK(result.summary == "Fixed add() so it adds.");
  REQUIRE(result.changed.has_value());
  CHECK(*result.changed);
  CHECK(testing::read_file(rig.root + "/src/calc.h") ==
        "inline int add(int a, int b) { return a + b; }\n");

  // The CLI's environment: the bridge's URL inside the sandbox and the session token.
  std::string token = rig.env("OPENAI_API_KEY");
  CHECK(token.starts_with("fh_proxy_"));
  CHECK(rig.env("OPENAI_BASE_URL") == "http://127.0.0.1:7411/v1");
  CHECK(rig.env("OPENAI_API_BASE") == "http://127.0.0.1:7411/v1");
  CHECK(rig.env("OPENAI_MODEL") == "default");
  CHECK(rig.env("MY_CLI_KEY") == token);
  CHECK(rig.env("MY_CLI_URL") == "http://127.0.0.1:7411/v1");
  CHECK(contains(rig.recorded("answer.json"), "Hello from the fake."));

  // The provider's key reached the provider, from forgehand, and nothing in the sandbox.
  auto provider_requests = rig.provider_server.requests_to("/v1/chat/completions");
  REQUIRE(provider_requests.size() == 1);
  CHECK(provider_requests[0].header("Authorization") == std::string("Bearer ") + kProviderKey);
  for (const char* file : {"env.txt", "argv.txt", "cmdlines.txt", "task.txt"}) {
    CAPTURE(file);
    CHECK_FALSE(contains(rig.recorded(file), kProviderKey));
  }
  CHECK_FALSE(contains(rig.recorded("cmdlines.txt"), token));

  // Arguments: placeholders filled in; the task file held the task and the guidance.
  std::string task_file = rig.env("FORGEHAND_TASK_FILE");
  CHECK(rig.recorded("argv.txt") ==
        ".fake-agent/agent.sh\n--model\nopenai/default\n" + task_file + "\n");
  std::string task = rig.recorded("task.txt");
  CHECK(contains(task, "@alice asks, on acme/calc:\n\nfix add()"));
  CHECK(contains(task, "<<<repository-guidance path=\"AGENTS.md\">>>\nRun the tests first.\n"));
  REQUIRE(result.instructions.size() == 1);
  CHECK(result.instructions[0].path == "AGENTS.md");

  // The session's record: the proxy call in the ledger, the command, the output.
  REQUIRE(result.calls.size() == 1);
  CHECK(result.calls[0].provider == "openai");
  CHECK(result.calls[0].http_status == 200);
  CHECK(result.usage.input_tokens == 42);
  CHECK(result.turns == 1);
  REQUIRE(result.commands.size() == 1);
  CHECK(result.commands[0].argv == std::vector<std::string>{"sh", ".fake-agent/agent.sh", "--model",
                                                            "openai/default", task_file});
  CHECK(result.commands[0].exit_code == 0);
  REQUIRE(result.transcript.size() == 2);
  CHECK(result.transcript[0].kind == TranscriptKind::user);
  CHECK(result.transcript[1].kind == TranscriptKind::output);
  CHECK(contains(result.transcript[1].content, "Asked the model"));

  // Afterwards the token is dead, and the session's directory is gone.
  CHECK(rig.proxy.active_grants() == 0);
  httplib::Client client("127.0.0.1", rig.proxy.port());
  client.set_bearer_token_auth(token.c_str());
  auto refused = client.Get("/v1/models");
  REQUIRE(refused);
  CHECK(refused->status == 401);
  CHECK_FALSE(fs::exists(task_file));
}

TEST_CASE("external agent: a summary file becomes the summary and leaves no trace in the diff") {
  Rig rig;
  RunnerConfig config;
  config.summary_file = ".forgehand-summary.md";
  config.argv = {"sh", ".fake-agent/agent.sh", "x", "--summary", "{summary_file}"};
  AgentResult result = rig.run({}, config);
  CHECK(result.outcome == AgentOutcome::finished);
  CHECK(result.summary == "From the summary file.\n\nTwo paragraphs.");
  CHECK(rig.env("FORGEHAND_SUMMARY_FILE") == rig.root + "/.forgehand-summary.md");
  CHECK_FALSE(fs::exists(rig.root + "/.forgehand-summary.md"));
}

TEST_CASE("external agent: with network allowed, the CLI calls the proxy directly") {
  Rig rig;
  ExternalAgentOptions options;
  options.network = true;
  AgentResult result = rig.run({}, {}, options);
  CHECK(result.outcome == AgentOutcome::finished);
  CHECK(rig.env("OPENAI_BASE_URL") == rig.proxy.base_url());
  CHECK(contains(rig.recorded("answer.json"), "Hello from the fake."));
  CHECK(result.calls.size() == 1);
}

TEST_CASE("external agent: a budget spent by the CLI's calls stops the run") {
  Rig rig;
  AgentResult result = rig.run({"twice"}, {}, {}, Budget{40, 0, std::nullopt});
  CHECK(result.outcome == AgentOutcome::stopped);
  CHECK(result.stop == AgentStop::budget);
  CHECK(contains(result.reason, "token budget"));
  CHECK(result.calls.size() == 1);
  CHECK(result.commands[0].exit_code == 4);
}

TEST_CASE("external agent: the session's deadline bounds the CLI") {
  Rig rig;
  AgentResult result =
      rig.run({"sleep"}, {}, {}, Budget{0, 0, rig.clock.now() + std::chrono::seconds(2)});
  CHECK(result.outcome == AgentOutcome::stopped);
  CHECK(result.stop == AgentStop::wall_time);
  CHECK(contains(result.reason, "timed out"));
  CHECK(result.commands[0].timed_out);

  AgentResult late = rig.run({}, {}, {}, Budget{0, 0, rig.clock.now()});
  CHECK(late.outcome == AgentOutcome::stopped);
  CHECK(late.stop == AgentStop::wall_time);
  CHECK(late.commands.empty());
}

TEST_CASE("external agent: a failing CLI fails the run, its last words the summary") {
  Rig rig;
  AgentResult result = rig.run({"fail"});
  CHECK(result.outcome == AgentOutcome::failed);
  CHECK(contains(result.reason, "the agent CLI failed: exit 9"));
  CHECK(result.summary == "cannot go on");
  REQUIRE(result.changed.has_value());
  CHECK_FALSE(*result.changed);
}

TEST_CASE("external agent: the last paragraph of the output, bounded") {
  CHECK(last_paragraph("working\n\nstep 2\n  \nDone: fixed.\nAll green.\n\n", 100) ==
        "Done: fixed.\nAll green.");
  CHECK(last_paragraph("one line", 100) == "one line");
  CHECK(last_paragraph("", 100).empty());
  CHECK(last_paragraph("a\nbb\nccc\ndddd", 8) == "dddd");
}

TEST_CASE(
    "external agent: runner config keys are read, defaulted and checked with their position") {
  auto example =
      load_server_config(std::string(FORGEHAND_SOURCE_DIR) + "/config/forgehand.example.yaml");
  REQUIRE_MESSAGE(example.has_value(), example.error().message);
  CHECK(example->runner.kind == RunnerKind::builtin);

  std::string instance = "instances: [{name: gh, type: github, webhook_secret: env:X}]\n";
  auto parse = [&](const std::string& runner) {
    return parse_server_config(instance + runner, "t.yaml", "/srv/fh");
  };
  auto defaults = parse("");
  REQUIRE(defaults.has_value());
  CHECK(defaults->runner.kind == RunnerKind::builtin);

  auto aider = parse(
      "runner:\n"
      "  kind: command\n"
      "  argv: [aider, --yes-always, --model, 'openai/{model}', --message-file, '{task_file}']\n"
      "  summary_file: .forgehand-summary.md\n"
      "  env: {AIDER_ANALYTICS: 'false', LITELLM_KEY: '{api_key}', SUMMARY: '{summary_file}'}\n");
  REQUIRE_MESSAGE(aider.has_value(), aider.error().message);
  CHECK(aider->runner.kind == RunnerKind::command);
  CHECK(aider->runner.argv.size() == 6);
  CHECK(aider->runner.argv[3] == "openai/{model}");
  CHECK(aider->runner.summary_file == ".forgehand-summary.md");
  CHECK(aider->runner.env ==
        std::vector<std::pair<std::string, std::string>>{{"AIDER_ANALYTICS", "false"},
                                                         {"LITELLM_KEY", "{api_key}"},
                                                         {"SUMMARY", "{summary_file}"}});

  auto errors = [&](const std::string& runner) {
    auto config = parse(runner);
    REQUIRE_FALSE(config.has_value());
    return config.error().message;
  };
  std::string typo = errors("runner: {kind: comand}\n");
  CHECK(contains(typo, "t.yaml:2:"));
  CHECK(contains(typo, "runner.kind: must be one of"));
  CHECK(contains(typo, "command?"));
  CHECK(
      contains(errors("runner: {kind: command}\n"), "runner.argv: is required for kind: command"));
  CHECK(contains(errors("runner: {argv: [aider]}\n"), "runner.argv: is only for kind: command"));
  CHECK(contains(errors("runner: {kind: command, argv: [x, '{task_fle}']}\n"),
                 "runner.argv[1]: unknown placeholder {task_fle}"));
  CHECK(contains(errors("runner: {kind: command, argv: [x, '--key={api_key}']}\n"),
                 "runner.argv[1]: {api_key} cannot be an argument"));
  CHECK(contains(errors("runner: {kind: command, argv: [x, '--msg={task}']}\n"),
                 "runner.argv[1]: {task} must be a whole argument"));
  CHECK(contains(errors("runner: {kind: command, argv: [x, '{summary_file}']}\n"),
                 "runner.argv[1]: {summary_file} needs runner.summary_file"));
  CHECK(contains(errors("runner: {kind: command, argv: [x], summary_file: ../out.md}\n"),
                 "runner.summary_file: must be a path relative to the checkout"));
  CHECK(contains(errors("runner: {kind: command, argv: [x], summary_file: .git/x}\n"),
                 "runner.summary_file: must be a path relative to the checkout"));
  CHECK(contains(errors("runner: {kind: command, argv: [x], env: {OPENAI_API_KEY: sk-x}}\n"),
                 "runner.env.OPENAI_API_KEY: is set by forgehand"));
  CHECK(contains(errors("runner: {kind: command, argv: [x], env: {FORGEHAND_X: y}}\n"),
                 "runner.env.FORGEHAND_X: is set by forgehand"));
  CHECK(contains(errors("runner: {kind: command, argv: [x], env: {'1BAD': y}}\n"),
                 "runner.env.1BAD: is not a valid environment variable name"));
  CHECK(contains(errors("runner: {kind: command, argv: [x], env: {A: '{task}'}}\n"),
                 "runner.env.A: {task} is for argv"));
}
