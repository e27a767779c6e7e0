#pragma once
// Reading forge API responses: parse with a clear error, and take strings and ids out of them
// without throwing when a field is absent or of another type. Pure functions.

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "forgehand/error.h"
#include "forgehand/forge.h"
#include "util/http_client.h"

namespace forgehand::forges {

// Errors: `malformed` "<forge>: <operation>: the response is not JSON".
Result<nlohmann::json> parse_response(const HttpResponse& response, std::string_view forge,
                                      std::string_view operation);

// The string at `path`, or "" when absent or not a string.
std::string json_text(const nlohmann::json& object, const nlohmann::json::json_pointer& path);
// A numeric or string id at `path` as a string, or "".
std::string json_id(const nlohmann::json& object, const nlohmann::json::json_pointer& path);

// GitHub's reaction names, which GitLab's award emoji and Gitea's default [ui] REACTIONS share
// for the three forgehand uses.
std::string_view reaction_name(Reaction reaction);

// GitHub's commit status states, which Gitea and Forgejo copy: pending, success, failure, error.
std::string_view github_status_state(CommitState state);

}  // namespace forgehand::forges
