#pragma once
// Small pieces every provider mapping needs. Pure functions.

#include <nlohmann/json.hpp>
#include <string>

namespace forgehand::providers {

// "https://api.anthropic.com/v1" → "api.anthropic.com", for attribution.
std::string url_host(const std::string& base_url);

// Tool-call arguments are JSON text in forgehand's model; Anthropic and Gemini want the object.
// Anything that is not a JSON object becomes {}.
nlohmann::json arguments_object(const std::string& arguments);

}  // namespace forgehand::providers
