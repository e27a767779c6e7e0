#pragma once
// Typed, validated access to a webhook payload by dotted path ("issue.pull_request.url",
// "pull_requests.0.number"), so a converter touches no field it has not checked. The first
// problem is kept and reported as "<context>: <path> is missing" or "... is not a string";
// accessors then return empty values, so converters read straight through and check error() once.
// Not thread-safe (one per parse).

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "forgehand/delivery.h"
#include "forgehand/error.h"
#include "forgehand/event.h"

namespace forgehand::forges {

class PayloadFields {
 public:
  // `context` names the forge and event: "github: parse issue_comment".
  PayloadFields(const nlohmann::json& root, std::string context);

  // Required: absent or null is an error.
  std::string string(std::string_view path);
  std::int64_t integer(std::string_view path);
  bool boolean(std::string_view path);
  // Numeric or string ids alike, as a string.
  std::string id(std::string_view path);

  // Optional: absent or null gives the fallback; present with the wrong type is still an error.
  std::string optional_string(std::string_view path);
  std::string optional_id(std::string_view path);
  std::int64_t optional_integer(std::string_view path, std::int64_t fallback = 0);
  bool optional_boolean(std::string_view path, bool fallback = false);

  // Present and not null.
  bool has(std::string_view path) const;
  // The array's length; 0 when absent or null, an error when not an array.
  std::size_t array_size(std::string_view path);
  // Requires an object (the payload's root must be one too).
  void require_object(std::string_view path);

  const std::optional<Error>& error() const { return error_; }

 private:
  const nlohmann::json* find(std::string_view path) const;
  void fail(std::string_view path, std::string_view problem);
  const nlohmann::json* typed(std::string_view path, bool required,
                              bool (*check)(const nlohmann::json&), std::string_view type_name);

  const nlohmann::json& root_;
  std::string context_;
  std::optional<Error> error_;
};

// The frame every converter shares: parses the delivery's body, hands `convert` the fields and an
// Event already naming the instance and delivery, and turns the first field problem into a
// `malformed` error ("<forge>: parse <event>: <path> is missing").
Result<Parsed> convert_payload(const Delivery& delivery, std::string_view forge,
                               const std::function<Parsed(PayloadFields&, Event&)>& convert);

}  // namespace forgehand::forges
