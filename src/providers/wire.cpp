#include "providers/wire.h"

#include "util/http_client.h"

namespace forgehand::providers {

std::string url_host(const std::string& base_url) {
  auto parts = split_url(base_url);
  std::string origin = parts ? parts->first : base_url;
  auto scheme = origin.find("://");
  return scheme == std::string::npos ? origin : origin.substr(scheme + 3);
}

nlohmann::json arguments_object(const std::string& arguments) {
  auto parsed = nlohmann::json::parse(arguments.empty() ? "{}" : arguments, nullptr, false);
  return parsed.is_object() ? parsed : nlohmann::json::object();
}

}  // namespace forgehand::providers
