#pragma once
// A route is an ordered list of providers. The router tries them in turn, failing over on what
// may pass (connection errors, timeouts, 429, 5xx) and, where configured, on 401/403, and records
// every call: provider, model, endpoint host, HTTP status, latency, tokens, cost and why it moved
// on. A session's model attribution is built from these records. Immutable; thread-safe when its
// providers are.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "forgehand/clock.h"
#include "forgehand/provider.h"
#include "providers/session_ledger.h"

namespace forgehand::providers {

struct Price {
  double input_per_million = 0;  // in the operator's currency, per million input tokens
  double output_per_million = 0;
};

double cost_of(const Usage& usage, const Price& price);

struct RouteStep {
  const Provider* provider = nullptr;
  Price price;
  bool failover_on_auth_errors = false;   // a revoked key moves on instead of failing the turn
  std::int64_t max_output_tokens = 4096;  // the provider's configured default
};

struct RouteOutcome {
  Result<ChatResponse> result = tl::unexpected(Error{ErrorCode::internal, "no provider tried"});
  std::vector<ProviderCall> calls;  // every attempt, in order, also when all failed
};

class Router {
 public:
  // A rate limit's Retry-After is honoured at most once per completion, and only when the wait
  // is no longer than this and ends before the session's deadline; otherwise the route fails
  // over at once.
  static constexpr std::chrono::seconds kMaxRetryAfterWait{60};

  Router(std::string route, std::vector<RouteStep> steps, const Clock& clock,
         const Sleeper& sleeper);

  const std::string& route() const { return route_; }
  const std::vector<RouteStep>& steps() const { return steps_; }

  // Checks the ledger's budget before every attempt, caps the output tokens asked for by what is
  // left of it, and records every attempt in it.
  RouteOutcome complete(const ChatRequest& request, SessionLedger& ledger) const;

 private:
  std::string route_;
  std::vector<RouteStep> steps_;
  const Clock& clock_;
  const Sleeper& sleeper_;
};

// "anthropic claude-sonnet-4-5 (api.anthropic.com), after openai gpt-4o: rate limited (HTTP 429)"
std::string describe_attribution(const std::vector<ProviderCall>& calls);

}  // namespace forgehand::providers
