#pragma once
// A route is an ordered list of providers. The router tries them in turn, failing over on what
// may pass (connection errors, timeouts, 429, 5xx) and, where configured, on 401/403, and records
// every call: provider, model, endpoint host, HTTP status, latency, tokens, cost and why it moved
// on. A session's model attribution is built from these records. Immutable; thread-safe when its
// providers are.

#include <string>
#include <vector>

#include "forgehand/provider.h"

namespace forgehand::providers {

struct Price {
  double input_per_million = 0;  // in the operator's currency, per million input tokens
  double output_per_million = 0;
};

double cost_of(const Usage& usage, const Price& price);

struct RouteStep {
  const Provider* provider = nullptr;
  Price price;
  bool failover_on_auth_errors = false;  // a revoked key moves on instead of failing the turn
};

// One attempt at one provider.
struct ProviderCall {
  std::string provider;
  std::string model;
  std::string endpoint_host;
  int http_status = 0;  // 200 when it answered; the error's status; 0 when no answer came back
  double latency_seconds = 0;
  Usage usage;
  double cost = 0;
  std::string failover_reason;  // why the next provider was tried; empty when this one answered
  std::string error;            // the failure, when there was one
};

struct RouteOutcome {
  Result<ChatResponse> result = tl::unexpected(Error{ErrorCode::internal, "no provider tried"});
  std::vector<ProviderCall> calls;  // every attempt, in order, also when all failed
};

class Router {
 public:
  Router(std::string route, std::vector<RouteStep> steps);

  const std::string& route() const { return route_; }
  RouteOutcome complete(const ChatRequest& request) const;

 private:
  std::string route_;
  std::vector<RouteStep> steps_;
};

// "anthropic claude-sonnet-4-5 (api.anthropic.com), after openai gpt-4o: rate limited (HTTP 429)"
std::string describe_attribution(const std::vector<ProviderCall>& calls);

}  // namespace forgehand::providers
