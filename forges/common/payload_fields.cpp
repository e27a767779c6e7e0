#include "forges/common/payload_fields.h"

#include <charconv>

namespace forgehand::forges {

namespace {
bool is_string(const nlohmann::json& value) { return value.is_string(); }
bool is_integer(const nlohmann::json& value) { return value.is_number_integer(); }
bool is_boolean(const nlohmann::json& value) { return value.is_boolean(); }
bool is_id(const nlohmann::json& value) {
  return value.is_number_integer() ||
         (value.is_string() && !value.get_ref<const std::string&>().empty());
}
bool is_array(const nlohmann::json& value) { return value.is_array(); }
bool is_object(const nlohmann::json& value) { return value.is_object(); }
}  // namespace

PayloadFields::PayloadFields(const nlohmann::json& root, std::string context)
    : root_(root), context_(std::move(context)) {
  if (!root_.is_object()) fail("the payload", "is not a JSON object");
}

const nlohmann::json* PayloadFields::find(std::string_view path) const {
  const nlohmann::json* node = &root_;
  while (!path.empty()) {
    auto dot = path.find('.');
    std::string_view segment = path.substr(0, dot);
    path = dot == std::string_view::npos ? std::string_view{} : path.substr(dot + 1);
    if (node->is_object()) {
      auto it = node->find(segment);
      if (it == node->end()) return nullptr;
      node = &*it;
    } else if (node->is_array()) {
      std::size_t index = 0;
      auto [end, ec] = std::from_chars(segment.data(), segment.data() + segment.size(), index);
      if (ec != std::errc{} || end != segment.data() + segment.size() || index >= node->size()) {
        return nullptr;
      }
      node = &(*node)[index];
    } else {
      return nullptr;
    }
  }
  return node->is_null() ? nullptr : node;
}

void PayloadFields::fail(std::string_view path, std::string_view problem) {
  if (error_) return;
  error_ =
      Error{ErrorCode::malformed, context_ + ": " + std::string(path) + " " + std::string(problem)};
}

const nlohmann::json* PayloadFields::typed(std::string_view path, bool required,
                                           bool (*check)(const nlohmann::json&),
                                           std::string_view type_name) {
  const nlohmann::json* value = find(path);
  if (value == nullptr) {
    if (required) fail(path, "is missing");
    return nullptr;
  }
  if (!check(*value)) {
    fail(path, "is not " + std::string(type_name));
    return nullptr;
  }
  return value;
}

std::string PayloadFields::string(std::string_view path) {
  const auto* value = typed(path, true, is_string, "a string");
  return value ? value->get<std::string>() : std::string{};
}

std::int64_t PayloadFields::integer(std::string_view path) {
  const auto* value = typed(path, true, is_integer, "an integer");
  return value ? value->get<std::int64_t>() : 0;
}

bool PayloadFields::boolean(std::string_view path) {
  const auto* value = typed(path, true, is_boolean, "true or false");
  return value ? value->get<bool>() : false;
}

std::string PayloadFields::id(std::string_view path) {
  const auto* value = typed(path, true, is_id, "an id");
  if (value == nullptr) return {};
  return value->is_string() ? value->get<std::string>()
                            : std::to_string(value->get<std::int64_t>());
}

std::string PayloadFields::optional_string(std::string_view path) {
  const auto* value = typed(path, false, is_string, "a string");
  return value ? value->get<std::string>() : std::string{};
}

std::string PayloadFields::optional_id(std::string_view path) {
  const auto* value = typed(path, false, is_id, "an id");
  if (value == nullptr) return {};
  return value->is_string() ? value->get<std::string>()
                            : std::to_string(value->get<std::int64_t>());
}

std::int64_t PayloadFields::optional_integer(std::string_view path, std::int64_t fallback) {
  const auto* value = typed(path, false, is_integer, "an integer");
  return value ? value->get<std::int64_t>() : fallback;
}

bool PayloadFields::optional_boolean(std::string_view path, bool fallback) {
  const auto* value = typed(path, false, is_boolean, "true or false");
  return value ? value->get<bool>() : fallback;
}

bool PayloadFields::has(std::string_view path) const { return find(path) != nullptr; }

std::size_t PayloadFields::array_size(std::string_view path) {
  const auto* value = typed(path, false, is_array, "an array");
  return value ? value->size() : 0;
}

void PayloadFields::require_object(std::string_view path) {
  typed(path, true, is_object, "an object");
}

Result<Parsed> convert_payload(const Delivery& delivery, std::string_view forge,
                               const std::function<Parsed(PayloadFields&, Event&)>& convert) {
  std::string context = std::string(forge) + ": parse " + delivery.event;
  auto json = nlohmann::json::parse(delivery.body, nullptr, false);
  if (json.is_discarded()) {
    return forgehand::fail(ErrorCode::malformed, context + ": the body is not valid JSON");
  }
  PayloadFields fields(json, context);
  if (fields.error()) return tl::unexpected(*fields.error());
  Event event;
  event.instance = delivery.instance;
  event.delivery_id = delivery.delivery_id;
  Parsed parsed = convert(fields, event);
  if (fields.error()) return tl::unexpected(*fields.error());
  return parsed;
}

}  // namespace forgehand::forges
