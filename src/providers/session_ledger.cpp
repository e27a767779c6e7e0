#include "providers/session_ledger.h"

#include <algorithm>

#include "util/text.h"

namespace forgehand::providers {

namespace {}  // namespace

Result<void> SessionLedger::check(TimePoint now) const {
  std::lock_guard lock(mutex_);
  std::int64_t tokens = usage_.input_tokens + usage_.output_tokens;
  if (budget_.max_tokens > 0 && tokens >= budget_.max_tokens) {
    return fail(ErrorCode::budget_exhausted,
                "the session's token budget is spent: " + std::to_string(tokens) + " of " +
                    std::to_string(budget_.max_tokens) + " tokens used");
  }
  if (budget_.max_cost > 0 && cost_ >= budget_.max_cost) {
    return fail(ErrorCode::budget_exhausted,
                "the session's cost budget is spent: " + text::decimal(cost_, 4) + " of " +
                    text::decimal(budget_.max_cost, 4));
  }
  if (budget_.deadline && now >= *budget_.deadline) {
    return fail(ErrorCode::budget_exhausted, "the session's time budget is spent");
  }
  return {};
}

std::int64_t SessionLedger::output_allowance(std::int64_t wanted, std::int64_t fallback) const {
  std::int64_t allowance = wanted > 0 ? wanted : fallback;
  std::lock_guard lock(mutex_);
  if (budget_.max_tokens > 0) {
    std::int64_t left = budget_.max_tokens - usage_.input_tokens - usage_.output_tokens;
    allowance = std::min(allowance, std::max<std::int64_t>(left, 1));
  }
  return allowance;
}

void SessionLedger::record(ProviderCall call) {
  std::lock_guard lock(mutex_);
  usage_.input_tokens += call.usage.input_tokens;
  usage_.output_tokens += call.usage.output_tokens;
  cost_ += call.cost;
  calls_.push_back(std::move(call));
}

std::vector<ProviderCall> SessionLedger::calls() const {
  std::lock_guard lock(mutex_);
  return calls_;
}

Usage SessionLedger::usage() const {
  std::lock_guard lock(mutex_);
  return usage_;
}

double SessionLedger::cost() const {
  std::lock_guard lock(mutex_);
  return cost_;
}

}  // namespace forgehand::providers
