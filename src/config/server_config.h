#pragma once
// The server configuration (config/forgehand.example.yaml documents every key): where to listen,
// where data lives, and the forge instances that may send webhooks. Loading validates everything
// and reports each problem as `file:line:column: key.path: message`. Plain values.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/policy_config.h"
#include "forgehand/error.h"
#include "forgehand/forge_kind.h"

namespace forgehand {

// A secret reference (`env:NAME` / `file:PATH`) and where it was configured, so an unresolvable
// reference is reported at its line.
struct SecretRef {
  std::string reference;  // empty when not configured
  std::string location;   // "forgehand.yaml:12:21: instances[0].webhook_secret"

  bool configured() const { return !reference.empty(); }
};

struct InstanceConfig {
  std::string name;  // the webhook route is /hooks/<name>
  ForgeKind kind = ForgeKind::github;
  std::string api_url;
  SecretRef webhook_secret;  // HMAC secret, or GitLab's X-Gitlab-Token
  SecretRef signing_token;   // GitLab only: the `whsec_...` webhook signing token
  bool insecure_no_secret = false;
  // forgehand's account on this forge (GitHub App: "<app-slug>[bot]"), so it never acts on its
  // own comments; empty when not configured.
  std::string bot_login;
  // API credentials; without them events are still received but nothing is said on the forge.
  std::string app_id;     // GitHub App: client id (recommended) or app id
  SecretRef private_key;  // GitHub App: its private key (PEM file)
  SecretRef token;        // GitLab, Gitea, Forgejo: the bot's access token
  // GitLab: an OAuth application's token is sent as Authorization: Bearer, an access token
  // (personal, project, group) as PRIVATE-TOKEN.
  bool oauth_token = false;
};

// A model provider forgehand may call; keys stay in forgehand, referenced like every secret.
struct ProviderConfig {
  std::string name;
  std::string kind;  // openai, openai-compatible, azure-openai, anthropic, gemini
  std::string base_url;
  std::string model;        // azure-openai: the deployment name
  std::string api_version;  // azure-openai only
  SecretRef credential;     // optional for openai-compatible (local servers)
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::seconds timeout{120};
  std::int64_t max_output_tokens = 4096;
  double input_price_per_million = 0;
  double output_price_per_million = 0;
  std::string data_boundary = "external";  // local, approved, external: what policy may allow
  bool failover_on_auth_errors = false;
};

// A route: the providers to try, in order.
struct RouteConfig {
  std::string name;
  std::vector<std::string> providers;
};

struct StoreConfig {
  std::string driver = "sqlite";
  std::string path;  // absolute once loaded
};

struct WorkerConfig {
  int count = 2;
  int max_attempts = 5;
  std::chrono::seconds retry_initial{10};
  std::chrono::seconds retry_max{600};
};

enum class SandboxKind { bubblewrap, none };

// How the runner's commands are isolated and bounded (see src/runner/sandbox.h). `none` keeps
// the uid, limits, timeout and cleared environment but isolates nothing; results say so.
struct SandboxConfig {
  SandboxKind kind = SandboxKind::bubblewrap;
  std::string bwrap_path = "bwrap";  // a name looked up on PATH, or a path
  // When forgehand runs as root, commands run as this uid and gid (never root: the kernel does
  // not enforce the process limit for root).
  std::uint32_t uid = 65534;
  std::uint32_t gid = 65534;
  std::chrono::seconds timeout{600};
  std::size_t output_limit_bytes = 64 * 1024;
  std::int64_t cpu_seconds = 600;                // per process
  std::int64_t address_space_bytes = 8LL << 30;  // per process
  std::int64_t file_size_bytes = 1LL << 30;      // largest file a command may write
  std::int64_t open_files = 1024;                // per process
  std::int64_t processes = 256;                  // per uid, shared by concurrent commands
  std::vector<std::string> hide_paths;           // absolute; data_dir is always one of them
};

enum class RunnerKind { builtin, command };

// Placeholders an agent CLI's argv and environment values may hold (src/runner/external_agent.h
// says what each becomes). `{task}` stands alone as an argument; `{api_key}` never goes into argv.
inline constexpr std::string_view kRunnerPlaceholders[] = {
    "{task_file}", "{task}", "{model}", "{summary_file}", "{base_url}", "{api_key}"};

// Who does the coding: the built-in agent, or an agent CLI (Aider, OpenCode, Codex CLI, ...) run
// in the sandbox against the model proxy.
struct RunnerConfig {
  RunnerKind kind = RunnerKind::builtin;
  std::vector<std::string> argv;  // command: the CLI and its arguments
  // command: where the CLI writes its final message, relative to the checkout; empty: the last
  // paragraph of its output is the summary.
  std::string summary_file;
  std::vector<std::pair<std::string, std::string>> env;  // command: added to its environment
};

struct ServerConfig {
  std::string source;  // the file it came from, or "embedded defaults"
  std::string listen_host = "127.0.0.1";
  int listen_port = 8080;
  std::string public_url;  // what forges call; defaults to http://<listen>
  std::string data_dir;    // absolute once loaded
  std::size_t max_body_bytes = 25 * 1024 * 1024;
  int http_threads = 64;
  std::chrono::hours delivery_retention{24 * 14};
  // Extra CA certificates (PEM) trusted for forge APIs, e.g. a self-managed forge's internal CA.
  std::string ca_bundle;
  // Template overrides (<name>.md.mustache) layered over the built-in templates and under a
  // repository's .forgehand/templates/ (render/templates.h); absolute once loaded; empty: none.
  std::string templates_dir;
  // The label shown after costs in comments ("USD", "€"): the currency of the providers' prices
  // and of budgets. Empty: costs are plain numbers.
  std::string currency;
  StoreConfig store;
  WorkerConfig workers;
  std::vector<InstanceConfig> instances;
  std::vector<ProviderConfig> providers;
  std::vector<RouteConfig> routes;
  PolicyConfig policy;
  // The keyless model proxy agent CLIs call instead of a provider; port 0: any free port.
  std::string model_proxy_host = "127.0.0.1";
  int model_proxy_port = 0;
  SandboxConfig sandbox;
  RunnerConfig runner;
  // True when the embedded defaults are in use: the webhook secret is generated on first start.
  bool generated_secret = false;

  const InstanceConfig* find_instance(std::string_view name) const;
  // The providers of a route, in the order they are tried; empty for an unknown route.
  std::vector<std::string> route_providers(std::string_view route) const;
};

// Parses and validates YAML text. Relative paths are resolved against `base_dir`.
// On error the message lists every problem found, one per line.
Result<ServerConfig> parse_server_config(std::string_view yaml, std::string_view source_name,
                                         std::string_view base_dir);

Result<ServerConfig> load_server_config(const std::string& path);

// "host:port" or "[v6]:port"; port 0 asks the OS for a free port. False on anything else.
bool parse_listen_address(std::string_view text, std::string& host, int& port);

// The zero-configuration setup `make run` uses: loopback:8080, data in `data_dir`, one instance
// of each forge kind, all sharing a webhook secret kept in `<data_dir>/webhook-secret`.
ServerConfig embedded_default_config(const std::string& data_dir);

}  // namespace forgehand
