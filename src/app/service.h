#pragma once
// What works on events once they are recorded, assembled once from the server config: forge
// adapters, model providers and the keyless proxy, templates, workspace, sandbox, session runner,
// job queue and the event router. `serve` hands it recorded deliveries; `forgehand replay` hands
// it one payload, so both run the same pipeline. Thread-safe once created.

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/server_config.h"
#include "dispatch/delivery_dispatcher.h"
#include "dispatch/event_router.h"
#include "dispatch/job_queue.h"
#include "dispatch/session_runner.h"
#include "forgehand/forge.h"
#include "forgehand/session.h"
#include "providers/provider_set.h"
#include "proxy/model_proxy.h"
#include "render/templates.h"
#include "runner/sandbox.h"
#include "runner/workspace.h"
#include "util/api_caller.h"
#include "util/http_client.h"

namespace forgehand {

// An empty Secret when the reference is not configured. Errors name the config location.
Result<Secret> resolve_if_configured(const SecretRef& reference);

// The adapter's settings for a configured instance, without API credentials: such an adapter
// parses payloads, and its API verbs fail with `config`.
ForgeSettings forge_settings(const InstanceConfig& instance);

// One adapter with its API credentials resolved.
Result<std::unique_ptr<Forge>> make_instance_forge(const InstanceConfig& instance,
                                                   const ApiDependencies& dependencies);

// One adapter per configured instance, with its API credentials resolved.
Result<std::vector<std::unique_ptr<Forge>>> make_forges(const ServerConfig& config,
                                                        const ApiDependencies& dependencies);

// The built-in templates with the server's overrides (`templates_dir`); overrides that are not
// used are logged.
Result<render::TemplateSet> load_templates(const ServerConfig& config);

// The data directory (owner-only when new: stored deliveries can carry private repository
// content) and the store's directory.
void create_data_dirs(const ServerConfig& config);

class Service {
 public:
  // Errors: a credential that does not resolve (forge or provider: checked now, not at the first
  // session), a model proxy that cannot listen, templates or a workspace that cannot be loaded.
  // `config` and `sessions` must outlive the service.
  static Result<std::unique_ptr<Service>> create(const ServerConfig& config,
                                                 SessionStore& sessions);

  // Interrupts running sessions (their sandboxes killed; a push under way completes) and leaves
  // them queued in the store with queued ones, to run at the next start; then stops the proxy.
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // The adapter of a configured instance; nullptr when there is none.
  const Forge* forge(std::string_view instance) const;

  // A recorded delivery through its adapter and on to `handle`: the workers' handler.
  Result<void> dispatch(const Delivery& delivery) const;

  // One event through the router, as every delivery goes.
  Result<CommentOutcome> handle(const Event& event, const Forge& forge) const;

  // At start-up, before any delivery: kills the sandboxes a previous process left running
  // (runner::kill_orphaned_sandboxes), then JobQueue::recover, failures posted by
  // SessionRunner::abandon. Logs what it did. Not for one-off commands such as replay, which
  // must not take over a server's sessions.
  Result<JobQueue::Recovery> recover();

  runner::Workspace& workspace() { return *workspace_; }
  JobQueue& jobs() { return *jobs_; }

 private:
  Service() = default;

  std::unique_ptr<HttplibClient> http_;
  std::unique_ptr<providers::ProviderSet> models_;
  std::unique_ptr<proxy::ModelProxy> proxy_;
  std::optional<render::TemplateSet> templates_;
  std::unique_ptr<runner::Workspace> workspace_;
  std::unique_ptr<runner::ProcessSandbox> sandbox_;
  std::unique_ptr<SessionRunner> runner_;
  // Raw pointers into the dispatcher's adapters, which outlive the job queue.
  std::map<std::string, const Forge*, std::less<>> forge_index_;
  std::unique_ptr<DeliveryDispatcher> dispatcher_;
  std::atomic<bool> stopping_{false};
  std::unique_ptr<JobQueue> jobs_;
  std::unique_ptr<OutcomeRecorder> outcomes_;
  std::unique_ptr<EventRouter> router_;
};

}  // namespace forgehand
