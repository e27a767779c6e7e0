// The forgehand command line: wires configuration, store, workers and the HTTP intake together.

#include <signal.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <stop_token>
#include <thread>

#include "audit/audit_commands.h"
#include "config/server_config.h"
#include "dispatch/ci_handler.h"
#include "dispatch/comment_handler.h"
#include "dispatch/delivery_dispatcher.h"
#include "dispatch/delivery_workers.h"
#include "dispatch/job_queue.h"
#include "dispatch/outcome_recorder.h"
#include "dispatch/session_records.h"
#include "dispatch/session_runner.h"
#include "forges/forge_registry.h"
#include "policy/policy.h"
#include "providers/provider_check.h"
#include "providers/provider_set.h"
#include "proxy/model_proxy.h"
#include "render/templates.h"
#include "runner/index_pack.h"
#include "runner/model_bridge.h"
#include "runner/sandbox.h"
#include "runner/workspace.h"
#include "server/http_server.h"
#include "server/intake.h"
#include "server/verify.h"
#include "store/sqlite_store.h"
#include "triage/excerpt.h"
#include "util/crypto.h"
#include "util/http_client.h"
#include "util/log.h"
#include "util/redact.h"
#include "util/secret.h"

namespace fs = std::filesystem;

namespace forgehand {
namespace {

constexpr const char* kVersion = "0.1.0";

Result<ServerConfig> load_config(const std::string& path, const std::string& data_dir) {
  if (path.empty()) return embedded_default_config(data_dir);
  return load_server_config(path);
}

Result<void> override_listen(ServerConfig& config, const std::string& listen) {
  bool derived_url = config.public_url ==
                     "http://" + config.listen_host + ":" + std::to_string(config.listen_port);
  if (!parse_listen_address(listen, config.listen_host, config.listen_port)) {
    return fail(ErrorCode::config, "--listen must be host:port, e.g. 127.0.0.1:8080");
  }
  if (derived_url) {
    config.public_url = "http://" + config.listen_host + ":" + std::to_string(config.listen_port);
  }
  return {};
}

// The embedded defaults promise zero configuration: the first start creates the shared webhook
// secret, readable only by this user.
Result<void> ensure_generated_secret(const ServerConfig& config) {
  fs::path file = fs::path(config.data_dir) / "webhook-secret";
  if (fs::exists(file)) return {};
  std::string secret = crypto::hex_encode(crypto::random_bytes(32));
  mode_t old_mask = ::umask(077);
  std::ofstream out(file, std::ios::binary);
  out << secret << "\n";
  out.close();
  ::umask(old_mask);
  if (!out) return fail(ErrorCode::io, "cannot write " + file.string());
  return {};
}

Result<std::vector<IntakeInstance>> intake_instances(const ServerConfig& config) {
  std::vector<IntakeInstance> instances;
  for (const InstanceConfig& instance : config.instances) {
    auto secrets = resolve_webhook_secrets(instance);
    if (!secrets) return tl::unexpected(secrets.error());
    instances.push_back(IntakeInstance{instance.name, instance.kind, std::move(*secrets)});
  }
  return instances;
}

Result<Secret> resolve_if_configured(const SecretRef& reference) {
  if (!reference.configured()) return Secret();
  auto secret = resolve_secret(reference.reference);
  if (!secret) return tl::unexpected(secret.error().context(reference.location));
  return secret;
}

// One adapter per configured instance, with its API credentials resolved.
Result<std::vector<std::unique_ptr<Forge>>> make_forges(const ServerConfig& config,
                                                        const ApiDependencies& dependencies) {
  std::vector<std::unique_ptr<Forge>> forges;
  for (const InstanceConfig& instance : config.instances) {
    ForgeSettings settings{instance.name,
                           instance.kind,
                           instance.api_url,
                           instance.bot_login,
                           instance.app_id,
                           {},
                           {}};
    auto key = resolve_if_configured(instance.private_key);
    if (!key) return tl::unexpected(key.error());
    auto token = resolve_if_configured(instance.token);
    if (!token) return tl::unexpected(token.error());
    settings.private_key = std::move(*key);
    settings.token = std::move(*token);
    settings.oauth_token = instance.oauth_token;
    auto forge = make_forge(std::move(settings), dependencies);
    if (!forge) return tl::unexpected(forge.error());
    forges.push_back(std::move(*forge));
  }
  return forges;
}

void print_banner(const ServerConfig& config, int port) {
  // Port 0 was only a request for a free port; the URL needs the one the OS gave.
  std::string base = config.listen_port == 0
                         ? "http://" + config.listen_host + ":" + std::to_string(port)
                         : config.public_url;
  std::printf("forgehand %s is listening on %s:%d (config: %s)\n", kVersion,
              config.listen_host.c_str(), port, config.source.c_str());
  std::printf("store: %s\n\nWebhook URLs (set the secret and content type application/json):\n",
              config.store.path.c_str());
  for (const InstanceConfig& instance : config.instances) {
    std::string secret = instance.insecure_no_secret ? "NONE (insecure_no_secret)"
                                                     : instance.webhook_secret.reference;
    if (secret.empty()) secret = instance.signing_token.reference;
    std::printf("  %-10s %-8s %s/hooks/%s   secret: %s\n", instance.name.c_str(),
                std::string(to_string(instance.kind)).c_str(), base.c_str(), instance.name.c_str(),
                secret.c_str());
  }
  if (config.generated_secret) {
    std::printf(
        "\nNext: forges must reach this URL. Copy config/forgehand.example.yaml, set listen,\n"
        "public_url and your instances, then run: forgehand serve --config FILE\n"
        "(make run CONFIG=FILE). The secret above was generated for you; keep it private.\n");
  }
  std::fflush(stdout);
}

int serve(const std::string& config_path, const std::string& data_dir, const std::string& listen) {
  // Block the stop signals in every thread; this one waits for them below. Must happen before
  // any thread starts so none of them inherits an unblocked mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto config = load_config(config_path, data_dir);
  if (config && !listen.empty()) {
    if (auto overridden = override_listen(*config, listen); !overridden) {
      config = tl::unexpected(overridden.error());
    }
  }
  if (!config) {
    std::fprintf(stderr, "%s\n", config.error().message.c_str());
    return 2;
  }
  // Stored deliveries can carry private repository content: a new data dir is owner-only.
  std::error_code ec;
  if (fs::create_directories(config->data_dir, ec)) {
    fs::permissions(config->data_dir, fs::perms::owner_all, ec);
  }
  fs::create_directories(fs::path(config->store.path).parent_path(), ec);
  if (config->generated_secret) {
    if (auto made = ensure_generated_secret(*config); !made) {
      std::fprintf(stderr, "%s\n", made.error().message.c_str());
      return 2;
    }
  }
  auto instances = intake_instances(*config);
  if (!instances) {
    std::fprintf(stderr, "%s\n", instances.error().message.c_str());
    return 2;
  }

  metrics::Registry registry;
  auto& commit_seconds = registry.histogram(
      "forgehand_store_commit_seconds", "Duration of each grouped store commit, fsync included.",
      metrics::latency_buckets());
  auto& commit_writes = registry.counter(
      "forgehand_store_writes_total", "Writes committed by the store, all batches together.", {});
  auto store = SqliteStore::open(SqliteStoreOptions{
      config->store.path,
      [&](double seconds, std::size_t writes) {
        commit_seconds.observe(seconds);
        commit_writes.inc({}, static_cast<double>(writes));
      },
  });
  if (!store) {
    std::fprintf(stderr, "%s\n", store.error().message.c_str());
    return 2;
  }
  Store& db = **store;
  registry.gauge("forgehand_queue_depth", "Recorded deliveries not yet finished by a worker.",
                 [&db] {
                   auto depth = db.queue_depth();
                   return depth ? static_cast<double>(*depth) : -1.0;
                 });
  auto& processed = registry.counter("forgehand_deliveries_processed_total",
                                     "Deliveries workers finished with, by instance and result.",
                                     {"instance", "result"});

  DeliveryWorkerOptions worker_options;
  worker_options.count = config->workers.count;
  worker_options.max_attempts = config->workers.max_attempts;
  worker_options.retry_initial = config->workers.retry_initial;
  worker_options.retry_max = config->workers.retry_max;
  worker_options.retention = config->delivery_retention;
  worker_options.on_result = [&processed](const Delivery& delivery, DeliveryResult result) {
    static constexpr std::string_view kNames[] = {"done", "retry", "failed"};
    processed.inc({delivery.instance, kNames[static_cast<int>(result)]});
  };
  HttplibClient http(HttplibClientOptions{.ca_bundle = config->ca_bundle});
  ApiDependencies api_dependencies{http, system_clock(), real_sleeper()};
  auto forges = make_forges(*config, api_dependencies);
  if (!forges) {
    std::fprintf(stderr, "%s\n", forges.error().message.c_str());
    return 2;
  }
  // Built now so a provider key that does not resolve stops start-up, not the first session.
  auto models = providers::ProviderSet::create(*config, system_clock(), real_sleeper());
  if (!models) {
    std::fprintf(stderr, "%s\n", models.error().message.c_str());
    return 2;
  }
  proxy::ModelProxy model_proxy(
      proxy::ModelProxyOptions{config->model_proxy_host, config->model_proxy_port}, system_clock());
  if (!config->routes.empty()) {
    if (auto started = model_proxy.start(); !started) {
      std::fprintf(stderr, "%s\n", started.error().message.c_str());
      return 2;
    }
  }
  std::vector<std::string> template_warnings;
  auto templates = config->templates_dir.empty()
                       ? render::TemplateSet::builtin()
                       : render::load_server_templates(config->templates_dir, template_warnings);
  if (!templates) {
    std::fprintf(stderr, "%s\n", templates.error().message.c_str());
    return 2;
  }
  for (const std::string& warning : template_warnings) {
    log::warn("server template override not used", {{"warning", warning}});
  }
  // Raw pointers stay valid when the adapters move into the dispatcher, which outlives sessions.
  std::map<std::string, const Forge*, std::less<>> forge_index;
  for (const auto& forge : *forges) forge_index[forge->instance()] = forge.get();
  auto workspace = runner::Workspace::open(
      runner::WorkspaceOptions{(fs::path(config->data_dir) / "workspaces").string(),
                               config->ca_bundle, runner::find_git_program()});
  if (!workspace) {
    std::fprintf(stderr, "%s\n", workspace.error().message.c_str());
    return 2;
  }
  if ((*workspace)->options().git_program.empty()) {
    log::info("no git on PATH: fetched packs are indexed by libgit2, on one thread");
  }
  // Old mirrors and job directories go by age and size: once at start, then hourly.
  // A jthread, so every return below stops and joins it.
  std::jthread eviction([&workspace](std::stop_token stop) {
    std::mutex mutex;
    std::condition_variable_any wake;
    std::unique_lock lock(mutex);
    while (!stop.stop_requested()) {
      if (auto report = (*workspace)->evict(); !report) {
        log::warn("workspace eviction failed", {{"error", report.error().message}});
      } else if (!report->removed.empty()) {
        log::info("workspaces evicted",
                  {{"removed", report->removed.size()}, {"bytes_freed", report->bytes_freed}});
      }
      wake.wait_for(lock, stop, std::chrono::hours(1), [] { return false; });
    }
  });
  runner::ProcessSandbox sandbox(config->sandbox);
  SessionRunner sessions(SessionRunnerDeps{*config, **models, **workspace, sandbox, model_proxy,
                                           *templates, system_clock()});
  auto jobs = std::make_unique<JobQueue>(
      config->workers.count,
      [&sessions](const SessionRequest& request, const Forge& forge,
                  const std::atomic<bool>& cancel) { return sessions.run(request, forge, cancel); },
      [&forge_index](const std::string& instance) -> const Forge* {
        auto found = forge_index.find(instance);
        return found == forge_index.end() ? nullptr : found->second;
      },
      JobQueue::Recording{**store, *config, system_clock()});
  SessionStore& session_store = **store;
  SessionControl control{
      [&jobs](const SessionRequest& request) { return jobs->start(request); },
      [&jobs](const Event& event) -> Result<std::string> { return jobs->status(event); },
      [&jobs](const Event& event) -> Result<std::string> { return jobs->cancel(event); },
      [&session_store](const Event& event, std::int64_t pull_request, const std::string& head_sha) {
        return session_history(session_store, event, pull_request, head_sha, system_clock().now());
      }};
  CommentHandler comments(*config, *templates, control);
  CiHandler ci_failures(*config, *templates, control);
  OutcomeRecorder outcomes(session_store, system_clock());
  DeliveryDispatcher dispatcher(
      std::move(*forges),
      [&comments, &ci_failures, &outcomes](const Event& event, const Forge& forge) -> Result<void> {
        log::info("event", {{"delivery", event.delivery_id},
                            {"instance", event.instance},
                            {"kind", to_string(event.kind)},
                            {"repo", event.repo.full_name},
                            {"number", event.number},
                            {"actor", event.actor.login},
                            {"bot", event.actor.is_bot}});
        // Before the CI handler, so a failure is recorded red whatever becomes of its fix.
        if (auto recorded = outcomes.handle(event); !recorded) return recorded;
        Result<CommentOutcome> outcome = CommentOutcome{};
        if (event.kind == EventKind::comment) {
          outcome = comments.handle(event, forge);
        } else if (event.kind == EventKind::ci_failed) {
          outcome = ci_failures.handle(event, forge);
        } else {
          return {};
        }
        if (!outcome) return tl::unexpected(outcome.error());
        log::info("event handled", {{"delivery", event.delivery_id},
                                    {"outcome", to_string(outcome->kind)},
                                    {"detail", outcome->detail}});
        return {};
      });
  DeliveryWorkers workers(
      db, [&dispatcher](const Delivery& delivery) { return dispatcher.handle(delivery); },
      system_clock(), worker_options);
  if (auto started = workers.start(); !started) {
    std::fprintf(stderr, "%s\n", started.error().message.c_str());
    return 2;
  }

  Intake intake(std::move(*instances), db, system_clock(), config->max_body_bytes,
                [&workers] { workers.wake(); });
  HttpServer server(intake, db, registry,
                    HttpServerOptions{config->listen_host, config->listen_port,
                                      config->http_threads, config->max_body_bytes});
  if (auto started = server.start(); !started) {
    std::fprintf(stderr, "%s\n", started.error().message.c_str());
    workers.stop();
    return 2;
  }
  log::info("listening",
            {{"url", "http://" + config->listen_host + ":" + std::to_string(server.port())},
             {"config", config->source},
             {"store", config->store.path}});
  print_banner(*config, server.port());

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  log::info("stopping: finishing in-flight requests", {{"signal", signal_number}});
  server.stop();
  workers.stop();
  jobs.reset();  // lets running sessions finish; they use the adapters and the proxy
  eviction.request_stop();
  model_proxy.stop();
  store->reset();  // drains the writer queue and closes the database
  log::info("stopped");
  return 0;
}

int capabilities() {
  HttplibClient http;
  ApiDependencies dependencies{http, system_clock(), real_sleeper()};
  for (ForgeKind kind : kAllForgeKinds) {
    auto forge = make_forge(ForgeSettings{std::string(to_string(kind)), kind, "", "", "", {}, {}},
                            dependencies);
    if (!forge) continue;
    std::printf("%s\n", std::string(to_string(kind)).c_str());
    for (const Capability& capability : (*forge)->capabilities()) {
      std::printf("  %-15s %-9s %s\n", capability.operation.c_str(), capability.support.c_str(),
                  capability.note.c_str());
    }
    std::printf("\n");
  }
  return 0;
}

// A repository's .forgehand.yml: its shape, and with a server config, what the server's policy
// for that repository would not let it change.
int check_repo_config(const std::string& path, const std::string& against,
                      const std::string& repository, const std::string& instance) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "%s: cannot read: %s\n", path.c_str(), std::strerror(errno));
    return 1;
  }
  std::ostringstream text;
  text << in.rdbuf();
  auto repo = parse_repo_config(text.str(), path);
  if (!repo) {
    std::fprintf(stderr, "%s\n", repo.error().message.c_str());
    return 1;
  }
  if (!against.empty()) {
    auto server = load_server_config(against);
    if (!server) {
      std::fprintf(stderr, "%s\n", server.error().message.c_str());
      return 1;
    }
    auto narrowed = policy::narrow(policy::server_policy(*server, instance, repository), *repo);
    for (const std::string& rejection : narrowed.rejections) {
      std::fprintf(stderr, "%s (not applied)\n", rejection.c_str());
    }
    if (!narrowed.rejections.empty()) return 1;
  }
  std::printf("%s: ok (repository config)\n", path.c_str());
  return 0;
}

int check_config(const std::string& path) {
  auto config = load_server_config(path);
  if (!config) {
    std::fprintf(stderr, "%s\n", config.error().message.c_str());
    return 1;
  }
  int problems = 0;
  for (const InstanceConfig& instance : config->instances) {
    if (auto secrets = resolve_webhook_secrets(instance); !secrets) {
      std::fprintf(stderr, "%s\n", secrets.error().message.c_str());
      ++problems;
    }
    for (const SecretRef* reference : {&instance.private_key, &instance.token}) {
      if (auto secret = resolve_if_configured(*reference); !secret) {
        std::fprintf(stderr, "%s\n", secret.error().message.c_str());
        ++problems;
      }
    }
  }
  if (problems == 0) {
    HttplibClient http;
    ApiDependencies dependencies{http, system_clock(), real_sleeper()};
    if (auto forges = make_forges(*config, dependencies); !forges) {
      std::fprintf(stderr, "%s\n", forges.error().message.c_str());
      ++problems;
    }
  }
  if (problems > 0) return 1;
  std::printf("%s: ok (%zu forge instance%s, %zu model provider%s, %zu route%s)\n", path.c_str(),
              config->instances.size(), config->instances.size() == 1 ? "" : "s",
              config->providers.size(), config->providers.size() == 1 ? "" : "s",
              config->routes.size(), config->routes.size() == 1 ? "" : "s");
  return 0;
}

int check_providers(const std::string& config_path, const std::string& data_dir,
                    const std::optional<std::string>& route, bool dry_run) {
  auto config = load_config(config_path, data_dir);
  if (!config) {
    std::fprintf(stderr, "%s\n", config.error().message.c_str());
    return 2;
  }
  if (config->providers.empty()) {
    std::fprintf(stderr, "%s: no model providers are configured\n", config->source.c_str());
    return 2;
  }
  auto models = providers::ProviderSet::create(*config, system_clock(), real_sleeper());
  if (!models) {
    std::fprintf(stderr, "%s\n", redact(models.error().message).c_str());
    return 2;
  }
  auto checks = providers::check_providers(*config, **models, route, dry_run);
  if (!checks) {
    std::fprintf(stderr, "%s\n", checks.error().message.c_str());
    return 2;
  }
  std::fputs(providers::render_checks(*checks).c_str(), stdout);
  bool all_ok = std::all_of(checks->begin(), checks->end(), [](const auto& check) {
    return check.result != providers::ProviderCheck::Result::error;
  });
  return all_ok ? 0 : 1;
}

// Runs one command exactly as the runner would, so operators can check their setup. Exits with
// the command's code, 124 when it timed out, 125 when it could not be run at all.
int sandbox(const std::string& config_path, std::string workdir, bool network,
            const std::vector<std::string>& argv) {
  auto config = load_config(config_path, "data");
  if (!config) {
    std::fprintf(stderr, "%s\n", config.error().message.c_str());
    return 125;
  }
  std::string scratch;
  if (workdir.empty()) {
    std::string pattern = (fs::temp_directory_path() / "forgehand-sandbox.XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      std::perror("forgehand sandbox: mkdtemp");
      return 125;
    }
    scratch = workdir = pattern;
  }
  runner::ProcessSandbox box(config->sandbox);
  auto result = box.run(runner::SandboxCommand{argv, fs::absolute(workdir).string(), network});
  if (!scratch.empty()) {
    std::error_code ignored;
    fs::remove_all(scratch, ignored);
  }
  if (!result) {
    std::fprintf(stderr, "forgehand %s\n", result.error().message.c_str());
    return 125;
  }
  std::fwrite(result->output.data(), 1, result->output.size(), stdout);
  std::fflush(stdout);
  std::fprintf(stderr, "forgehand sandbox: %s\n", runner::describe(*result).c_str());
  return result->timed_out ? 124 : result->exit_code;
}

// `path` "-" reads standard input, so a log can be piped from a forge's CLI.
int triage_log(const std::string& path, std::size_t budget) {
  std::FILE* file = path == "-" ? stdin : std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    std::fprintf(stderr, "triage: cannot open %s: %s\n", path.c_str(), std::strerror(errno));
    return 2;
  }
  std::string log;
  struct stat info {};
  if (::fstat(::fileno(file), &info) == 0 && S_ISREG(info.st_mode)) {
    log.reserve(static_cast<std::size_t>(info.st_size));
  }
  char buffer[1 << 16];
  std::size_t got = 0;
  while ((got = std::fread(buffer, 1, sizeof buffer, file)) > 0) log.append(buffer, got);
  int error = std::ferror(file) != 0 ? errno : 0;
  if (file != stdin) std::fclose(file);
  if (error != 0) {
    std::fprintf(stderr, "triage: cannot read %s: %s\n", path.c_str(), std::strerror(error));
    return 2;
  }
  std::string out = triage::excerpt(log, budget);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return std::fflush(stdout) == 0 ? 0 : 2;
}

// The sandbox's half of the model bridge, started by the runner inside the sandbox.
int model_bridge(const std::string& socket, const std::string& listen,
                 const std::vector<std::string>& command) {
  runner::BridgeCommand bridge{socket, "", 0, command};
  if (!parse_listen_address(listen, bridge.listen_host, bridge.listen_port)) {
    std::fprintf(stderr, "forgehand model-bridge: --listen must be host:port, e.g. 127.0.0.1:0\n");
    return 2;
  }
  return runner::run_bridge(bridge);
}

}  // namespace
}  // namespace forgehand

int main(int argc, char** argv) {
  CLI::App app{"forgehand: a self-hosted AI runner bot for GitHub, GitLab, Gitea and Forgejo"};
  app.require_subcommand(1);

  std::string config_path;
  std::string data_dir = "data";
  auto* serve = app.add_subcommand("serve", "Receive webhooks and work on them");
  serve
      ->add_option("-c,--config", config_path,
                   "Server config (YAML); without it, the embedded defaults are used")
      ->envname("FORGEHAND_CONFIG")
      ->check(CLI::ExistingFile);
  serve->add_option("--data-dir", data_dir, "Data directory for the embedded defaults")
      ->envname("FORGEHAND_DATA_DIR");
  std::string listen;
  serve->add_option("--listen", listen, "host:port to listen on, overriding the config")
      ->envname("FORGEHAND_LISTEN");

  std::string check_path;
  auto* check = app.add_subcommand(
      "check-config", "Validate a server config or a repository's .forgehand.yml and exit");
  check->add_option("file", check_path, "The config file")->required();
  bool check_repo = false;
  check->add_flag("--repo", check_repo,
                  "The file is a repository config (implied by the name .forgehand.yml)");
  std::string check_against;
  check
      ->add_option("--against", check_against,
                   "With a repository config: the server config whose policy it must narrow")
      ->check(CLI::ExistingFile);
  std::string check_repository = "owner/repo";
  check->add_option("--repository", check_repository, "owner/repo, for --against");
  std::string check_instance;
  check->add_option("--instance", check_instance, "The forge instance, for --against");

  auto* capabilities =
      app.add_subcommand("capabilities", "Print what each forge supports and what degrades");
  auto* version = app.add_subcommand("version", "Print the version");

  auto* providers_command = app.add_subcommand("providers", "Model providers");
  providers_command->require_subcommand(1);
  auto* providers_check = providers_command->add_subcommand(
      "check", "Send one tiny request to each provider and print a table");
  std::string providers_config;
  providers_check->add_option("-c,--config", providers_config, "Server config (YAML)")
      ->envname("FORGEHAND_CONFIG")
      ->check(CLI::ExistingFile);
  std::optional<std::string> providers_route;
  providers_check->add_option("--route", providers_route, "Only the providers of this route");
  bool providers_dry_run = false;
  providers_check->add_flag("--dry-run", providers_dry_run,
                            "Validate configuration and credentials without sending requests");
  std::string sandbox_config;
  std::string workdir;
  bool network = false;
  std::vector<std::string> command;
  auto* sandbox = app.add_subcommand(
      "sandbox", "Run one command in the sandbox exactly as the runner would: sandbox -- CMD...");
  sandbox->add_option("-c,--config", sandbox_config, "Server config whose sandbox settings apply")
      ->envname("FORGEHAND_CONFIG")
      ->check(CLI::ExistingFile);
  sandbox
      ->add_option("--workdir", workdir,
                   "Writable working directory (handed to the sandbox uid when run as root); "
                   "default: a fresh temporary directory, removed afterwards")
      ->check(CLI::ExistingDirectory);
  sandbox->add_flag("--network", network, "Share the host's network, as policy may allow");
  sandbox->add_option("command", command, "The command and its arguments, after --")->required();
  std::size_t budget = forgehand::triage::kDefaultBudget;
  std::string log_path = "-";
  auto* triage = app.add_subcommand(
      "triage", "Print the part of a CI log that shows why the build failed, within a budget");
  triage->add_option("--budget", budget, "Most bytes to print")->capture_default_str();
  triage->add_option("logfile", log_path, "The CI log; - or none reads standard input");

  // Hidden (no group): the runner starts it inside the sandbox, operators need not.
  std::string bridge_socket;
  std::string bridge_listen;
  std::vector<std::string> bridge_command;
  auto* bridge = app.add_subcommand(
      "model-bridge",
      "Relay connections on the sandbox's loopback to the model proxy's socket; with a command "
      "after --, run it with the relay alongside");
  bridge->group("");
  bridge->add_option("--socket", bridge_socket, "The Unix socket forgehand listens on")->required();
  bridge->add_option("--listen", bridge_listen, "host:port to listen on")->required();
  bridge->add_option("command", bridge_command, "The command to run, after --");

  // The audit commands read the store the server config names, read-only.
  forgehand::audit::AuditOptions audit;
  auto audit_options = [&](CLI::App* subcommand) {
    subcommand->add_option("-c,--config", audit.config_path, "Server config whose store to read")
        ->envname("FORGEHAND_CONFIG")
        ->check(CLI::ExistingFile);
    subcommand->add_option("--data-dir", audit.data_dir, "Data directory for the embedded defaults")
        ->envname("FORGEHAND_DATA_DIR");
    subcommand->add_flag("--json", audit.json, "Print JSON instead of a table");
  };
  auto* sessions = app.add_subcommand("sessions", "List sessions, newest first");
  audit_options(sessions);
  std::string sessions_repo;
  sessions->add_option("--repo", sessions_repo, "Only this owner/repo");
  std::string sessions_state;
  sessions->add_option("--state", sessions_state,
                       "Only sessions in this state (queued, running, succeeded, failed, "
                       "cancelled, denied)");
  auto* sessions_show =
      sessions->add_subcommand("show", "Print one session in full, with its redacted transcript");
  audit_options(sessions_show);
  std::string session_id;
  sessions_show->add_option("id", session_id, "The session id (fh-...)")->required();
  auto* usage = app.add_subcommand("usage", "Runner hours, tokens and model cost, grouped");
  audit_options(usage);
  std::string usage_by;
  usage->add_option("--by", usage_by, "repo, model or month")
      ->required()
      ->check(CLI::IsMember({"repo", "model", "month"}));
  auto* scoreboard = app.add_subcommand(
      "scoreboard", "Per model and task type: sessions, PRs, merged and CI-green shares, medians");
  audit_options(scoreboard);

  CLI11_PARSE(app, argc, argv);
  if (*serve) return forgehand::serve(config_path, data_dir, listen);
  if (*check) {
    std::string name = std::filesystem::path(check_path).filename().string();
    if (check_repo || name == ".forgehand.yml" || name == ".forgehand.yaml") {
      return forgehand::check_repo_config(check_path, check_against, check_repository,
                                          check_instance);
    }
    return forgehand::check_config(check_path);
  }
  if (*capabilities) return forgehand::capabilities();
  if (*providers_check) {
    return forgehand::check_providers(providers_config, data_dir, providers_route,
                                      providers_dry_run);
  }
  if (*sandbox) return forgehand::sandbox(sandbox_config, workdir, network, command);
  if (*triage) return forgehand::triage_log(log_path, budget);
  if (*bridge) return forgehand::model_bridge(bridge_socket, bridge_listen, bridge_command);
  if (*sessions_show) return forgehand::audit::show_session(audit, session_id);
  if (*sessions) return forgehand::audit::list_sessions(audit, sessions_repo, sessions_state);
  if (*usage) return forgehand::audit::usage(audit, usage_by);
  if (*scoreboard) return forgehand::audit::scoreboard(audit);
  if (*version) {
    std::printf("forgehand %s\n", forgehand::kVersion);
    return 0;
  }
  return 1;
}
