#include "store/session_record.h"

#include <ctime>

namespace forgehand {

using nlohmann::json;

namespace {

json optional_time(const std::optional<TimePoint>& time) {
  return time ? json(format_utc(*time)) : json(nullptr);
}

}  // namespace

std::string format_utc(TimePoint time) {
  std::time_t seconds =
      std::chrono::system_clock::to_time_t(std::chrono::floor<std::chrono::seconds>(time));
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buffer;
}

std::string answering_model(const std::vector<ModelCall>& calls) {
  for (auto it = calls.rbegin(); it != calls.rend(); ++it) {
    if (it->answered()) return it->provider + "/" + it->model;
  }
  return {};
}

std::int64_t total_input_tokens(const std::vector<ModelCall>& calls) {
  std::int64_t total = 0;
  for (const ModelCall& call : calls) total += call.input_tokens;
  return total;
}

std::int64_t total_output_tokens(const std::vector<ModelCall>& calls) {
  std::int64_t total = 0;
  for (const ModelCall& call : calls) total += call.output_tokens;
  return total;
}

double total_cost(const std::vector<ModelCall>& calls) {
  double total = 0;
  for (const ModelCall& call : calls) total += call.cost;
  return total;
}

std::string SessionRecord::model() const { return answering_model(calls); }
std::int64_t SessionRecord::input_tokens() const { return total_input_tokens(calls); }
std::int64_t SessionRecord::output_tokens() const { return total_output_tokens(calls); }
double SessionRecord::cost() const { return total_cost(calls); }

void to_json(json& out, const ModelCall& call) {
  out = {{"provider", call.provider},
         {"model", call.model},
         {"endpoint_host", call.endpoint_host},
         {"http_status", call.http_status},
         {"latency_seconds", call.latency_seconds},
         {"input_tokens", call.input_tokens},
         {"output_tokens", call.output_tokens},
         {"cost", call.cost},
         {"failover_reason", call.failover_reason},
         {"error", call.error},
         {"credential", call.credential}};
}

void from_json(const json& in, ModelCall& call) {
  call.provider = in.at("provider").get<std::string>();
  call.model = in.at("model").get<std::string>();
  call.endpoint_host = in.at("endpoint_host").get<std::string>();
  call.http_status = in.at("http_status").get<int>();
  call.latency_seconds = in.at("latency_seconds").get<double>();
  call.input_tokens = in.at("input_tokens").get<std::int64_t>();
  call.output_tokens = in.at("output_tokens").get<std::int64_t>();
  call.cost = in.at("cost").get<double>();
  call.failover_reason = in.at("failover_reason").get<std::string>();
  call.error = in.at("error").get<std::string>();
  call.credential = in.at("credential").get<std::string>();
}

void to_json(json& out, const CommandRun& command) {
  out = {{"argv", command.argv},
         {"exit_code", command.exit_code},
         {"signal", command.signal},
         {"timed_out", command.timed_out},
         {"duration_ms", command.duration.count()}};
}

void from_json(const json& in, CommandRun& command) {
  command.argv = in.at("argv").get<std::vector<std::string>>();
  command.exit_code = in.at("exit_code").get<int>();
  command.signal = in.at("signal").get<int>();
  command.timed_out = in.at("timed_out").get<bool>();
  command.duration = std::chrono::milliseconds(in.at("duration_ms").get<std::int64_t>());
}

void to_json(json& out, const InstructionRecord& instruction) {
  out = {{"path", instruction.path},
         {"sha256", instruction.sha256},
         {"bytes", instruction.bytes},
         {"truncated", instruction.truncated}};
}

void from_json(const json& in, InstructionRecord& instruction) {
  instruction.path = in.at("path").get<std::string>();
  instruction.sha256 = in.at("sha256").get<std::string>();
  instruction.bytes = in.at("bytes").get<std::size_t>();
  instruction.truncated = in.at("truncated").get<bool>();
}

void to_json(json& out, const SessionRecord& session) {
  const SessionPullRequest& pr = session.pull_request;
  out = {
      {"id", session.id},
      {"instance", session.instance},
      {"repo", session.repo},
      {"trigger",
       {{"delivery_id", session.trigger.delivery_id},
        {"event", to_string(session.trigger.event)},
        {"actor", session.trigger.actor},
        {"head_sha", session.trigger.head_sha}}},
      {"number", session.number},
      {"is_pull_request", session.is_pull_request},
      {"base", {{"ref", session.base_ref}, {"sha", session.base_sha}}},
      {"head", {{"ref", session.head_ref}, {"sha", session.head_sha}}},
      {"task", to_string(session.task)},
      {"state", to_string(session.state)},
      {"decision",
       {{"allowed", session.decision.allowed},
        {"deny_reason", session.decision.deny_reason},
        {"reasons", session.decision.reasons},
        {"rejections", session.decision.rejections}}},
      {"route", session.route},
      {"model", session.model()},
      {"input_tokens", session.input_tokens()},
      {"output_tokens", session.output_tokens()},
      {"cost", session.cost()},
      {"calls", session.calls},
      {"tools", session.tools},
      {"instructions", session.instructions},
      {"commands", session.commands},
      {"runner_seconds", session.runner_seconds},
      {"pull_request",
       {{"number", pr.number},
        {"url", pr.url},
        {"state", to_string(pr.state)},
        {"merged_by", pr.merged_by},
        {"closed_at", optional_time(pr.closed_at)}}},
      {"ci", to_string(session.ci)},
      {"acknowledgement_comment_id", session.acknowledgement_comment_id},
      {"summary", session.summary},
      {"error", session.error},
      {"attempts", session.attempts},
      {"worker_id", session.worker_id},
      {"heartbeat_at", optional_time(session.heartbeat_at)},
      {"created_at", format_utc(session.created_at)},
      {"started_at", optional_time(session.started_at)},
      {"finished_at", optional_time(session.finished_at)},
  };
}

}  // namespace forgehand
