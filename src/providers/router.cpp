#include "providers/router.h"

#include <chrono>

namespace forgehand::providers {

namespace {

// Why a failed call lets the next provider try, or nothing when the failure would repeat
// anywhere (a malformed request, a refused prompt).
std::string failover_reason(const Error& error, bool on_auth_errors) {
  std::string status = error.http_status ? " (HTTP " + std::to_string(error.http_status) + ")" : "";
  switch (error.code) {
    case ErrorCode::rate_limited:
      return "rate limited" + status;
    case ErrorCode::unavailable:
      return (error.http_status ? "unavailable" : "connection failed") + status;
    case ErrorCode::timeout:
      return "timed out";
    case ErrorCode::unauthorized:
    case ErrorCode::forbidden:
      return on_auth_errors ? "credentials refused" + status : std::string{};
    default:
      return {};
  }
}

}  // namespace

double cost_of(const Usage& usage, const Price& price) {
  return static_cast<double>(usage.input_tokens) / 1e6 * price.input_per_million +
         static_cast<double>(usage.output_tokens) / 1e6 * price.output_per_million;
}

Router::Router(std::string route, std::vector<RouteStep> steps, const Clock& clock,
               const Sleeper& sleeper)
    : route_(std::move(route)), steps_(std::move(steps)), clock_(clock), sleeper_(sleeper) {}

RouteOutcome Router::complete(const ChatRequest& request, SessionLedger& ledger) const {
  RouteOutcome outcome;
  if (steps_.empty()) {
    outcome.result = fail(ErrorCode::config, "route " + route_ + " has no providers");
    return outcome;
  }
  auto record = [&](ProviderCall call) {
    ledger.record(call);
    outcome.calls.push_back(std::move(call));
  };
  ChatRequest bounded = request;
  bool waited = false;
  for (std::size_t i = 0; i < steps_.size(); ++i) {
    const RouteStep& step = steps_[i];
    if (auto allowed = ledger.check(clock_.now()); !allowed) {
      outcome.result = tl::unexpected(allowed.error().context("route " + route_));
      return outcome;
    }
    bounded.max_output_tokens =
        ledger.output_allowance(request.max_output_tokens, step.max_output_tokens);
    ProviderCall call{step.provider->name(), step.provider->model(),
                      step.provider->endpoint_host()};
    auto started = std::chrono::steady_clock::now();
    auto response = step.provider->complete(bounded);
    call.latency_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (response) {
      call.http_status = 200;
      call.usage = response->usage;
      call.cost = cost_of(response->usage, step.price);
      if (!response->model.empty()) call.model = response->model;
      record(std::move(call));
      outcome.result = std::move(response);
      return outcome;
    }
    const Error& error = response.error();
    call.http_status = error.http_status;
    call.error = error.message;
    if (error.code == ErrorCode::rate_limited && error.retry_after && !waited &&
        *error.retry_after <= kMaxRetryAfterWait &&
        (!ledger.budget().deadline ||
         clock_.now() + *error.retry_after < *ledger.budget().deadline)) {
      waited = true;
      call.failover_reason = failover_reason(error, step.failover_on_auth_errors) + "; waited " +
                             std::to_string(error.retry_after->count()) + " s as asked";
      record(std::move(call));
      sleeper_.sleep_for(*error.retry_after);
      --i;
      continue;
    }
    std::string reason = failover_reason(error, step.failover_on_auth_errors);
    bool last = i + 1 == steps_.size();
    if (!reason.empty() && !last) call.failover_reason = reason;
    record(std::move(call));
    if (reason.empty() || last) {
      outcome.result = tl::unexpected(error.context(
          "route " + route_ + (last && !reason.empty() ? ": every provider failed" : "")));
      return outcome;
    }
  }
  return outcome;
}

std::string describe_attribution(const std::vector<ProviderCall>& calls) {
  if (calls.empty()) return "no model was called";
  const ProviderCall& last = calls.back();
  std::string text = last.provider + " " + last.model + " (" + last.endpoint_host + ")";
  if (!last.error.empty()) text = "no answer; last tried " + text;
  for (std::size_t i = 0; i + 1 < calls.size(); ++i) {
    text += i == 0 ? ", after " : "; ";
    text += calls[i].provider + " " + calls[i].model + ": " + calls[i].failover_reason;
  }
  return text;
}

}  // namespace forgehand::providers
