#pragma once
// One typed view per template, filled by the caller and turned into mustache data here: text
// cleaned, user and model Markdown sanitized, numbers formatted, every key always present (`*_md`
// variables hold Markdown, the rest plain text; README, "Templates"). Plain values, pure functions.

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "commands/command_parser.h"
#include "commands/hidden_text.h"
#include "forgehand/forge_kind.h"
#include "providers/session_ledger.h"

namespace forgehand::render {

// A provider that did not answer, and how many times the same thing happened in the session.
struct FailoverView {
  std::string provider;
  std::string model;
  std::string endpoint_host;
  std::string reason;  // the call's failover reason, or its error when it was the last attempt
  std::int64_t times = 1;
};

// A model that answered some of the session's calls but not the last one.
struct AnsweredView {
  std::string provider;
  std::string model;
  std::string endpoint_host;
  std::int64_t calls = 0;
};

// Which model wrote the work, and what it took. Carried by every result comment and pull request
// body (the `attribution` partial).
struct AttributionView {
  bool answered = false;  // false: no call succeeded, and provider/model/endpoint_host are empty
  std::string provider;   // the last call that answered
  std::string model;
  std::string endpoint_host;
  std::string route;
  std::vector<FailoverView> tried_first;    // failed calls, grouped, in the order first seen
  std::vector<AnsweredView> also_answered;  // other models that answered earlier calls
  std::int64_t calls = 0;
  std::int64_t input_tokens = 0;  // over every call of the session
  std::int64_t output_tokens = 0;
  double cost = 0;
  std::string currency;  // the label after a cost ("USD"); empty: none
  std::chrono::seconds runner_time{0};
  std::string session_id;
  std::string requester;  // the login that asked
};

// What a session knows besides its provider calls.
struct SessionFacts {
  std::string route;
  std::chrono::seconds runner_time{0};
  std::string session_id;
  std::string requester;
  std::string currency;  // ServerConfig::currency
};

// The answering model is the last call that succeeded; failed calls become "tried first" entries
// (the same provider, model, host and reason counted once with `times`); tokens and cost are
// summed over every call.
AttributionView make_attribution(const std::vector<providers::ProviderCall>& calls,
                                 SessionFacts facts);

// A pull request (on GitLab a merge request) forgehand opened.
struct PullRequestLink {
  std::int64_t number = 0;
  std::string url;
  std::string title;
};

// Where a task came from.
struct TaskSource {
  enum class Kind { issue, pull_request };
  Kind kind = Kind::issue;
  std::int64_t number = 0;
  std::string url;
};

// Every view names the bot (the account people mention, without `@`) and the requester's login.

struct AcknowledgementView {
  std::string bot;
  std::string requester;
  std::string session_id;
  commands::Verb verb = commands::Verb::fix;
  std::string instructions;  // as the user wrote them (Run::instructions); empty: none given
  std::vector<commands::Removal> removed;
  std::string route;
  std::vector<std::string> route_providers;  // in the order they are tried
  // Values of the repository's .forgehand.yml that would widen the policy, with where and why.
  std::vector<std::string> not_applied;
};

struct ProgressStep {
  std::string text;
  bool done = false;
};

struct ProgressView {
  std::string bot;
  std::string requester;
  std::string session_id;
  std::string route;
  std::string stage;  // what is happening now, in a few words
  std::chrono::seconds elapsed{0};
  std::vector<ProgressStep> steps;
};

struct ResultView {
  std::string bot;
  std::string requester;
  std::string session_id;
  std::string summary;  // the runner's summary, Markdown written by the model
  std::optional<PullRequestLink> pull_request;  // none: the run changed nothing
  AttributionView attribution;
};

struct FailureView {
  std::string bot;
  std::string requester;
  std::string session_id;
  // What failed, in one line written for the requester: never a stack trace or a secret (the
  // forge adapters redact known secrets, but they cannot recognize everything).
  std::string what;
  std::string excerpt;  // output worth showing (a test's failure), or empty; shown as code
  std::optional<AttributionView> attribution;  // when models were called
};

struct DeniedView {
  std::string bot;
  std::string requester;
  std::string request;  // what was asked, in a few words ("fix", "an automatic CI fix")
  std::vector<std::string> reasons;  // PolicyDecision's reasons, in plain words
};

struct HelpView {
  std::string bot;
  std::string requester;
  std::string problem;     // Reply::problem: Markdown, user text already in code spans
  std::string suggestion;  // Reply::suggestion: a verb or an option
  std::vector<commands::Removal> removed;
};

struct LimitView {
  std::string name;   // "Cost this month"
  std::string value;  // "12.40 of 50.00 USD"
};

struct ExplainView {
  std::string bot;
  std::string requester;
  bool allowed = false;
  std::string task;  // the task type in words ("a task from a comment")
  std::string route;
  std::vector<std::string> route_providers;
  std::vector<std::string> reasons;
  std::vector<LimitView> limits;
};

struct PullRequestBodyView {
  std::string bot;
  std::string requester;
  std::string session_id;
  std::string summary;  // the runner's summary, Markdown written by the model
  std::string task;     // the instructions, or the issue's title; Markdown written by a person
  TaskSource source;    // an issue is closed by the pull request ("Closes #N")
  AttributionView attribution;
};

// The mustache data for each template; `forge` decides the nouns (pull request or merge request,
// `#` or `!`). Every template also gets `forge` (name, pull_request, pull_request_short,
// pull_request_sigil), `bot` and `requester`.
nlohmann::json to_data(const AcknowledgementView& view, ForgeKind forge);
nlohmann::json to_data(const ProgressView& view, ForgeKind forge);
nlohmann::json to_data(const ResultView& view, ForgeKind forge);
nlohmann::json to_data(const FailureView& view, ForgeKind forge);
nlohmann::json to_data(const DeniedView& view, ForgeKind forge);
nlohmann::json to_data(const HelpView& view, ForgeKind forge);
nlohmann::json to_data(const ExplainView& view, ForgeKind forge);
nlohmann::json to_data(const PullRequestBodyView& view, ForgeKind forge);

// "12,345"
std::string format_count(std::int64_t value);
// "0.0123 USD", or "0.0123" without a currency
std::string format_cost(double cost, std::string_view currency);
// "45 s", "3 min 12 s", "1 h 4 min"
std::string format_duration(std::chrono::seconds duration);

}  // namespace forgehand::render
