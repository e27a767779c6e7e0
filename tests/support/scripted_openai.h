#pragma once
// A Chat Completions server (platform.openai.com/docs/api-reference/chat) that plays one scripted
// conversation on loopback: each completion answers with the script's next turn (text and tool
// calls with JSON-text arguments, finish_reason, usage). Before answering it checks that the
// request continues the conversation it has been having: the earlier messages unchanged, then the
// assistant message it sent last, then one tool message per tool call of that message, by
// tool_call_id and in order; then it hands those tool results to the turn's own check. A request
// that breaks a rule gets a 400 with OpenAI's error object and the problem is kept for the test.
// Thread-safe.

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/fake_server.h"

namespace forgehand::testing {

struct ScriptedCall {
  std::string name;
  nlohmann::json arguments;  // sent as JSON text, as OpenAI does
};

struct ScriptedTurn {
  std::string content;              // the assistant's text; empty: null
  std::vector<ScriptedCall> calls;  // none: a final answer (finish_reason "stop")
  // Checks the results of the previous turn's calls (one per call, in order); returns what is
  // wrong with them, or "" when nothing is. Unset: anything goes.
  std::function<std::string(const std::vector<std::string>& results)> expect;
};

class ScriptedOpenAi final : public FakeServer {
 public:
  static constexpr const char* kKey = "sk-scripted-e2e-key-0f3a9c";
  static constexpr const char* kModel = "gpt-4o-2024-08-06";

  explicit ScriptedOpenAi(std::vector<ScriptedTurn> script);

  // Every rule a request broke, as "turn N: problem".
  std::vector<std::string> problems();
  // Completions answered so far.
  int turns_served();
  // The usage reported over all answers.
  std::int64_t prompt_tokens();
  std::int64_t completion_tokens();

 private:
  std::string continuation_problem(const nlohmann::json& messages) const;
  nlohmann::json completion(const nlohmann::json& request);

  std::vector<ScriptedTurn> script_;
  int served_ = 0;
  nlohmann::json history_ = nlohmann::json::array();  // the last request's messages
  nlohmann::json last_reply_;                         // the assistant message sent last
  std::vector<std::string> problems_;
  std::int64_t prompt_tokens_ = 0;
  std::int64_t completion_tokens_ = 0;
};

// Two turns that fix fixtures/repos/stats: the edit of range_sum's bound, then finish.
std::vector<ScriptedTurn> stats_fix_script();

}  // namespace forgehand::testing
