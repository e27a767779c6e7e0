#include "forges/common/response_json.h"

namespace forgehand::forges {

Result<nlohmann::json> parse_response(const HttpResponse& response, std::string_view forge,
                                      std::string_view operation) {
  auto parsed = nlohmann::json::parse(response.body, nullptr, false);
  if (parsed.is_discarded()) {
    return fail(ErrorCode::malformed,
                std::string(forge) + ": " + std::string(operation) + ": the response is not JSON");
  }
  return parsed;
}

std::string json_text(const nlohmann::json& object, const nlohmann::json::json_pointer& path) {
  if (!object.contains(path) || !object.at(path).is_string()) return {};
  return object.at(path).get<std::string>();
}

std::string json_id(const nlohmann::json& object, const nlohmann::json::json_pointer& path) {
  if (!object.contains(path)) return {};
  const nlohmann::json& value = object.at(path);
  if (value.is_number_integer()) return std::to_string(value.get<std::int64_t>());
  return value.is_string() ? value.get<std::string>() : std::string{};
}

std::string_view reaction_name(Reaction reaction) {
  switch (reaction) {
    case Reaction::eyes:
      return "eyes";
    case Reaction::rocket:
      return "rocket";
    case Reaction::confused:
      return "confused";
  }
  return "eyes";
}

std::string_view github_status_state(CommitState state) {
  switch (state) {
    case CommitState::pending:
      return "pending";
    case CommitState::success:
      return "success";
    case CommitState::failure:
      return "failure";
    case CommitState::error:
      return "error";
  }
  return "error";
}

}  // namespace forgehand::forges
