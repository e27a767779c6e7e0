#pragma once
// Walks a YAML document, collecting every problem with its position and key path
// (`file:line:column: key.path: message`) instead of stopping at the first one, so a config is
// fixed in one pass. Used by the server config, the policy and the repository config.
// Thread-compatible.

#include <yaml-cpp/yaml.h>

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace forgehand {

class YamlChecker {
 public:
  explicit YamlChecker(std::string source) : source_(std::move(source)) {}

  void error(const YAML::Node& node, std::string_view path, std::string_view message);
  std::string where(const YAML::Node& node, std::string_view path) const;

  bool is_map(const YAML::Node& node, std::string_view path);
  // Reports keys outside `allowed` (with a likely intended key) and keys given twice.
  void check_keys(const YAML::Node& node, std::string_view path,
                  std::span<const std::string_view> allowed);

  std::optional<std::string> string(const YAML::Node& node, std::string_view path);
  std::optional<long long> integer(const YAML::Node& node, std::string_view path, long long min,
                                   long long max);
  std::optional<bool> boolean(const YAML::Node& node, std::string_view path);
  std::optional<double> non_negative_number(const YAML::Node& node, const std::string& path);
  // A list of strings (a single string is not a list: it is reported).
  std::optional<std::vector<std::string>> strings(const YAML::Node& node, std::string_view path);
  // One of `choices`, with "did you mean" for a near miss.
  std::optional<std::string> choice(const YAML::Node& node, std::string_view path,
                                    std::span<const std::string_view> choices);

  static std::string join(std::string_view path, std::string_view key);

  const std::vector<std::string>& errors() const { return errors_; }
  // The problems, one per line; empty when there were none.
  std::string report() const;

 private:
  std::string source_;
  std::vector<std::string> errors_;
};

}  // namespace forgehand
