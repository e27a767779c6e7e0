#include "audit/reports.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <sstream>

#include "render/views.h"
#include "store/session_record.h"

namespace forgehand::audit {

using nlohmann::json;

namespace {

struct Column {
  std::string header;
  bool right = false;  // numbers
};

std::string render_table(const std::vector<Column>& columns,
                         const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths;
  for (const Column& column : columns) widths.push_back(column.header.size());
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    std::string text;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      if (i > 0) text += "  ";
      std::string pad(widths[i] - cells[i].size(), ' ');
      text += columns[i].right ? pad + cells[i] : cells[i] + pad;
    }
    text.erase(text.find_last_not_of(' ') + 1);
    out += text + "\n";
  };
  std::vector<std::string> headers;
  for (const Column& column : columns) headers.push_back(column.header);
  line(headers);
  for (const auto& row : rows) line(row);
  return out;
}

std::string fixed(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

std::string cost_header(std::string_view currency) {
  return currency.empty() ? "COST" : "COST (" + std::string(currency) + ")";
}

std::string cost_text(double cost) { return render::format_cost(cost, ""); }

std::string runner_text(double seconds) {
  return render::format_duration(std::chrono::seconds(static_cast<std::int64_t>(seconds + 0.5)));
}

std::string share_text(std::optional<double> share) {
  return share ? fixed(*share * 100, 0) + "%" : "-";
}

// "2025-01-31 12:00" (UTC): the table's column is labelled so.
std::string short_time(TimePoint time) {
  std::string iso = format_utc(time);
  return iso.substr(0, 10) + " " + iso.substr(11, 5);
}

std::string month_of(TimePoint time) { return format_utc(time).substr(0, 7); }

std::string model_or_dash(const SessionRecord& session) {
  std::string model = session.model();
  return model.empty() ? "-" : model;
}

std::string pull_request_text(const SessionPullRequest& pr) {
  if (pr.number == 0) return "-";
  return "#" + std::to_string(pr.number) + " " + std::string(to_string(pr.state));
}

// Shell-like, so a command can be read (and pasted) as it ran.
std::string quote_argv(const std::vector<std::string>& argv) {
  std::string out;
  for (const std::string& arg : argv) {
    if (!out.empty()) out += ' ';
    bool plain = !arg.empty() && arg.find_first_not_of(
                                     "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                     "0123456789-_./=:,+@%") == std::string::npos;
    if (plain) {
      out += arg;
      continue;
    }
    out += '\'';
    for (char c : arg) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    out += '\'';
  }
  return out;
}

// Every line of `text` behind `prefix`; a final line break ends the last line, not a new one.
std::string indent(std::string_view text, std::string_view prefix) {
  std::string out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    out += std::string(prefix) + std::string(text.substr(start, end - start)) + "\n";
    start = end + 1;
  }
  return out;
}

json parse_transcript(const std::string& lines) {
  json entries = json::array();
  std::istringstream in(lines);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto entry = json::parse(line, nullptr, false);
    // A line that does not parse is shown as it is rather than dropped from an audit.
    entries.push_back(entry.is_discarded() ? json{{"kind", "raw"}, {"content", line}} : entry);
  }
  return entries;
}

std::string string_field(const json& entry, const char* key) {
  auto it = entry.find(key);
  return it != entry.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string transcript_text(const std::string& lines) {
  std::string out;
  for (const json& entry : parse_transcript(lines)) {
    std::string head = string_field(entry, "at") + " " + string_field(entry, "kind");
    if (std::string tool = string_field(entry, "tool"); !tool.empty()) {
      head += " " + tool + " (" + string_field(entry, "call_id") + ")";
    }
    if (entry.value("error", false)) head += " refused";
    out += "  " + head + "\n";
    if (std::string content = string_field(entry, "content"); !content.empty()) {
      out += indent(content, "    ");
    }
    if (auto calls = entry.find("tool_calls"); calls != entry.end() && calls->is_array()) {
      for (const json& call : *calls) {
        out += "    -> " + string_field(call, "name") + " " + string_field(call, "arguments") +
               " (" + string_field(call, "id") + ")\n";
      }
    }
  }
  return out;
}

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  std::size_t middle = values.size() / 2;
  return values.size() % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
}

json optional_number(std::optional<double> value) { return value ? json(*value) : json(nullptr); }

}  // namespace

std::string sessions_table(const std::vector<SessionRecord>& sessions, std::string_view currency) {
  if (sessions.empty()) return "No sessions.\n";
  std::vector<std::vector<std::string>> rows;
  for (const SessionRecord& session : sessions) {
    rows.push_back({session.id, short_time(session.created_at),
                    std::string(to_string(session.state)), std::string(to_string(session.task)),
                    session.repo, session.number == 0 ? "-" : "#" + std::to_string(session.number),
                    model_or_dash(session), cost_text(session.cost()),
                    runner_text(session.runner_seconds), pull_request_text(session.pull_request)});
  }
  return render_table({{"ID"},
                       {"CREATED (UTC)"},
                       {"STATE"},
                       {"TASK"},
                       {"REPO"},
                       {"ON"},
                       {"MODEL"},
                       {cost_header(currency), true},
                       {"RUNNER", true},
                       {"PR"}},
                      rows);
}

json sessions_json(const std::vector<SessionRecord>& sessions) { return json(sessions); }

std::string session_details(const SessionRecord& session,
                            const std::optional<std::string>& transcript,
                            std::string_view currency) {
  std::string out;
  auto field = [&](std::string_view name, const std::string& value) {
    if (value.empty()) return;
    std::string label(name);
    label.resize(std::max<std::size_t>(label.size() + 1, 14), ' ');
    out += label + value + "\n";
  };
  auto time = [](const std::optional<TimePoint>& at) { return at ? format_utc(*at) : ""; };

  field("Session", session.id);
  std::string state(to_string(session.state));
  if (session.attempts > 0) {
    state +=
        " (attempt " + std::to_string(session.attempts) + ", worker " + session.worker_id + ")";
  }
  field("State", state);
  std::string where = session.repo + " on " + session.instance;
  if (session.number != 0) {
    where += std::string(session.is_pull_request ? ", pull request #" : ", issue #") +
             std::to_string(session.number);
  }
  field("Repository", where);
  std::string trigger = std::string(to_string(session.trigger.event)) + " by " +
                        session.trigger.actor + " (delivery " + session.trigger.delivery_id + ")";
  if (!session.trigger.head_sha.empty()) trigger += ", head " + session.trigger.head_sha;
  field("Trigger", trigger);
  std::string task(to_string(session.task));
  if (!session.route.empty()) task += ", route " + session.route;
  field("Task", task);
  std::string decision = session.decision.allowed ? "allowed" : "denied";
  if (!session.decision.deny_reason.empty()) decision += " (" + session.decision.deny_reason + ")";
  field("Policy", decision);
  for (const std::string& reason : session.decision.reasons) field("", "- " + reason);
  for (const std::string& rejection : session.decision.rejections) {
    field("", "not applied: " + rejection);
  }
  auto ref = [](const std::string& name, const std::string& sha) {
    return sha.empty() ? name : name + " @ " + sha;
  };
  field("Base", ref(session.base_ref, session.base_sha));
  field("Head", ref(session.head_ref, session.head_sha));
  field("Created", format_utc(session.created_at));
  field("Started", time(session.started_at));
  field("Heartbeat", time(session.heartbeat_at));
  field("Finished", time(session.finished_at));
  if (session.runner_seconds > 0) field("Runner", runner_text(session.runner_seconds));
  if (!session.calls.empty()) {
    field("Model", model_or_dash(session) + ": " + render::format_count(session.input_tokens()) +
                       " tokens in, " + render::format_count(session.output_tokens()) + " out, " +
                       render::format_cost(session.cost(), currency));
  }
  const SessionPullRequest& pr = session.pull_request;
  if (pr.number != 0) {
    std::string text = "#" + std::to_string(pr.number) + " " + std::string(to_string(pr.state));
    if (!pr.merged_by.empty()) text += " by " + pr.merged_by;
    if (pr.closed_at) text += " at " + format_utc(*pr.closed_at);
    if (!pr.url.empty()) text += " " + pr.url;
    field("Pull request", text);
    field("CI after fix", std::string(to_string(session.ci)));
  }
  field("Comment", session.acknowledgement_comment_id);
  field("Error", session.error);
  if (!session.tools.empty()) {
    std::string tools;
    for (const std::string& tool : session.tools) tools += (tools.empty() ? "" : ", ") + tool;
    field("Tools", tools);
  }

  if (!session.summary.empty()) out += "\nSummary\n" + indent(session.summary, "  ");
  if (!session.calls.empty()) {
    std::vector<std::vector<std::string>> rows;
    for (const ModelCall& call : session.calls) {
      std::string note = call.error;
      if (!call.failover_reason.empty()) note += (note.empty() ? "" : "; ") + call.failover_reason;
      rows.push_back({call.provider, call.model, call.endpoint_host,
                      std::to_string(call.http_status), fixed(call.latency_seconds, 2) + " s",
                      render::format_count(call.input_tokens),
                      render::format_count(call.output_tokens), cost_text(call.cost),
                      call.credential.empty() ? "-" : call.credential, note});
    }
    out += "\nModel calls\n" + indent(render_table({{"PROVIDER"},
                                                    {"MODEL"},
                                                    {"HOST"},
                                                    {"STATUS", true},
                                                    {"LATENCY", true},
                                                    {"IN", true},
                                                    {"OUT", true},
                                                    {cost_header(currency), true},
                                                    {"PAID BY"},
                                                    {"NOTE"}},
                                                   rows),
                                      "  ");
  }
  if (!session.instructions.empty()) {
    out += "\nInstructions\n";
    for (const InstructionRecord& instruction : session.instructions) {
      out += "  " + instruction.path + "  sha256:" + instruction.sha256 + "  " +
             render::format_count(static_cast<std::int64_t>(instruction.bytes)) + " bytes" +
             (instruction.truncated ? ", truncated" : "") + "\n";
    }
  }
  if (!session.commands.empty()) {
    std::vector<std::vector<std::string>> rows;
    for (const CommandRun& command : session.commands) {
      std::string exit = command.timed_out    ? "timeout"
                         : command.signal > 0 ? "signal " + std::to_string(command.signal)
                                              : std::to_string(command.exit_code);
      rows.push_back({exit, fixed(static_cast<double>(command.duration.count()) / 1000, 1) + " s",
                      quote_argv(command.argv)});
    }
    out += "\nCommands\n" +
           indent(render_table({{"EXIT", true}, {"TIME", true}, {"COMMAND"}}, rows), "  ");
  }
  if (transcript) out += "\nTranscript\n" + transcript_text(*transcript);
  return out;
}

json session_details_json(const SessionRecord& session,
                          const std::optional<std::string>& transcript) {
  json out = session;
  out["transcript"] = transcript ? parse_transcript(*transcript) : json(nullptr);
  return out;
}

std::optional<UsageKey> usage_key_named(std::string_view name) {
  if (name == "repo") return UsageKey::repo;
  if (name == "model") return UsageKey::model;
  if (name == "month") return UsageKey::month;
  return std::nullopt;
}

std::vector<UsageRow> usage_by(const std::vector<SessionRecord>& sessions, UsageKey key) {
  std::map<std::string, UsageRow> rows;
  for (const SessionRecord& session : sessions) {
    if (session.state == SessionState::denied) continue;
    std::string name = key == UsageKey::repo    ? session.instance + ":" + session.repo
                       : key == UsageKey::model ? model_or_dash(session)
                                                : month_of(session.created_at);
    UsageRow& row = rows[name];
    row.key = name;
    ++row.sessions;
    row.runner_seconds += session.runner_seconds;
    row.input_tokens += session.input_tokens();
    row.output_tokens += session.output_tokens();
    row.cost += session.cost();
  }
  std::vector<UsageRow> out;
  for (auto& [name, row] : rows) out.push_back(std::move(row));
  return out;
}

std::string usage_table(const std::vector<UsageRow>& rows, UsageKey key,
                        std::string_view currency) {
  if (rows.empty()) return "No sessions.\n";
  std::vector<std::vector<std::string>> cells;
  UsageRow total{"TOTAL"};
  auto add = [&](const UsageRow& row) {
    cells.push_back({row.key, std::to_string(row.sessions), fixed(row.runner_seconds / 3600, 2),
                     render::format_count(row.input_tokens),
                     render::format_count(row.output_tokens), cost_text(row.cost)});
  };
  for (const UsageRow& row : rows) {
    add(row);
    total.sessions += row.sessions;
    total.runner_seconds += row.runner_seconds;
    total.input_tokens += row.input_tokens;
    total.output_tokens += row.output_tokens;
    total.cost += row.cost;
  }
  if (rows.size() > 1) add(total);
  static constexpr const char* kKeyHeaders[] = {"REPO", "MODEL", "MONTH (UTC)"};
  return render_table({{kKeyHeaders[static_cast<int>(key)]},
                       {"SESSIONS", true},
                       {"RUNNER HOURS", true},
                       {"TOKENS IN", true},
                       {"TOKENS OUT", true},
                       {cost_header(currency), true}},
                      cells);
}

json usage_json(const std::vector<UsageRow>& rows, UsageKey key) {
  static constexpr const char* kKeys[] = {"repo", "model", "month"};
  json out = json::array();
  for (const UsageRow& row : rows) {
    out.push_back({{kKeys[static_cast<int>(key)], row.key},
                   {"sessions", row.sessions},
                   {"runner_hours", row.runner_seconds / 3600},
                   {"input_tokens", row.input_tokens},
                   {"output_tokens", row.output_tokens},
                   {"cost", row.cost}});
  }
  return out;
}

std::optional<double> ScoreRow::merged_share() const {
  if (pull_requests == 0) return std::nullopt;
  return static_cast<double>(merged) / static_cast<double>(pull_requests);
}

std::optional<double> ScoreRow::ci_green_share() const {
  if (ci_known == 0) return std::nullopt;
  return static_cast<double>(ci_green) / static_cast<double>(ci_known);
}

std::vector<ScoreRow> scoreboard(const std::vector<SessionRecord>& sessions) {
  struct Group {
    ScoreRow row;
    std::vector<double> costs, runner_seconds;
  };
  std::map<std::pair<std::string, TaskType>, Group> groups;
  for (const SessionRecord& session : sessions) {
    if (!is_final(session.state) || session.state == SessionState::denied) continue;
    Group& group = groups[{model_or_dash(session), session.task}];
    ScoreRow& row = group.row;
    row.model = model_or_dash(session);
    row.task = session.task;
    ++row.sessions;
    if (session.pull_request.number != 0) ++row.pull_requests;
    if (session.pull_request.state == PullRequestState::merged) ++row.merged;
    if (session.ci != CiResult::unknown) ++row.ci_known;
    if (session.ci == CiResult::green) ++row.ci_green;
    group.costs.push_back(session.cost());
    group.runner_seconds.push_back(session.runner_seconds);
  }
  std::vector<ScoreRow> rows;
  for (auto& [key, group] : groups) {
    group.row.median_cost = median(group.costs);
    group.row.median_runner_seconds = median(group.runner_seconds);
    rows.push_back(std::move(group.row));
  }
  return rows;
}

std::string scoreboard_table(const std::vector<ScoreRow>& rows, std::string_view currency) {
  if (rows.empty()) return "No finished sessions.\n";
  std::vector<std::vector<std::string>> cells;
  for (const ScoreRow& row : rows) {
    cells.push_back({row.model, std::string(to_string(row.task)), std::to_string(row.sessions),
                     std::to_string(row.pull_requests), share_text(row.merged_share()),
                     share_text(row.ci_green_share()), cost_text(row.median_cost),
                     runner_text(row.median_runner_seconds)});
  }
  std::string median_cost = "MEDIAN " + cost_header(currency);
  return render_table({{"MODEL"},
                       {"TASK"},
                       {"SESSIONS", true},
                       {"PRS", true},
                       {"MERGED", true},
                       {"CI GREEN", true},
                       {median_cost, true},
                       {"MEDIAN RUNNER", true}},
                      cells);
}

json scoreboard_json(const std::vector<ScoreRow>& rows) {
  json out = json::array();
  for (const ScoreRow& row : rows) {
    out.push_back({{"model", row.model},
                   {"task", to_string(row.task)},
                   {"sessions", row.sessions},
                   {"pull_requests", row.pull_requests},
                   {"merged", row.merged},
                   {"merged_share", optional_number(row.merged_share())},
                   {"ci_known", row.ci_known},
                   {"ci_green", row.ci_green},
                   {"ci_green_share", optional_number(row.ci_green_share())},
                   {"median_cost", row.median_cost},
                   {"median_runner_seconds", row.median_runner_seconds}});
  }
  return out;
}

}  // namespace forgehand::audit
