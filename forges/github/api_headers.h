#pragma once
// The headers every GitHub REST call sends (docs.github.com, "Getting started with the REST
// API"): the JSON media type, a pinned API version, a User-Agent (required) and the credential.

#include <string>
#include <utility>
#include <vector>

namespace forgehand::github {

inline constexpr const char* kApiVersion = "2022-11-28";

inline std::vector<std::pair<std::string, std::string>> api_headers(std::string authorization) {
  return {{"Accept", "application/vnd.github+json"},
          {"X-GitHub-Api-Version", kApiVersion},
          {"User-Agent", "forgehand"},
          {"Authorization", std::move(authorization)}};
}

}  // namespace forgehand::github
