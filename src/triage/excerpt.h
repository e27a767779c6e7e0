#pragma once
// The part of a CI log that shows why the build failed, within a byte budget, for a model (or a
// person) that cannot read megabytes. Pure functions; thread-safe.

#include <cstddef>
#include <string>
#include <string_view>

namespace forgehand::triage {

inline constexpr std::size_t kDefaultBudget = 8192;

// Picks the failure reports of `log` (raw bytes as the CI serves them) with the context around
// them, plus the end of the log, and returns them as normalized lines (normalize.h) in log order.
// Every gap reads `[... N lines omitted ...]`; runs of one repeated line are folded; a line too
// long for the budget is cut in its middle. Never more than `budget` bytes, always valid UTF-8;
// empty for an empty log or a budget too small for one marker.
std::string excerpt(std::string_view log, std::size_t budget = kDefaultBudget);

}  // namespace forgehand::triage
