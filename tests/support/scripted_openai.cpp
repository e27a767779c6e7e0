#include "support/scripted_openai.h"

#include <set>

#include "support/fake_openai.h"

namespace forgehand::testing {

namespace {

using nlohmann::json;

void openai_error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(json{{"error",
                        {{"message", message},
                         {"type", "invalid_request_error"},
                         {"param", nullptr},
                         {"code", nullptr}}}}
                      .dump(),
                  "application/json");
}

// The reference allows null, a string or text parts; forgehand sends null or a string.
std::string text_of(const json& message) {
  auto content = message.find("content");
  return content != message.end() && content->is_string() ? content->get<std::string>() : "";
}

}  // namespace

ScriptedOpenAi::ScriptedOpenAi(std::vector<ScriptedTurn> script) : script_(std::move(script)) {
  server_.Post("/v1/chat/completions",
               recorded([this](const httplib::Request& req, httplib::Response& res) {
                 if (req.get_header_value("Authorization") != std::string("Bearer ") + kKey) {
                   openai_error(res, 401, "Incorrect API key provided");
                   return;
                 }
                 json body = json::parse(req.body, nullptr, false);
                 std::lock_guard lock(mutex_);
                 std::string problem = chat_request_problem(body, false);
                 if (problem.empty()) problem = continuation_problem(body);
                 if (!problem.empty()) {
                   problems_.push_back("turn " + std::to_string(served_ + 1) + ": " + problem);
                   openai_error(res, 400, problem);
                   return;
                 }
                 res.set_content(completion(body).dump(), "application/json");
               }));
  start();
}

std::string ScriptedOpenAi::continuation_problem(const json& body) const {
  if (served_ >= static_cast<int>(script_.size())) {
    return "the script has no turn " + std::to_string(served_ + 1);
  }
  if (!body["model"].is_string()) return "model must be a string";
  std::set<std::string> offered;
  for (const json& tool : body.value("tools", json::array())) {
    offered.insert(tool["function"].value("name", ""));
  }
  for (const ScriptedCall& call : script_[served_].calls) {
    if (!offered.contains(call.name)) return "the tool " + call.name + " was not offered";
  }

  const json& messages = body["messages"];
  if (served_ == 0) {
    if (messages.size() != 2 || messages[0].value("role", "") != "system" ||
        messages[1].value("role", "") != "user") {
      return "the first request must hold the system prompt and the task, nothing else";
    }
    return {};
  }
  std::size_t next = history_.size();
  const json& calls = last_reply_.value("tool_calls", json::array());
  if (messages.size() < next + 1 + calls.size()) {
    return "expected " + std::to_string(next + 1 + calls.size()) + " messages, got " +
           std::to_string(messages.size());
  }
  for (std::size_t i = 0; i < next; ++i) {
    if (messages[i] != history_[i]) return "message " + std::to_string(i) + " changed";
  }
  const json& echoed = messages[next];
  if (echoed.value("role", "") != "assistant" || text_of(echoed) != text_of(last_reply_)) {
    return "message " + std::to_string(next) + " is not the assistant's last answer";
  }
  const json& echoed_calls = echoed.value("tool_calls", json::array());
  if (echoed_calls.size() != calls.size()) return "the assistant's tool calls were not sent back";
  std::vector<std::string> results;
  for (std::size_t k = 0; k < calls.size(); ++k) {
    const json& sent = calls[k];
    const json& back = echoed_calls[k];
    if (back.value("id", "") != sent["id"] ||
        back["function"].value("name", "") != sent["function"]["name"] ||
        back["function"].value("arguments", "") != sent["function"]["arguments"]) {
      return "tool call " + sent["id"].get<std::string>() + " came back altered";
    }
    const json& result = messages[next + 1 + k];
    if (result.value("role", "") != "tool" || result.value("tool_call_id", "") != sent["id"]) {
      return "no tool result for " + sent["id"].get<std::string>() + " at message " +
             std::to_string(next + 1 + k);
    }
    if (!result["content"].is_string()) return "a tool result's content must be a string";
    results.push_back(result["content"].get<std::string>());
  }
  if (messages.size() != next + 1 + calls.size()) {
    return "unexpected messages after the tool results";
  }
  if (script_[served_].expect) {
    if (std::string wrong = script_[served_].expect(results); !wrong.empty()) {
      return "tool results: " + wrong;
    }
  }
  return {};
}

json ScriptedOpenAi::completion(const json& request) {
  const ScriptedTurn& turn = script_[served_];
  int number = ++served_;
  history_ = request["messages"];
  json message = {{"role", "assistant"}, {"refusal", nullptr}};
  message["content"] = turn.content.empty() ? json(nullptr) : json(turn.content);
  // A tokenizer's count is not the point; a deterministic one that grows with the conversation is.
  std::int64_t output = 8 + static_cast<std::int64_t>(turn.content.size() / 4);
  if (!turn.calls.empty()) {
    json calls = json::array();
    for (std::size_t k = 0; k < turn.calls.size(); ++k) {
      std::string arguments = turn.calls[k].arguments.dump();
      output += 4 + static_cast<std::int64_t>(arguments.size() / 4);
      calls.push_back({{"id", "call_" + std::to_string(number) + "_" + std::to_string(k + 1)},
                       {"type", "function"},
                       {"function", {{"name", turn.calls[k].name}, {"arguments", arguments}}}});
    }
    message["tool_calls"] = std::move(calls);
  }
  last_reply_ = message;
  auto input = static_cast<std::int64_t>(history_.dump().size() / 4);
  prompt_tokens_ += input;
  completion_tokens_ += output;
  return {
      {"id", "chatcmpl-scripted-" + std::to_string(number)},
      {"object", "chat.completion"},
      {"created", 1735689600 + number},
      {"model", kModel},
      {"system_fingerprint", "fp_scripted"},
      {"choices", json::array({{{"index", 0},
                                {"message", message},
                                {"logprobs", nullptr},
                                {"finish_reason", turn.calls.empty() ? "stop" : "tool_calls"}}})},
      {"usage",
       {{"prompt_tokens", input},
        {"completion_tokens", output},
        {"total_tokens", input + output},
        {"prompt_tokens_details", {{"cached_tokens", 0}}},
        {"completion_tokens_details", {{"reasoning_tokens", 0}}}}}};
}

std::vector<std::string> ScriptedOpenAi::problems() {
  std::lock_guard lock(mutex_);
  return problems_;
}

int ScriptedOpenAi::turns_served() {
  std::lock_guard lock(mutex_);
  return served_;
}

std::int64_t ScriptedOpenAi::prompt_tokens() {
  std::lock_guard lock(mutex_);
  return prompt_tokens_;
}

std::int64_t ScriptedOpenAi::completion_tokens() {
  std::lock_guard lock(mutex_);
  return completion_tokens_;
}

std::vector<ScriptedTurn> stats_fix_script() {
  return {
      {"",
       {{"edit_file",
         {{"path", "src/stats.c"},
          {"old", "for (int i = from; i < to; ++i)"},
          {"new", "for (int i = from; i <= to; ++i)"}}}},
       {}},
      {"", {{"finish", {{"summary", "range_sum() includes its upper bound now."}}}}, {}},
  };
}

}  // namespace forgehand::testing
