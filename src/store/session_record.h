#pragma once
// Session records as JSON: the form the store keeps lists in and the form
// `forgehand sessions --json` prints, so both say the same thing. Pure functions.

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "forgehand/clock.h"
#include "forgehand/session.h"

namespace forgehand {

// "2025-01-31T12:00:00Z" (UTC, whole seconds).
std::string format_utc(TimePoint time);

// What the calls add up to; SessionRecord's model(), tokens and cost are these over its calls.
std::string answering_model(const std::vector<ModelCall>& calls);
std::int64_t total_input_tokens(const std::vector<ModelCall>& calls);
std::int64_t total_output_tokens(const std::vector<ModelCall>& calls);
double total_cost(const std::vector<ModelCall>& calls);

// nlohmann's conversions, found by argument-dependent lookup. from_json throws
// nlohmann::json::exception on a shape it does not expect; the store catches it.
void to_json(nlohmann::json& out, const ModelCall& call);
void from_json(const nlohmann::json& in, ModelCall& call);
void to_json(nlohmann::json& out, const CommandRun& command);
void from_json(const nlohmann::json& in, CommandRun& command);
void to_json(nlohmann::json& out, const InstructionRecord& instruction);
void from_json(const nlohmann::json& in, InstructionRecord& instruction);

// The whole record, derived totals and the model included; times as format_utc, absent ones null.
void to_json(nlohmann::json& out, const SessionRecord& session);

}  // namespace forgehand
