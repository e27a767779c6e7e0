#include "config/server_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "config/yaml_check.h"
#include "util/secret.h"
#include "util/text.h"

namespace forgehand {

namespace {

namespace fs = std::filesystem;

using Checker = YamlChecker;

constexpr std::string_view kTopKeys[] = {"listen",
                                         "public_url",
                                         "data_dir",
                                         "max_body_bytes",
                                         "http_threads",
                                         "delivery_retention_days",
                                         "ca_bundle",
                                         "store",
                                         "workers",
                                         "instances",
                                         "providers",
                                         "routes",
                                         "model_proxy_listen",
                                         "policy",
                                         "sandbox",
                                         "templates_dir",
                                         "currency",
                                         "runner"};
constexpr std::string_view kStoreKeys[] = {"driver", "path"};
constexpr std::string_view kWorkerKeys[] = {"count", "max_attempts", "retry_initial_seconds",
                                            "retry_max_seconds"};
constexpr std::string_view kInstanceKeys[] = {
    "name",      "type",   "api_url",     "webhook_secret", "signing_token", "insecure_no_secret",
    "bot_login", "app_id", "private_key", "token",          "token_type"};

constexpr std::string_view kProviderKeys[] = {"name",
                                              "kind",
                                              "base_url",
                                              "model",
                                              "api_version",
                                              "credential",
                                              "headers",
                                              "timeout_seconds",
                                              "max_output_tokens",
                                              "price",
                                              "data_boundary",
                                              "failover_on_auth_errors"};
constexpr std::string_view kSandboxKeys[] = {
    "kind",        "bwrap_path",          "uid",
    "gid",         "timeout_seconds",     "output_limit_bytes",
    "cpu_seconds", "address_space_bytes", "file_size_bytes",
    "open_files",  "processes",           "hide_paths"};
constexpr std::string_view kRunnerKeys[] = {"kind", "argv", "summary_file", "env"};
constexpr std::string_view kRunnerKinds[] = {"builtin", "command"};
// What forgehand itself sets for an agent CLI; the config cannot point them elsewhere.
constexpr std::string_view kRunnerReservedEnv[] = {"OPENAI_BASE_URL", "OPENAI_API_BASE",
                                                   "OPENAI_API_KEY", "OPENAI_MODEL"};
constexpr std::string_view kPriceKeys[] = {"input_per_million", "output_per_million"};
constexpr std::string_view kProviderKinds[] = {"openai", "openai-compatible", "azure-openai",
                                               "anthropic", "gemini"};

bool valid_instance_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  auto allowed = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
  };
  return std::all_of(name.begin(), name.end(), allowed) && name.front() != '.' &&
         name.front() != '-';
}

bool is_http_url(std::string_view url) {
  return (url.starts_with("http://") && url.size() > 7) ||
         (url.starts_with("https://") && url.size() > 8);
}

std::string default_api_url(ForgeKind kind) {
  switch (kind) {
    case ForgeKind::github:
      return "https://api.github.com";
    case ForgeKind::gitlab:
      return "https://gitlab.com/api/v4";
    case ForgeKind::gitea:
      return "https://gitea.com/api/v1";
    case ForgeKind::forgejo:
      return "https://codeberg.org/api/v1";
  }
  return {};
}

}  // namespace

bool parse_listen_address(std::string_view text, std::string& host, int& port) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  std::string_view host_part = text.substr(0, colon);
  std::string_view port_part = text.substr(colon + 1);
  if (host_part.front() == '[' && host_part.back() == ']') {
    host_part = host_part.substr(1, host_part.size() - 2);
  }
  if (host_part.empty() || port_part.empty() || port_part.size() > 5) return false;
  int value = 0;
  for (char c : port_part) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  if (value > 65535) return false;
  host = std::string(host_part);
  port = value;
  return true;
}

namespace {

std::string absolute_from(std::string_view base_dir, const std::string& path) {
  fs::path p(path);
  if (p.is_absolute()) return p.lexically_normal().string();
  return (fs::path(base_dir) / p).lexically_normal().string();
}

void read_secret_ref(Checker& check, const YAML::Node& node, const std::string& path,
                     SecretRef& out) {
  auto value = check.string(node, path);
  if (!value) return;
  if (!is_secret_reference(*value)) {
    check.error(node, path,
                "must be a reference, env:NAME or file:PATH; never put the secret itself in the "
                "config");
    return;
  }
  out.reference = *value;
  out.location = check.where(node, path);
}

void read_instance(Checker& check, const YAML::Node& node, const std::string& path,
                   ServerConfig& config) {
  if (!check.is_map(node, path)) return;
  check.check_keys(node, path, kInstanceKeys);
  InstanceConfig instance;
  bool complete = true;

  if (YAML::Node name = node["name"]) {
    if (auto value = check.string(name, path + ".name")) {
      if (!valid_instance_name(*value)) {
        check.error(name, path + ".name",
                    "must be 1-64 characters of a-z, 0-9, '-', '_' or '.' (it becomes the URL "
                    "path /hooks/<name>)");
        complete = false;
      } else if (config.find_instance(*value) != nullptr) {
        check.error(name, path + ".name", "instance \"" + *value + "\" is defined twice");
        complete = false;
      }
      instance.name = *value;
    }
  } else {
    check.error(node, path + ".name", "is required");
    complete = false;
  }

  if (YAML::Node type = node["type"]) {
    if (auto value = check.string(type, path + ".type")) {
      if (auto kind = parse_forge_kind(*value)) {
        instance.kind = *kind;
      } else {
        check.error(type, path + ".type", "must be one of github, gitlab, gitea, forgejo");
        complete = false;
      }
    }
  } else {
    check.error(node, path + ".type", "is required (github, gitlab, gitea or forgejo)");
    complete = false;
  }

  if (YAML::Node api_url = node["api_url"]) {
    if (auto value = check.string(api_url, path + ".api_url")) {
      if (!is_http_url(*value)) {
        check.error(api_url, path + ".api_url", "must be an http:// or https:// URL");
      }
      while (value->ends_with('/')) value->pop_back();
      instance.api_url = *value;
    }
  } else if (complete) {
    instance.api_url = default_api_url(instance.kind);
  }

  if (YAML::Node secret = node["webhook_secret"]) {
    read_secret_ref(check, secret, path + ".webhook_secret", instance.webhook_secret);
  }
  if (YAML::Node token = node["signing_token"]) {
    if (complete && instance.kind != ForgeKind::gitlab) {
      check.error(token, path + ".signing_token",
                  "is only for gitlab instances (GitLab's webhook signing token)");
    }
    read_secret_ref(check, token, path + ".signing_token", instance.signing_token);
  }
  bool github = complete && instance.kind == ForgeKind::github;
  if (YAML::Node app_id = node["app_id"]) {
    if (complete && !github) check.error(app_id, path + ".app_id", "is only for github instances");
    if (auto value = check.string(app_id, path + ".app_id")) instance.app_id = *value;
  }
  if (YAML::Node key = node["private_key"]) {
    if (complete && !github) {
      check.error(key, path + ".private_key", "is only for github instances (the App's key)");
    }
    read_secret_ref(check, key, path + ".private_key", instance.private_key);
  }
  if (github && instance.private_key.configured() != !instance.app_id.empty()) {
    check.error(node, path, "a GitHub App needs both app_id and private_key");
  }
  if (YAML::Node token = node["token"]) {
    if (github) {
      check.error(token, path + ".token",
                  "github instances authenticate as an App: use app_id and private_key");
    }
    read_secret_ref(check, token, path + ".token", instance.token);
  }
  if (YAML::Node token_type = node["token_type"]) {
    if (complete && instance.kind != ForgeKind::gitlab) {
      check.error(token_type, path + ".token_type", "is only for gitlab instances");
    }
    if (auto value = check.string(token_type, path + ".token_type")) {
      if (*value != "access" && *value != "oauth") {
        check.error(token_type, path + ".token_type",
                    "must be access (personal, project or group access token) or oauth");
      }
      instance.oauth_token = *value == "oauth";
    }
  }
  if (YAML::Node bot_login = node["bot_login"]) {
    if (auto value = check.string(bot_login, path + ".bot_login")) instance.bot_login = *value;
  }
  if (YAML::Node insecure = node["insecure_no_secret"]) {
    if (auto value = check.boolean(insecure, path + ".insecure_no_secret")) {
      instance.insecure_no_secret = *value;
    }
  }

  bool has_secret = instance.webhook_secret.configured() || instance.signing_token.configured();
  if (!has_secret && !instance.insecure_no_secret && complete) {
    check.error(node, path,
                "has no webhook_secret: anyone could send it webhooks; configure one, or set "
                "insecure_no_secret: true to accept unsigned deliveries");
  }
  if (has_secret && instance.insecure_no_secret) {
    check.error(node["insecure_no_secret"], path + ".insecure_no_secret",
                "contradicts the configured secret; remove one of them");
  }
  config.instances.push_back(std::move(instance));
}

void read_store(Checker& check, const YAML::Node& node, std::string_view data_dir,
                StoreConfig& store) {
  if (!check.is_map(node, "store")) return;
  check.check_keys(node, "store", kStoreKeys);
  if (YAML::Node driver = node["driver"]) {
    if (auto value = check.string(driver, "store.driver")) {
      if (*value != "sqlite") {
        check.error(driver, "store.driver", "must be sqlite (the only driver in this version)");
      }
      store.driver = *value;
    }
  }
  if (YAML::Node path = node["path"]) {
    if (auto value = check.string(path, "store.path")) {
      store.path = absolute_from(data_dir, *value);
    }
  }
}

void read_workers(Checker& check, const YAML::Node& node, WorkerConfig& workers) {
  if (!check.is_map(node, "workers")) return;
  check.check_keys(node, "workers", kWorkerKeys);
  if (YAML::Node count = node["count"]) {
    if (auto value = check.integer(count, "workers.count", 1, 256)) {
      workers.count = static_cast<int>(*value);
    }
  }
  if (YAML::Node attempts = node["max_attempts"]) {
    if (auto value = check.integer(attempts, "workers.max_attempts", 1, 100)) {
      workers.max_attempts = static_cast<int>(*value);
    }
  }
  if (YAML::Node initial = node["retry_initial_seconds"]) {
    if (auto value = check.integer(initial, "workers.retry_initial_seconds", 1, 86400)) {
      workers.retry_initial = std::chrono::seconds(*value);
    }
  }
  if (YAML::Node max = node["retry_max_seconds"]) {
    if (auto value = check.integer(max, "workers.retry_max_seconds", 1, 7 * 86400)) {
      workers.retry_max = std::chrono::seconds(*value);
    }
  }
}

std::string default_provider_url(std::string_view kind) {
  if (kind == "openai") return "https://api.openai.com/v1";
  if (kind == "anthropic") return "https://api.anthropic.com";
  if (kind == "gemini") return "https://generativelanguage.googleapis.com/v1beta";
  return {};  // openai-compatible and azure-openai name their own endpoint
}

void read_provider(Checker& check, const YAML::Node& node, const std::string& path,
                   ServerConfig& config) {
  if (!check.is_map(node, path)) return;
  check.check_keys(node, path, kProviderKeys);
  ProviderConfig provider;
  if (YAML::Node name = node["name"]) {
    if (auto value = check.string(name, path + ".name")) {
      if (!valid_instance_name(*value)) {
        check.error(name, path + ".name", "must be 1-64 characters of a-z, 0-9, '-', '_' or '.'");
      }
      for (const ProviderConfig& other : config.providers) {
        if (other.name == *value) {
          check.error(name, path + ".name", "provider \"" + *value + "\" is defined twice");
        }
      }
      provider.name = *value;
    }
  } else {
    check.error(node, path + ".name", "is required");
  }
  if (YAML::Node kind = node["kind"]) {
    if (auto value = check.string(kind, path + ".kind")) {
      if (std::find(std::begin(kProviderKinds), std::end(kProviderKinds), *value) ==
          std::end(kProviderKinds)) {
        std::string message =
            "must be one of openai, openai-compatible, azure-openai, anthropic, gemini";
        if (auto guess = text::closest_match(*value, kProviderKinds)) {
          message += " (did you mean " + *guess + "?)";
        }
        check.error(kind, path + ".kind", message);
      }
      provider.kind = *value;
    }
  } else {
    check.error(node, path + ".kind", "is required");
  }
  provider.base_url = default_provider_url(provider.kind);
  if (YAML::Node url = node["base_url"]) {
    if (auto value = check.string(url, path + ".base_url")) {
      if (!is_http_url(*value)) check.error(url, path + ".base_url", "must be an http(s):// URL");
      while (value->ends_with('/')) value->pop_back();
      provider.base_url = *value;
    }
  } else if (provider.base_url.empty() &&
             (provider.kind == "openai-compatible" || provider.kind == "azure-openai")) {
    check.error(node, path + ".base_url", "is required for " + provider.kind + " providers");
  }
  if (YAML::Node model = node["model"]) {
    if (auto value = check.string(model, path + ".model")) provider.model = *value;
  } else {
    check.error(
        node, path + ".model",
        provider.kind == "azure-openai" ? "is required (the deployment name)" : "is required");
  }
  if (YAML::Node version = node["api_version"]) {
    if (provider.kind != "azure-openai") {
      check.error(version, path + ".api_version", "is only for azure-openai providers");
    }
    if (auto value = check.string(version, path + ".api_version")) provider.api_version = *value;
  } else if (provider.kind == "azure-openai") {
    provider.api_version = "2024-10-21";
  }
  if (YAML::Node credential = node["credential"]) {
    read_secret_ref(check, credential, path + ".credential", provider.credential);
  } else if (!provider.kind.empty() && provider.kind != "openai-compatible") {
    check.error(node, path + ".credential", "is required for " + provider.kind + " providers");
  }
  if (YAML::Node headers = node["headers"]) {
    if (!headers.IsMap()) {
      check.error(headers, path + ".headers", "must be a mapping of header names to values");
    } else {
      for (auto it = headers.begin(); it != headers.end(); ++it) {
        std::string key = it->first.Scalar();
        if (auto value = check.string(it->second, path + ".headers." + key)) {
          provider.headers.emplace_back(key, *value);
        }
      }
    }
  }
  if (YAML::Node timeout = node["timeout_seconds"]) {
    if (auto value = check.integer(timeout, path + ".timeout_seconds", 1, 3600)) {
      provider.timeout = std::chrono::seconds(*value);
    }
  }
  if (YAML::Node max = node["max_output_tokens"]) {
    if (auto value = check.integer(max, path + ".max_output_tokens", 1, 1'000'000)) {
      provider.max_output_tokens = *value;
    }
  }
  if (YAML::Node price = node["price"]) {
    if (check.is_map(price, path + ".price")) {
      check.check_keys(price, path + ".price", kPriceKeys);
      if (YAML::Node input = price["input_per_million"]) {
        if (auto value = check.non_negative_number(input, path + ".price.input_per_million")) {
          provider.input_price_per_million = *value;
        }
      }
      if (YAML::Node output = price["output_per_million"]) {
        if (auto value = check.non_negative_number(output, path + ".price.output_per_million")) {
          provider.output_price_per_million = *value;
        }
      }
    }
  }
  if (YAML::Node boundary = node["data_boundary"]) {
    if (auto value = check.string(boundary, path + ".data_boundary")) {
      if (*value != "local" && *value != "approved" && *value != "external") {
        check.error(boundary, path + ".data_boundary", "must be local, approved or external");
      }
      provider.data_boundary = *value;
    }
  }
  if (YAML::Node failover = node["failover_on_auth_errors"]) {
    if (auto value = check.boolean(failover, path + ".failover_on_auth_errors")) {
      provider.failover_on_auth_errors = *value;
    }
  }
  config.providers.push_back(std::move(provider));
}

void read_routes(Checker& check, const YAML::Node& node, ServerConfig& config) {
  if (!check.is_map(node, "routes")) return;
  for (auto it = node.begin(); it != node.end(); ++it) {
    std::string name = it->first.Scalar();
    std::string path = "routes." + name;
    RouteConfig route{name, {}};
    if (!it->second.IsSequence() || it->second.size() == 0) {
      check.error(it->second, path, "must be a non-empty list of provider names, tried in order");
      continue;
    }
    for (std::size_t i = 0; i < it->second.size(); ++i) {
      std::string item_path = path + "[" + std::to_string(i) + "]";
      auto provider = check.string(it->second[i], item_path);
      if (!provider) continue;
      bool known = std::any_of(config.providers.begin(), config.providers.end(),
                               [&](const ProviderConfig& p) { return p.name == *provider; });
      if (!known) {
        check.error(it->second[i], item_path, "no provider named \"" + *provider + "\"");
      }
      route.providers.push_back(*provider);
    }
    config.routes.push_back(std::move(route));
  }
}

std::optional<SandboxKind> parse_sandbox_kind(Checker& check, const YAML::Node& node,
                                              std::string_view path) {
  auto value = check.string(node, path);
  if (!value) return std::nullopt;
  if (*value == "bubblewrap") return SandboxKind::bubblewrap;
  if (*value == "none") return SandboxKind::none;
  check.error(node, path,
              "must be bubblewrap or none (none runs commands without isolation; say so only "
              "when bubblewrap cannot be installed)");
  return std::nullopt;
}

// `sandbox: none` is accepted as short for `sandbox: {kind: none}`, the form the docs use when
// bubblewrap is unavailable.
void read_sandbox(Checker& check, const YAML::Node& node, std::string_view base_dir,
                  SandboxConfig& sandbox) {
  if (node.IsScalar()) {
    if (auto kind = parse_sandbox_kind(check, node, "sandbox")) sandbox.kind = *kind;
    return;
  }
  if (!check.is_map(node, "sandbox")) return;
  check.check_keys(node, "sandbox", kSandboxKeys);
  if (YAML::Node kind = node["kind"]) {
    if (auto value = parse_sandbox_kind(check, kind, "sandbox.kind")) sandbox.kind = *value;
  }
  if (YAML::Node bwrap = node["bwrap_path"]) {
    if (auto value = check.string(bwrap, "sandbox.bwrap_path")) {
      if (value->empty()) check.error(bwrap, "sandbox.bwrap_path", "must not be empty");
      sandbox.bwrap_path =
          value->find('/') == std::string::npos ? *value : absolute_from(base_dir, *value);
    }
  }
  constexpr long long kMaxId = 4294967294LL;  // (uid_t)-1 means "unchanged" to the kernel
  for (auto [key, out] : {std::pair{"uid", &sandbox.uid}, std::pair{"gid", &sandbox.gid}}) {
    YAML::Node id = node[key];
    if (!id) continue;
    std::string path = std::string("sandbox.") + key;
    if (auto value = check.integer(id, path, 0, kMaxId)) {
      if (*value == 0) {
        check.error(id, path, "must not be 0: commands never run as root");
      } else {
        *out = static_cast<std::uint32_t>(*value);
      }
    }
  }
  if (YAML::Node timeout = node["timeout_seconds"]) {
    if (auto value = check.integer(timeout, "sandbox.timeout_seconds", 1, 86400)) {
      sandbox.timeout = std::chrono::seconds(*value);
    }
  }
  if (YAML::Node limit = node["output_limit_bytes"]) {
    if (auto value = check.integer(limit, "sandbox.output_limit_bytes", 1024, 64LL << 20)) {
      sandbox.output_limit_bytes = static_cast<std::size_t>(*value);
    }
  }
  struct Limit {
    const char* key;
    std::int64_t* out;
    long long min;
    long long max;
  };
  for (const Limit& limit :
       {Limit{"cpu_seconds", &sandbox.cpu_seconds, 1, 86400},
        Limit{"address_space_bytes", &sandbox.address_space_bytes, 64LL << 20, 1LL << 50},
        Limit{"file_size_bytes", &sandbox.file_size_bytes, 1LL << 20, 1LL << 50},
        Limit{"open_files", &sandbox.open_files, 16, 1 << 20},
        Limit{"processes", &sandbox.processes, 16, 1 << 22}}) {
    if (YAML::Node value_node = node[limit.key]) {
      if (auto value = check.integer(value_node, std::string("sandbox.") + limit.key, limit.min,
                                     limit.max)) {
        *limit.out = *value;
      }
    }
  }
  if (YAML::Node hide = node["hide_paths"]) {
    if (!hide.IsSequence()) {
      check.error(hide, "sandbox.hide_paths", "must be a list of directories");
    } else {
      for (std::size_t i = 0; i < hide.size(); ++i) {
        std::string path = "sandbox.hide_paths[" + std::to_string(i) + "]";
        if (auto value = check.string(hide[i], path)) {
          std::string absolute = absolute_from(base_dir, *value);
          if (absolute == "/") {
            check.error(hide[i], path, "must not be / (it would hide the whole system)");
          } else {
            sandbox.hide_paths.push_back(absolute);
          }
        }
      }
    }
  }
}

// The `{word}` placeholders in `text`, in order.
std::vector<std::string> placeholders_in(std::string_view text) {
  std::vector<std::string> found;
  for (std::size_t open = text.find('{'); open != std::string_view::npos;
       open = text.find('{', open + 1)) {
    std::size_t close = open + 1;
    while (close < text.size() &&
           ((text[close] >= 'a' && text[close] <= 'z') || text[close] == '_')) {
      ++close;
    }
    if (close > open + 1 && close < text.size() && text[close] == '}') {
      found.emplace_back(text.substr(open, close - open + 1));
    }
  }
  return found;
}

// Reports placeholders forgehand does not know; true when all are known.
bool known_placeholders(Checker& check, const YAML::Node& node, const std::string& path,
                        const std::vector<std::string>& found) {
  bool known = true;
  for (const std::string& placeholder : found) {
    if (std::find(std::begin(kRunnerPlaceholders), std::end(kRunnerPlaceholders), placeholder) !=
        std::end(kRunnerPlaceholders)) {
      continue;
    }
    std::string message = "unknown placeholder " + placeholder +
                          " (known: {task_file}, {task}, "
                          "{model}, {summary_file}, {base_url}, {api_key})";
    if (auto guess = text::closest_match(placeholder, kRunnerPlaceholders)) {
      message += "; did you mean " + *guess + "?";
    }
    check.error(node, path, message);
    known = false;
  }
  return known;
}

bool valid_env_name(std::string_view name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// A relative path that stays in the checkout and out of .git.
bool inside_checkout(std::string_view path) {
  if (path.empty() || path.starts_with('/')) return false;
  while (true) {
    std::size_t slash = path.find('/');
    std::string_view part = path.substr(0, slash);
    if (part == ".." || part == ".git") return false;
    if (slash == std::string_view::npos) return true;
    path.remove_prefix(slash + 1);
  }
}

void read_runner(Checker& check, const YAML::Node& node, RunnerConfig& runner) {
  if (!check.is_map(node, "runner")) return;
  check.check_keys(node, "runner", kRunnerKeys);
  if (YAML::Node kind = node["kind"]) {
    if (auto value = check.choice(kind, "runner.kind", kRunnerKinds)) {
      runner.kind = *value == "command" ? RunnerKind::command : RunnerKind::builtin;
    }
  }
  bool command = runner.kind == RunnerKind::command;
  for (const char* key : {"argv", "summary_file", "env"}) {
    if (!command && node[key]) {
      check.error(node[key], std::string("runner.") + key, "is only for kind: command");
    }
  }
  if (!command) return;

  if (YAML::Node summary = node["summary_file"]) {
    if (auto value = check.string(summary, "runner.summary_file")) {
      if (!inside_checkout(*value)) {
        check.error(summary, "runner.summary_file",
                    "must be a path relative to the checkout, outside .git and without ..");
      }
      runner.summary_file = *value;
    }
  }
  if (YAML::Node argv = node["argv"]) {
    if (auto values = check.strings(argv, "runner.argv")) {
      if (values->empty() || values->front().empty()) {
        check.error(argv, "runner.argv", "must start with the agent CLI to run");
      }
      for (std::size_t i = 0; i < values->size(); ++i) {
        std::string path = "runner.argv[" + std::to_string(i) + "]";
        const std::string& arg = (*values)[i];
        std::vector<std::string> found = placeholders_in(arg);
        if (!known_placeholders(check, argv[i], path, found)) continue;
        for (const std::string& placeholder : found) {
          if (placeholder == "{api_key}") {
            check.error(argv[i], path,
                        "{api_key} cannot be an argument: every user of the host can read a "
                        "command line; the session token is in OPENAI_API_KEY");
          } else if (placeholder == "{task}" && arg != "{task}") {
            check.error(argv[i], path,
                        "{task} must be a whole argument (the task is not shell-quoted); use "
                        "{task_file} inside a longer argument");
          } else if (placeholder == "{summary_file}" && runner.summary_file.empty()) {
            check.error(argv[i], path, "{summary_file} needs runner.summary_file");
          }
        }
      }
      runner.argv = std::move(*values);
    }
  } else {
    check.error(node, "runner.argv",
                "is required for kind: command (the agent CLI and its "
                "arguments)");
  }
  if (YAML::Node env = node["env"]) {
    if (!check.is_map(env, "runner.env")) return;
    for (auto it = env.begin(); it != env.end(); ++it) {
      std::string name = it->first.Scalar();
      std::string path = "runner.env." + name;
      if (!valid_env_name(name)) {
        check.error(it->first, path, "is not a valid environment variable name");
        continue;
      }
      if (name.starts_with("FORGEHAND_") ||
          std::find(std::begin(kRunnerReservedEnv), std::end(kRunnerReservedEnv), name) !=
              std::end(kRunnerReservedEnv)) {
        check.error(it->first, path,
                    "is set by forgehand for every agent CLI (the model proxy's URL and the "
                    "session's token and files)");
        continue;
      }
      auto value = check.string(it->second, path);
      if (!value) continue;
      std::vector<std::string> found = placeholders_in(*value);
      if (!known_placeholders(check, it->second, path, found)) continue;
      if (std::find(found.begin(), found.end(), "{task}") != found.end()) {
        check.error(it->second, path, "{task} is for argv; use {task_file} here");
        continue;
      }
      if (std::find(found.begin(), found.end(), "{summary_file}") != found.end() &&
          runner.summary_file.empty()) {
        check.error(it->second, path, "{summary_file} needs runner.summary_file");
        continue;
      }
      runner.env.emplace_back(std::move(name), std::move(*value));
    }
  }
}

}  // namespace

std::vector<std::string> ServerConfig::route_providers(std::string_view route) const {
  for (const RouteConfig& candidate : routes) {
    if (candidate.name == route) return candidate.providers;
  }
  return {};
}

const InstanceConfig* ServerConfig::find_instance(std::string_view name) const {
  for (const InstanceConfig& instance : instances) {
    if (instance.name == name) return &instance;
  }
  return nullptr;
}

Result<ServerConfig> parse_server_config(std::string_view yaml, std::string_view source_name,
                                         std::string_view base_dir) {
  Checker check{std::string(source_name)};
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    std::ostringstream out;
    out << source_name << ":" << e.mark.line + 1 << ":" << e.mark.column + 1 << ": " << e.msg;
    return fail(ErrorCode::config, out.str());
  }

  ServerConfig config;
  config.source = std::string(source_name);
  config.data_dir = absolute_from(base_dir, "data");
  if (!root.IsMap()) {
    return fail(ErrorCode::config,
                std::string(source_name) + ": the top level must be a mapping of settings");
  }
  check.check_keys(root, "", kTopKeys);

  if (YAML::Node listen = root["listen"]) {
    if (auto value = check.string(listen, "listen")) {
      if (!parse_listen_address(*value, config.listen_host, config.listen_port)) {
        check.error(listen, "listen", "must be host:port, e.g. 127.0.0.1:8080 or [::1]:8080");
      }
    }
  }
  if (YAML::Node proxy = root["model_proxy_listen"]) {
    if (auto value = check.string(proxy, "model_proxy_listen")) {
      std::string host;
      if (!parse_listen_address(*value, host, config.model_proxy_port)) {
        check.error(proxy, "model_proxy_listen", "must be host:port, e.g. 127.0.0.1:0");
      } else if (host != "127.0.0.1" && host != "::1" && host != "localhost") {
        check.error(proxy, "model_proxy_listen",
                    "must be a loopback address: the proxy spends the configured providers' keys");
      } else {
        config.model_proxy_host = host;
      }
    }
  }
  if (YAML::Node url = root["public_url"]) {
    if (auto value = check.string(url, "public_url")) {
      if (!is_http_url(*value)) check.error(url, "public_url", "must be an http(s):// URL");
      while (value->ends_with('/')) value->pop_back();
      config.public_url = *value;
    }
  }
  if (YAML::Node dir = root["data_dir"]) {
    if (auto value = check.string(dir, "data_dir"))
      config.data_dir = absolute_from(base_dir, *value);
  }
  if (YAML::Node max_body = root["max_body_bytes"]) {
    if (auto value = check.integer(max_body, "max_body_bytes", 1024, 1LL << 30)) {
      config.max_body_bytes = static_cast<std::size_t>(*value);
    }
  }
  if (YAML::Node threads = root["http_threads"]) {
    if (auto value = check.integer(threads, "http_threads", 2, 1024)) {
      config.http_threads = static_cast<int>(*value);
    }
  }
  if (YAML::Node retention = root["delivery_retention_days"]) {
    if (auto value = check.integer(retention, "delivery_retention_days", 3, 3650)) {
      config.delivery_retention = std::chrono::hours(24 * *value);
    }
  }
  if (YAML::Node bundle = root["ca_bundle"]) {
    if (auto value = check.string(bundle, "ca_bundle")) {
      config.ca_bundle = absolute_from(base_dir, *value);
      if (!fs::exists(config.ca_bundle)) check.error(bundle, "ca_bundle", "file does not exist");
    }
  }
  if (YAML::Node templates = root["templates_dir"]) {
    if (auto value = check.string(templates, "templates_dir")) {
      config.templates_dir = absolute_from(base_dir, *value);
      std::error_code ec;
      if (!fs::is_directory(config.templates_dir, ec)) {
        check.error(templates, "templates_dir",
                    fs::exists(config.templates_dir, ec) ? "is not a directory"
                                                         : "directory does not exist");
      }
    }
  }
  if (YAML::Node currency = root["currency"]) {
    if (auto value = check.string(currency, "currency")) {
      // Shown after every cost in comments: a label, not a sentence.
      bool label = !value->empty() && value->size() <= 16 &&
                   std::none_of(value->begin(), value->end(), [](char c) {
                     return static_cast<unsigned char>(c) <= ' ' || c == 0x7F;
                   });
      if (!label) {
        check.error(currency, "currency",
                    "must be a short label without spaces, such as USD, EUR or €");
      }
      config.currency = *value;
    }
  }
  config.store.path = absolute_from(config.data_dir, "forgehand.db");
  if (YAML::Node store = root["store"]) read_store(check, store, config.data_dir, config.store);
  if (YAML::Node workers = root["workers"]) read_workers(check, workers, config.workers);
  if (config.workers.retry_max < config.workers.retry_initial) {
    check.error(root["workers"], "workers.retry_max_seconds",
                "must not be less than retry_initial_seconds");
  }

  if (YAML::Node instances = root["instances"]) {
    if (!instances.IsSequence()) {
      check.error(instances, "instances", "must be a list of forge instances");
    } else {
      for (std::size_t i = 0; i < instances.size(); ++i) {
        read_instance(check, instances[i], "instances[" + std::to_string(i) + "]", config);
      }
    }
  }
  if (YAML::Node providers = root["providers"]) {
    if (!providers.IsSequence()) {
      check.error(providers, "providers", "must be a list of model providers");
    } else {
      for (std::size_t i = 0; i < providers.size(); ++i) {
        read_provider(check, providers[i], "providers[" + std::to_string(i) + "]", config);
      }
    }
  }
  if (YAML::Node routes = root["routes"]) read_routes(check, routes, config);
  // After routes: the policy names routes and checks their providers' data boundaries.
  if (YAML::Node policy = root["policy"]) read_policy(check, policy, config);
  if (YAML::Node sandbox = root["sandbox"]) read_sandbox(check, sandbox, base_dir, config.sandbox);
  if (YAML::Node runner = root["runner"]) read_runner(check, runner, config.runner);
  // The store, generated secrets and other jobs' checkouts live there.
  config.sandbox.hide_paths.push_back(config.data_dir);
  if (config.instances.empty() && check.errors().empty()) {
    check.error(root, "instances", "at least one forge instance is required");
  }
  if (config.public_url.empty()) {
    std::string host = config.listen_host.find(':') != std::string::npos
                           ? "[" + config.listen_host + "]"
                           : config.listen_host;
    config.public_url = "http://" + host + ":" + std::to_string(config.listen_port);
  }

  if (!check.errors().empty()) return fail(ErrorCode::config, check.report());
  return config;
}

Result<ServerConfig> load_server_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(ErrorCode::config, path + ": cannot be read");
  std::ostringstream content;
  content << in.rdbuf();
  fs::path base = fs::absolute(fs::path(path)).parent_path();
  return parse_server_config(content.str(), path, base.string());
}

ServerConfig embedded_default_config(const std::string& data_dir) {
  ServerConfig config;
  config.source = "embedded defaults";
  config.data_dir = fs::absolute(fs::path(data_dir)).lexically_normal().string();
  config.store.path = (fs::path(config.data_dir) / "forgehand.db").string();
  config.public_url = "http://127.0.0.1:8080";
  config.generated_secret = true;
  config.sandbox.hide_paths.push_back(config.data_dir);
  std::string secret_file = (fs::path(config.data_dir) / "webhook-secret").string();
  for (ForgeKind kind : kAllForgeKinds) {
    InstanceConfig instance;
    instance.name = std::string(to_string(kind));
    instance.kind = kind;
    instance.api_url = default_api_url(kind);
    instance.webhook_secret = SecretRef{"file:" + secret_file, "embedded defaults: webhook_secret"};
    config.instances.push_back(std::move(instance));
  }
  return config;
}

}  // namespace forgehand
