// The JSON Schemas in config/ document the configuration for editors and other tools; the C++
// loaders are the authority. These tests keep the two in step: the example configs, which every
// key appears in, must satisfy the schemas, and what the loaders reject for an unknown key the
// schemas reject too. The validator below covers the keywords the schemas use.
#include <doctest/doctest.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "config/repo_config.h"
#include "config/server_config.h"

using nlohmann::json;

namespace {

std::string read_source_file(const std::string& relative) {
  std::ifstream in(std::string(FORGEHAND_SOURCE_DIR) + "/" + relative);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// YAML 1.2 core schema scalars: plain true/false, integers and floats are typed; quoted
// scalars stay strings.
json to_json(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      json out = json::object();
      for (auto it = node.begin(); it != node.end(); ++it) {
        out[it->first.Scalar()] = to_json(it->second);
      }
      return out;
    }
    case YAML::NodeType::Sequence: {
      json out = json::array();
      for (const auto& item : node) out.push_back(to_json(item));
      return out;
    }
    case YAML::NodeType::Scalar: {
      const std::string& text = node.Scalar();
      if (node.Tag() == "!") return text;
      if (text == "true" || text == "false") return text == "true";
      if (std::regex_match(text, std::regex("-?[0-9]+"))) return std::stoll(text);
      if (std::regex_match(text, std::regex("-?[0-9]+\\.[0-9]+"))) return std::stod(text);
      return text;
    }
    default:
      return nullptr;
  }
}

bool has_type(const json& value, const std::string& type) {
  if (type == "object") return value.is_object();
  if (type == "array") return value.is_array();
  if (type == "string") return value.is_string();
  if (type == "boolean") return value.is_boolean();
  if (type == "integer") return value.is_number_integer();
  if (type == "number") return value.is_number();
  return false;
}

void validate(const json& schema, const json& value, const std::string& path,
              std::vector<std::string>& errors) {
  if (schema.contains("type")) {
    std::vector<std::string> types = schema["type"].is_array()
                                         ? schema["type"].get<std::vector<std::string>>()
                                         : std::vector<std::string>{schema["type"]};
    if (std::none_of(types.begin(), types.end(),
                     [&](const auto& t) { return has_type(value, t); })) {
      errors.push_back(path + ": wrong type");
      return;
    }
  }
  if (schema.contains("enum") &&
      std::find(schema["enum"].begin(), schema["enum"].end(), value) == schema["enum"].end()) {
    errors.push_back(path + ": not one of the allowed values");
  }
  if (schema.contains("pattern") && value.is_string() &&
      !std::regex_search(value.get<std::string>(),
                         std::regex(schema["pattern"].get<std::string>()))) {
    errors.push_back(path + ": does not match " + schema["pattern"].get<std::string>());
  }
  if (schema.contains("minLength") && value.is_string() &&
      value.get<std::string>().size() < schema["minLength"].get<std::size_t>()) {
    errors.push_back(path + ": too short");
  }
  if (value.is_number()) {
    if (schema.contains("minimum") && value.get<double>() < schema["minimum"].get<double>()) {
      errors.push_back(path + ": below minimum");
    }
    if (schema.contains("maximum") && value.get<double>() > schema["maximum"].get<double>()) {
      errors.push_back(path + ": above maximum");
    }
  }
  if (schema.contains("oneOf")) {
    int matches = 0;
    for (const json& option : schema["oneOf"]) {
      std::vector<std::string> option_errors;
      validate(option, value, path, option_errors);
      matches += option_errors.empty();
    }
    if (matches != 1) errors.push_back(path + ": matches " + std::to_string(matches) + " of oneOf");
  }
  if (value.is_object()) {
    for (const auto& name : schema.value("required", json::array())) {
      if (!value.contains(name.get<std::string>()))
        errors.push_back(path + ": needs " + name.dump());
    }
    for (auto it = value.begin(); it != value.end(); ++it) {
      std::string at = path + "." + it.key();
      if (schema.contains("propertyNames")) validate(schema["propertyNames"], it.key(), at, errors);
      if (schema.contains("properties") && schema["properties"].contains(it.key())) {
        validate(schema["properties"][it.key()], it.value(), at, errors);
      } else if (schema.contains("additionalProperties")) {
        const json& extra = schema["additionalProperties"];
        if (extra.is_boolean()) {
          if (!extra.get<bool>()) errors.push_back(at + ": not allowed");
        } else {
          validate(extra, it.value(), at, errors);
        }
      }
    }
  }
  if (value.is_array()) {
    if (schema.contains("minItems") && value.size() < schema["minItems"].get<std::size_t>()) {
      errors.push_back(path + ": too few items");
    }
    if (schema.contains("items")) {
      for (std::size_t i = 0; i < value.size(); ++i) {
        validate(schema["items"], value[i], path + "[" + std::to_string(i) + "]", errors);
      }
    }
  }
}

std::vector<std::string> schema_errors(const std::string& schema_file, const std::string& yaml) {
  json schema = json::parse(read_source_file(schema_file));
  std::vector<std::string> errors;
  validate(schema, to_json(YAML::Load(yaml)), "$", errors);
  return errors;
}

}  // namespace

TEST_CASE("the server example satisfies the loader and the schema alike") {
  std::string example = read_source_file("config/forgehand.example.yaml");
  auto loaded = forgehand::parse_server_config(example, "forgehand.example.yaml", "/etc/forgehand");
  REQUIRE_MESSAGE(loaded.has_value(), loaded.error().message);
  auto errors = schema_errors("config/forgehand.schema.json", example);
  for (const auto& error : errors) MESSAGE(error);
  CHECK(errors.empty());
}

TEST_CASE("the repository example satisfies the loader and the schema alike") {
  std::string example = read_source_file("config/forgehand.repo.example.yml");
  auto loaded = forgehand::parse_repo_config(example);
  REQUIRE_MESSAGE(loaded.has_value(), loaded.error().message);
  auto errors = schema_errors("config/forgehand.repo.schema.json", example);
  for (const auto& error : errors) MESSAGE(error);
  CHECK(errors.empty());
}

TEST_CASE("what the loaders reject, the schemas reject") {
  const char* repo_cases[] = {
      "comands: true",
      "ci_fix: maybe",
      "routes: {ci_fixes: x}",
      "budgets: {session: {cost: -1}}",
      "triggers: {min_permission: owner}",
      "instructions: [../etc/passwd]",
      "templates: {result: docs/result.md}",
      "templates: {results: .forgehand/templates/result.md.mustache}",
      "attempts: {per_pull_request: -1}",
  };
  for (const char* yaml : repo_cases) {
    CAPTURE(yaml);
    CHECK_FALSE(forgehand::parse_repo_config(yaml).has_value());
    CHECK_FALSE(schema_errors("config/forgehand.repo.schema.json", yaml).empty());
  }
  const std::string instance = "instances: [{name: gh, type: github, webhook_secret: env:A}]\n";
  const char* server_cases[] = {
      "listen_on: 1\n",
      "policy: {rules: [{forks: maybe}]}\n",
      "policy: {rules: [{sensitivity: Public}]}\n",
      "sandbox: {kind: docker}\n",
      "model_proxy_listen: 0.0.0.0:9000\n",
  };
  for (const char* yaml : server_cases) {
    CAPTURE(yaml);
    CHECK_FALSE(forgehand::parse_server_config(instance + yaml, "f.yaml", "/").has_value());
    CHECK_FALSE(schema_errors("config/forgehand.schema.json", instance + yaml).empty());
  }
}
