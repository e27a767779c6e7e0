#include "runner/agent.h"

#include <time.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "util/redact.h"
#include "util/text.h"

namespace forgehand::runner {

namespace {

using json = nlohmann::ordered_json;

// `git status` is quick; a checkout so large that it is not is still bounded.
constexpr std::chrono::seconds kStatusTimeout{120};
constexpr std::size_t kStatusOutputBytes = 64 * 1024;

std::string_view kind_name(TranscriptKind kind) {
  switch (kind) {
    case TranscriptKind::system:
      return "system";
    case TranscriptKind::user:
      return "user";
    case TranscriptKind::assistant:
      return "assistant";
    case TranscriptKind::tool:
      return "tool";
    case TranscriptKind::output:
      return "output";
    case TranscriptKind::note:
      return "note";
  }
  return "note";
}

std::string plural(long count, std::string_view noun) {
  return std::to_string(count) + " " + std::string(noun) + (count == 1 ? "" : "s");
}

// RFC 3339 in UTC with milliseconds: 2025-01-31T12:00:00.250Z.
std::string format_time(TimePoint at) {
  auto since_epoch = std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch());
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
  std::time_t whole = seconds.count();
  std::tm utc{};
  gmtime_r(&whole, &utc);
  char text[64];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>((since_epoch - seconds).count()));
  return text;
}

}  // namespace

std::string_view to_string(AgentOutcome outcome) {
  switch (outcome) {
    case AgentOutcome::finished:
      return "finished";
    case AgentOutcome::stopped:
      return "stopped";
    case AgentOutcome::failed:
      return "failed";
  }
  return "failed";
}

std::string_view to_string(AgentStop stop) {
  switch (stop) {
    case AgentStop::none:
      return "none";
    case AgentStop::turns:
      return "turns";
    case AgentStop::wall_time:
      return "wall_time";
    case AgentStop::budget:
      return "budget";
    case AgentStop::repeated_call:
      return "repeated_call";
    case AgentStop::cancelled:
      return "cancelled";
  }
  return "none";
}

std::string transcript_json_lines(const std::vector<TranscriptEntry>& transcript) {
  std::string lines;
  for (const TranscriptEntry& entry : transcript) {
    json line = {{"at", format_time(entry.at)}, {"kind", kind_name(entry.kind)}};
    if (entry.kind == TranscriptKind::tool) {
      line["tool"] = entry.tool_name;
      line["call_id"] = entry.tool_call_id;
      line["error"] = entry.error;
    }
    line["content"] = entry.content;
    if (!entry.tool_calls.empty()) {
      json calls = json::array();
      for (const ToolCall& call : entry.tool_calls) {
        calls.push_back({{"id", call.id}, {"name", call.name}, {"arguments", call.arguments}});
      }
      line["tool_calls"] = std::move(calls);
    }
    // Model output and command output need not be valid UTF-8.
    lines += line.dump(-1, ' ', false, json::error_handler_t::replace);
    lines += '\n';
  }
  return lines;
}

Result<bool> checkout_changed(const Sandbox& sandbox, const std::string& checkout) {
  auto status = sandbox.run(SandboxCommand{
      {"git", "status", "--porcelain"}, checkout, false, {}, kStatusTimeout, kStatusOutputBytes});
  if (!status) return tl::unexpected(status.error().context("git status"));
  if (!status->succeeded()) {
    return fail(ErrorCode::io, "git status: " + describe(*status) + ": " +
                                   std::string(text::trim(status->output)));
  }
  return !text::trim(status->output).empty();
}

Agent::Agent(const providers::Router& router, const Sandbox& sandbox, const Clock& clock,
             AgentOptions options)
    : router_(router), sandbox_(sandbox), clock_(clock), options_(std::move(options)) {}

Result<AgentResult> Agent::run(const AgentRun& run, providers::SessionLedger& ledger) const {
  auto tools = ToolBox::open(run.checkout, sandbox_, options_.tools);
  if (!tools) return tl::unexpected(tools.error().context("agent"));
  Guidance guidance = load_guidance(run.instructions, options_.guidance);
  std::string_view system_template =
      options_.system_template.empty() ? default_system_template() : options_.system_template;
  auto system = render_system_prompt(
      system_template, {run.task, guidance, options_.max_turns, options_.tools.network});
  if (!system) return tl::unexpected(system.error());

  TimePoint started = clock_.now();
  AgentResult result;
  result.instructions = guidance.loaded;
  result.sandboxed = sandbox_.config().kind == SandboxKind::bubblewrap;
  auto note = [&](TranscriptKind kind, std::string content) {
    result.transcript.push_back({clock_.now(), kind, redact(content)});
  };
  auto end = [&](AgentOutcome outcome, AgentStop stop, std::string reason) {
    result.outcome = outcome;
    result.stop = stop;
    result.reason = redact(reason);
    note(TranscriptKind::note, outcome == AgentOutcome::failed ? "failed: " + reason : reason);
  };

  ChatRequest request;
  request.tools = tools->definitions();
  // Redacted like every tool result, since both leave the process towards a model provider: the
  // task can quote a CI log or a comment that carries a token, the guidance is repository text.
  request.messages.push_back({Role::system, redact(*system)});
  request.messages.push_back({Role::user, redact(task_message(run.task))});
  note(TranscriptKind::system, request.messages[0].content);
  note(TranscriptKind::user, request.messages[1].content);

  const std::optional<TimePoint>& deadline = ledger.budget().deadline;
  RepeatedCallDetector repeats(options_.repeated_call_limit);
  while (true) {
    if (options_.tools.cancel != nullptr && options_.tools.cancel->load()) {
      end(AgentOutcome::stopped, AgentStop::cancelled, "the session was cancelled");
      break;
    }
    if (deadline && clock_.now() >= *deadline) {
      end(AgentOutcome::stopped, AgentStop::wall_time,
          "the session's time ran out after " + plural(result.turns, "turn"));
      break;
    }
    if (result.turns >= options_.max_turns) {
      end(AgentOutcome::stopped, AgentStop::turns,
          "the agent used all " + plural(options_.max_turns, "turn") + " without finishing");
      break;
    }
    ++result.turns;
    providers::RouteOutcome outcome = router_.complete(request, ledger);
    if (!outcome.result) {
      const Error& error = outcome.result.error();
      if (error.code == ErrorCode::budget_exhausted) {
        // The ledger refuses a call after the deadline too.
        bool late = deadline && clock_.now() >= *deadline;
        end(AgentOutcome::stopped, late ? AgentStop::wall_time : AgentStop::budget, error.message);
      } else {
        end(AgentOutcome::failed, AgentStop::none, "no provider answered: " + error.message);
      }
      break;
    }
    Message reply = std::move(outcome.result->message);
    reply.role = Role::assistant;
    TranscriptEntry said{clock_.now(), TranscriptKind::assistant, redact(reply.content)};
    for (const ToolCall& call : reply.tool_calls) {
      said.tool_calls.push_back({call.id, call.name, redact(call.arguments)});
    }
    result.transcript.push_back(std::move(said));
    request.messages.push_back(reply);

    if (reply.tool_calls.empty()) {
      // A model that answers without tools has said its last word.
      std::string answer(text::trim(reply.content));
      if (answer.empty()) {
        end(AgentOutcome::failed, AgentStop::none,
            "the model ended its turn without calling a tool or giving an answer");
      } else {
        result.outcome = AgentOutcome::finished;
        result.summary = redact(answer);
      }
      break;
    }
    bool over = false;
    for (const ToolCall& call : reply.tool_calls) {
      if (deadline) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - clock_.now());
        if (left.count() <= 0) {
          end(AgentOutcome::stopped, AgentStop::wall_time,
              "the session's time ran out after " + plural(result.turns, "turn"));
          over = true;
          break;
        }
        tools->cap_run_time(left);
      }
      if (repeats.record(call)) {
        end(AgentOutcome::stopped, AgentStop::repeated_call,
            "the agent called " + call.name + " with the same arguments " +
                std::to_string(options_.repeated_call_limit) + " times in a row");
        over = true;
        break;
      }
      ToolResult answer = tools->call(call.name, call.arguments);
      if (answer.finished) {
        result.outcome = AgentOutcome::finished;
        result.summary = std::string(text::trim(answer.text));
        over = true;
        break;
      }
      request.messages.push_back({Role::tool, answer.text, {}, call.id, call.name});
      result.transcript.push_back(
          {clock_.now(), TranscriptKind::tool, answer.text, {}, call.id, call.name, answer.error});
    }
    if (over) break;
  }

  result.commands = tools->commands();
  result.calls = ledger.calls();
  result.usage = ledger.usage();
  result.cost = ledger.cost();
  if (auto changed = checkout_changed(sandbox_, run.checkout)) {
    result.changed = *changed;
  } else {
    note(TranscriptKind::note, "could not tell whether files changed: " + changed.error().message);
  }
  result.wall_seconds = std::chrono::duration<double>(clock_.now() - started).count();
  return result;
}

}  // namespace forgehand::runner
