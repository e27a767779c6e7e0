#pragma once
// Text helpers shared by configuration checks, the comment command parser and the runner.
// Pure functions.

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace forgehand::text {

// Levenshtein distance over bytes.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate nearest to `word` if it is close enough to be a likely typo.
std::optional<std::string> closest_match(std::string_view word,
                                         std::span<const std::string_view> candidates);

// `text` without leading and trailing spaces, tabs and line breaks.
std::string_view trim(std::string_view text);

// The items with `separator` between them.
std::string join(std::span<const std::string> items, std::string_view separator);

// `value` with exactly `places` decimals ("2.50"), for costs in messages.
std::string decimal(double value, int places);

}  // namespace forgehand::text
