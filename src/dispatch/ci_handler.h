#pragma once
// A failed CI run on a pull request: when the repository turned automatic fixes on and the policy
// allows one more attempt for this head commit, the failed jobs' logs are triaged to an excerpt
// and a `ci_fix` session is started on the pull request's head. Everything else is ignored
// quietly (a comment on every red build would be noise), except a denial worth telling, such as
// a fork. Thread-safe when the session control and the history are; reports of one commit's
// failure are handled one at a time within this process (replicas on one database are not kept
// apart yet).

#include <condition_variable>
#include <functional>
#include <mutex>
#include <set>
#include <string>

#include "config/server_config.h"
#include "dispatch/comment_handler.h"
#include "forgehand/event.h"
#include "forgehand/forge.h"
#include "policy/policy.h"
#include "render/templates.h"

namespace forgehand {

class CiHandler {
 public:
  // Triage budget for all failed jobs' excerpts together.
  static constexpr std::size_t kExcerptBudget = 8192;

  CiHandler(const ServerConfig& config, const render::TemplateSet& templates,
            SessionControl control);

  Result<CommentOutcome> handle(const Event& event, const Forge& forge) const;

 private:
  Result<CommentOutcome> handle_alone(const Event& event, const Forge& forge) const;

  const ServerConfig& config_;
  const render::TemplateSet& templates_;
  SessionControl control_;
  // Commits ("instance repo sha") whose failure a worker is handling now.
  mutable std::mutex mutex_;
  mutable std::condition_variable done_;
  mutable std::set<std::string> handling_;
};

}  // namespace forgehand
