#include "dispatch/event_router.h"

#include "util/log.h"

namespace forgehand {

EventRouter::EventRouter(const ServerConfig& config, const render::TemplateSet& templates,
                         SessionControl control, OutcomeRecorder* outcomes)
    : comments_(config, templates, control),
      ci_failures_(config, templates, control),
      outcomes_(outcomes) {}

Result<CommentOutcome> EventRouter::handle(const Event& event, const Forge& forge) const {
  log::info("event", {{"delivery", event.delivery_id},
                      {"instance", event.instance},
                      {"kind", to_string(event.kind)},
                      {"repo", event.repo.full_name},
                      {"number", event.number},
                      {"actor", event.actor.login},
                      {"bot", event.actor.is_bot}});
  // Before the CI handler, so a failure is recorded red whatever becomes of its fix.
  if (outcomes_ != nullptr) {
    if (auto recorded = outcomes_->handle(event); !recorded) {
      return tl::unexpected(recorded.error());
    }
  }
  Result<CommentOutcome> outcome = CommentOutcome{};
  if (event.kind == EventKind::comment) {
    outcome = comments_.handle(event, forge);
  } else if (event.kind == EventKind::ci_failed) {
    outcome = ci_failures_.handle(event, forge);
  } else if (event.kind == EventKind::pr_closed || event.kind == EventKind::ci_passed) {
    return CommentOutcome{CommentOutcome::Kind::ignored,
                          "an outcome, recorded on the sessions it concerns (if any)"};
  } else {
    return CommentOutcome{
        CommentOutcome::Kind::ignored,
        "forgehand does not act on " + std::string(to_string(event.kind)) + " events yet"};
  }
  if (!outcome) return outcome;
  log::info("event handled", {{"delivery", event.delivery_id},
                              {"outcome", to_string(outcome->kind)},
                              {"detail", outcome->detail}});
  return outcome;
}

}  // namespace forgehand
