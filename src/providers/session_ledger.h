#pragma once
// What one session may spend on models and what it has spent: a token and cost budget, a
// deadline, and the record of every provider call, which becomes the session's attribution and
// audit trail. The built-in agent and the model proxy (an external agent CLI's requests) record
// into the same ledger, so a session cannot escape its budget by switching paths. Thread-safe.

#include <cstdint>
#include <mutex>
#include <optional>
#include <vector>

#include "forgehand/clock.h"
#include "forgehand/error.h"
#include "forgehand/provider.h"

namespace forgehand::providers {

struct Budget {
  std::int64_t max_tokens = 0;        // input + output, summed over the session; 0: no limit
  double max_cost = 0;                // in the configured prices' currency; 0: no limit
  std::optional<TimePoint> deadline;  // after it, no new call starts
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
  std::string failover_reason;  // why another attempt followed; empty when this one answered
  std::string error;            // the failure, when there was one
};

class SessionLedger {
 public:
  explicit SessionLedger(Budget budget = {}) : budget_(budget) {}

  const Budget& budget() const { return budget_; }

  // `budget_exhausted` (saying what was spent against which limit) once the tokens or the cost
  // reached the budget, or the deadline passed. Checked before each call, so one call's input
  // can overshoot the token budget; its output cannot (see output_allowance).
  Result<void> check(TimePoint now) const;

  // The most output tokens the next call may ask for: `wanted` (0: the provider's default,
  // `fallback`) capped by what is left of the token budget.
  std::int64_t output_allowance(std::int64_t wanted, std::int64_t fallback) const;

  void record(ProviderCall call);

  std::vector<ProviderCall> calls() const;
  Usage usage() const;
  double cost() const;

 private:
  Budget budget_;
  mutable std::mutex mutex_;
  std::vector<ProviderCall> calls_;
  Usage usage_;
  double cost_ = 0;
};

}  // namespace forgehand::providers
