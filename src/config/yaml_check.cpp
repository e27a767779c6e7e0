#include "config/yaml_check.h"

#include <algorithm>
#include <set>
#include <sstream>

#include "util/text.h"

namespace forgehand {

void YamlChecker::error(const YAML::Node& node, std::string_view path, std::string_view message) {
  std::ostringstream line;
  line << where(node, path) << ": " << message;
  errors_.push_back(line.str());
}

std::string YamlChecker::where(const YAML::Node& node, std::string_view path) const {
  std::ostringstream out;
  out << source_;
  YAML::Mark mark = node.Mark();
  if (mark.line >= 0) out << ":" << mark.line + 1 << ":" << mark.column + 1;
  out << ": " << path;
  return out.str();
}

bool YamlChecker::is_map(const YAML::Node& node, std::string_view path) {
  if (node.IsMap()) return true;
  error(node, path, "must be a mapping");
  return false;
}

void YamlChecker::check_keys(const YAML::Node& node, std::string_view path,
                             std::span<const std::string_view> allowed) {
  std::set<std::string> seen;
  for (auto it = node.begin(); it != node.end(); ++it) {
    std::string key = it->first.Scalar();
    std::string key_path = join(path, key);
    if (!seen.insert(key).second) error(it->first, key_path, "given more than once");
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string message = "unknown key";
      if (auto guess = text::closest_match(key, allowed)) {
        message += " (did you mean " + *guess + "?)";
      }
      error(it->first, key_path, message);
    }
  }
}

std::optional<std::string> YamlChecker::string(const YAML::Node& node, std::string_view path) {
  if (!node.IsScalar()) {
    error(node, path, "must be a string");
    return std::nullopt;
  }
  return node.Scalar();
}

std::optional<long long> YamlChecker::integer(const YAML::Node& node, std::string_view path,
                                              long long min, long long max) {
  long long value = 0;
  if (!node.IsScalar() || !YAML::convert<long long>::decode(node, value)) {
    error(node, path, "must be an integer");
    return std::nullopt;
  }
  if (value < min || value > max) {
    error(node, path, "must be between " + std::to_string(min) + " and " + std::to_string(max));
    return std::nullopt;
  }
  return value;
}

std::optional<bool> YamlChecker::boolean(const YAML::Node& node, std::string_view path) {
  bool value = false;
  if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value)) {
    error(node, path, "must be true or false");
    return std::nullopt;
  }
  return value;
}

std::optional<double> YamlChecker::non_negative_number(const YAML::Node& node,
                                                       const std::string& path) {
  double value = 0;
  if (!node.IsScalar() || !YAML::convert<double>::decode(node, value) || value < 0) {
    error(node, path, "must be a number, 0 or more");
    return std::nullopt;
  }
  return value;
}

std::optional<std::vector<std::string>> YamlChecker::strings(const YAML::Node& node,
                                                             std::string_view path) {
  if (!node.IsSequence()) {
    error(node, path, "must be a list of strings");
    return std::nullopt;
  }
  std::vector<std::string> values;
  bool ok = true;
  for (std::size_t i = 0; i < node.size(); ++i) {
    auto value = string(node[i], std::string(path) + "[" + std::to_string(i) + "]");
    if (value) {
      values.push_back(*value);
    } else {
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return values;
}

std::optional<std::string> YamlChecker::choice(const YAML::Node& node, std::string_view path,
                                               std::span<const std::string_view> choices) {
  auto value = string(node, path);
  if (!value) return std::nullopt;
  if (std::find(choices.begin(), choices.end(), *value) != choices.end()) return value;
  std::string message = "must be one of";
  for (std::size_t i = 0; i < choices.size(); ++i) {
    message += (i == 0 ? " " : ", ") + std::string(choices[i]);
  }
  if (auto guess = text::closest_match(*value, choices))
    message += " (did you mean " + *guess + "?)";
  error(node, path, message);
  return std::nullopt;
}

std::string YamlChecker::join(std::string_view path, std::string_view key) {
  return path.empty() ? std::string(key) : std::string(path) + "." + std::string(key);
}

std::string YamlChecker::report() const {
  std::string out;
  for (const std::string& line : errors_) {
    if (!out.empty()) out += "\n";
    out += line;
  }
  return out;
}

}  // namespace forgehand
