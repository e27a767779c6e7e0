#pragma once
// Which handler an event goes to: comments to CommentHandler, CI failures to CiHandler, and
// before them pull request outcomes and CI verdicts to the OutcomeRecorder. The one place `serve`
// and `forgehand replay` both route through, so a replay takes the path a delivery would.
// Thread-safe when the session control and the recorder are.

#include "config/server_config.h"
#include "dispatch/ci_handler.h"
#include "dispatch/comment_handler.h"
#include "dispatch/outcome_recorder.h"
#include "forgehand/event.h"
#include "forgehand/forge.h"
#include "render/templates.h"

namespace forgehand {

class EventRouter {
 public:
  // `config`, `templates` and `outcomes` must outlive the router. Without `outcomes` (a dry run)
  // nothing is recorded.
  EventRouter(const ServerConfig& config, const render::TemplateSet& templates,
              SessionControl control, OutcomeRecorder* outcomes);

  // What came of the event. Kinds no handler acts on yet are `ignored`, saying so. Errors are
  // the handler's (the forge's, mostly): transient ones make the delivery's worker retry.
  Result<CommentOutcome> handle(const Event& event, const Forge& forge) const;

 private:
  CommentHandler comments_;
  CiHandler ci_failures_;
  OutcomeRecorder* outcomes_;
};

}  // namespace forgehand
