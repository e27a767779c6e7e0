#include "app/service.h"

#include <filesystem>

#include "dispatch/session_records.h"
#include "forges/forge_registry.h"
#include "runner/index_pack.h"
#include "util/log.h"
#include "util/secret.h"

namespace fs = std::filesystem;

namespace forgehand {

Result<Secret> resolve_if_configured(const SecretRef& reference) {
  if (!reference.configured()) return Secret();
  auto secret = resolve_secret(reference.reference);
  if (!secret) return tl::unexpected(secret.error().context(reference.location));
  return secret;
}

ForgeSettings forge_settings(const InstanceConfig& instance) {
  ForgeSettings settings{
      instance.name, instance.kind, instance.api_url, instance.bot_login, instance.app_id, {}, {}};
  settings.oauth_token = instance.oauth_token;
  return settings;
}

Result<std::unique_ptr<Forge>> make_instance_forge(const InstanceConfig& instance,
                                                   const ApiDependencies& dependencies) {
  ForgeSettings settings = forge_settings(instance);
  auto key = resolve_if_configured(instance.private_key);
  if (!key) return tl::unexpected(key.error());
  auto token = resolve_if_configured(instance.token);
  if (!token) return tl::unexpected(token.error());
  settings.private_key = std::move(*key);
  settings.token = std::move(*token);
  return make_forge(std::move(settings), dependencies);
}

Result<std::vector<std::unique_ptr<Forge>>> make_forges(const ServerConfig& config,
                                                        const ApiDependencies& dependencies) {
  std::vector<std::unique_ptr<Forge>> forges;
  for (const InstanceConfig& instance : config.instances) {
    auto forge = make_instance_forge(instance, dependencies);
    if (!forge) return tl::unexpected(forge.error());
    forges.push_back(std::move(*forge));
  }
  return forges;
}

Result<render::TemplateSet> load_templates(const ServerConfig& config) {
  std::vector<std::string> warnings;
  auto templates = config.templates_dir.empty()
                       ? render::TemplateSet::builtin()
                       : render::load_server_templates(config.templates_dir, warnings);
  for (const std::string& warning : warnings) {
    log::warn("server template override not used", {{"warning", warning}});
  }
  return templates;
}

void create_data_dirs(const ServerConfig& config) {
  std::error_code ec;
  if (fs::create_directories(config.data_dir, ec)) {
    fs::permissions(config.data_dir, fs::perms::owner_all, ec);
  }
  fs::create_directories(fs::path(config.store.path).parent_path(), ec);
}

Service::~Service() {
  stopping_ = true;
  if (jobs_) jobs_->interrupt();
  jobs_.reset();  // running sessions use the adapters and the proxy
  if (proxy_) proxy_->stop();
}

Result<std::unique_ptr<Service>> Service::create(const ServerConfig& config,
                                                 SessionStore& sessions) {
  std::unique_ptr<Service> service(new Service());
  Service& s = *service;
  s.http_ = std::make_unique<HttplibClient>(HttplibClientOptions{.ca_bundle = config.ca_bundle});
  ApiDependencies api{*s.http_, system_clock(), real_sleeper()};
  auto forges = make_forges(config, api);
  if (!forges) return tl::unexpected(forges.error());
  // Built now so a provider key that does not resolve stops start-up, not the first session.
  auto models = providers::ProviderSet::create(config, system_clock(), real_sleeper());
  if (!models) return tl::unexpected(models.error());
  s.models_ = std::move(*models);
  s.proxy_ = std::make_unique<proxy::ModelProxy>(
      proxy::ModelProxyOptions{config.model_proxy_host, config.model_proxy_port}, system_clock());
  if (!config.routes.empty()) {
    if (auto started = s.proxy_->start(); !started) return tl::unexpected(started.error());
  }
  auto templates = load_templates(config);
  if (!templates) return tl::unexpected(templates.error());
  s.templates_ = std::move(*templates);
  for (const auto& forge : *forges) s.forge_index_[forge->instance()] = forge.get();
  auto workspace = runner::Workspace::open(
      runner::WorkspaceOptions{(fs::path(config.data_dir) / "workspaces").string(),
                               config.ca_bundle, runner::find_git_program()});
  if (!workspace) return tl::unexpected(workspace.error());
  s.workspace_ = std::move(*workspace);
  if (s.workspace_->options().git_program.empty()) {
    log::info("no git on PATH: fetched packs are indexed by libgit2, on one thread");
  }
  s.sandbox_ = std::make_unique<runner::ProcessSandbox>(config.sandbox);
  s.runner_ = std::make_unique<SessionRunner>(
      SessionRunnerDeps{config, *s.models_, *s.workspace_, *s.sandbox_, *s.proxy_, *s.templates_,
                        system_clock(), &s.stopping_});
  s.jobs_ = std::make_unique<JobQueue>(
      config.workers.count,
      [runner = s.runner_.get()](const SessionRequest& request, const Forge& forge,
                                 const std::atomic<bool>& cancel) {
        return runner->run(request, forge, cancel);
      },
      [&s](const std::string& instance) { return s.forge(instance); },
      JobQueue::Recording{sessions, config, system_clock()});
  JobQueue& jobs = *s.jobs_;
  SessionControl control{
      [&jobs](const SessionRequest& request) { return jobs.start(request); },
      [&jobs](const Event& event) -> Result<std::string> { return jobs.status(event); },
      [&jobs](const Event& event) -> Result<std::string> { return jobs.cancel(event); },
      [&sessions](const Event& event, std::int64_t pull_request, const std::string& head_sha) {
        return session_history(sessions, event, pull_request, head_sha, system_clock().now());
      }};
  s.outcomes_ = std::make_unique<OutcomeRecorder>(sessions, system_clock());
  s.router_ =
      std::make_unique<EventRouter>(config, *s.templates_, std::move(control), s.outcomes_.get());
  s.dispatcher_ = std::make_unique<DeliveryDispatcher>(
      std::move(*forges), [&s](const Event& event, const Forge& forge) -> Result<void> {
        auto outcome = s.handle(event, forge);
        if (!outcome) return tl::unexpected(outcome.error());
        return {};
      });
  return service;
}

Result<JobQueue::Recovery> Service::recover() {
  std::string jobs_root = workspace_->options().root + "/jobs";
  if (std::size_t killed = runner::kill_orphaned_sandboxes(jobs_root); killed > 0) {
    log::warn("killed sandboxes a previous process left running", {{"count", killed}});
  }
  auto recovered =
      jobs_->recover([this](const SessionRequest& request, const Forge& forge,
                            const std::string& why) { runner_->abandon(request, forge, why); });
  if (!recovered) return recovered;
  if (!recovered->resumed.empty() || !recovered->retried.empty() || !recovered->failed.empty()) {
    log::info("sessions recovered", {{"resumed", recovered->resumed.size()},
                                     {"retried", recovered->retried.size()},
                                     {"failed", recovered->failed.size()}});
  }
  return recovered;
}

const Forge* Service::forge(std::string_view instance) const {
  auto found = forge_index_.find(instance);
  return found == forge_index_.end() ? nullptr : found->second;
}

Result<void> Service::dispatch(const Delivery& delivery) const {
  return dispatcher_->handle(delivery);
}

Result<CommentOutcome> Service::handle(const Event& event, const Forge& forge) const {
  return router_->handle(event, forge);
}

}  // namespace forgehand
