#include "dispatch/comment_handler.h"

#include <algorithm>

#include "dispatch/repository_settings.h"
#include "render/render.h"
#include "render/views.h"
#include "util/crypto.h"
#include "util/log.h"
#include "util/text.h"

namespace forgehand {

namespace {

using commands::Verb;

std::string task_in_words(TaskType task) {
  switch (task) {
    case TaskType::ci_fix:
      return "an automatic CI fix";
    case TaskType::comment_task:
      return "a task on a pull request";
    case TaskType::issue_task:
      return "a task on an issue";
  }
  return "a task";
}

}  // namespace

void report_failed_start(const Forge& forge, const IssueRef& thread, const SessionRequest& session,
                         const std::string& bot, const render::TemplateSet& templates,
                         const Error& error) {
  render::FailureView failure{bot,
                              session.event.actor.login,
                              session.session_id,
                              "the session could not be started: " + error.message,
                              "",
                              std::nullopt};
  auto body = render::render_view(templates, forge.kind(), failure);
  if (!body) return;
  if (auto edited = forge.edit_comment(thread, session.acknowledgement.id, *body); !edited) {
    log::warn("could not report a failed start", {{"error", edited.error().message}});
  }
}

render::ExplainView explain_view(const ServerConfig& config, const policy::PolicyDecision& decision,
                                 std::string bot, std::string requester) {
  std::vector<std::string> reasons = decision.reasons;
  for (const std::string& rejection : decision.rejections) {
    reasons.push_back("not applied from .forgehand.yml: " + rejection);
  }
  render::ExplainView view{std::move(bot),     std::move(requester),
                           decision.allowed,   task_in_words(decision.task),
                           decision.route,     config.route_providers(decision.route),
                           std::move(reasons), {}};
  if (decision.allowed) {
    auto limit = [&](std::string name, std::string value) {
      view.limits.push_back({std::move(name), std::move(value)});
    };
    if (decision.limits.cost > 0) limit("Cost per session", text::decimal(decision.limits.cost, 2));
    if (decision.limits.tokens > 0) {
      limit("Tokens per session", render::format_count(decision.limits.tokens));
    }
    if (decision.limits.runner_minutes > 0) {
      limit("Runner time per session", std::to_string(decision.limits.runner_minutes) + " min");
    }
    limit("Turns per session", std::to_string(decision.limits.turns));
  }
  return view;
}

std::string_view to_string(CommentOutcome::Kind kind) {
  static constexpr std::string_view kNames[] = {"ignored", "replied", "denied", "started",
                                                "failed"};
  return kNames[static_cast<int>(kind)];
}

std::string new_session_id() { return "fh-" + crypto::hex_encode(crypto::random_bytes(6)); }

CommentHandler::CommentHandler(const ServerConfig& config, const render::TemplateSet& templates,
                               SessionControl control)
    : config_(config), templates_(templates), control_(std::move(control)) {}

std::string CommentHandler::bot_name(const InstanceConfig* instance) {
  std::string name = instance ? instance->bot_login : "";
  if (name.ends_with("[bot]")) name.resize(name.size() - 5);
  return name.empty() ? "forgehand" : name;
}

Result<CommentOutcome> CommentHandler::handle(const Event& event, const Forge& forge) const {
  // The loop guard comes first: forgehand's own replies quote commands in their help text.
  if (event.actor.is_self) return CommentOutcome{CommentOutcome::Kind::ignored, "own comment"};
  std::string bot = bot_name(config_.find_instance(event.instance));
  commands::Command command = commands::parse_command(event.comment_body, bot);
  if (const auto* ignore = std::get_if<commands::Ignore>(&command)) {
    return CommentOutcome{CommentOutcome::Kind::ignored, ignore->reason};
  }
  IssueRef thread{event.repo, event.number, event.is_pull_request};
  ForgeKind kind = forge.kind();
  const std::string requester = event.actor.login;
  auto post = [&](const Result<std::string>& body) -> Result<CommentRef> {
    if (!body) return tl::unexpected(body.error());
    return forge.post_comment(thread, *body);
  };

  const auto* reply = std::get_if<commands::Reply>(&command);
  if (reply && reply->verb == Verb::help) {
    render::HelpView view{bot, requester, reply->problem, reply->suggestion, {}};
    if (auto posted = post(render::render_view(templates_, kind, view)); !posted) {
      return tl::unexpected(posted.error());
    }
    return CommentOutcome{CommentOutcome::Kind::replied, "help"};
  }
  if (reply && (reply->verb == Verb::status || reply->verb == Verb::cancel)) {
    const auto& answer = reply->verb == Verb::status ? control_.status : control_.cancel;
    auto text = answer(event);
    if (!text) return tl::unexpected(text.error());
    if (auto posted = forge.post_comment(thread, *text); !posted) {
      return tl::unexpected(posted.error());
    }
    return CommentOutcome{CommentOutcome::Kind::replied,
                          std::string(commands::to_string(reply->verb))};
  }

  // fix, retry and explain need the policy's decision.
  if (!reply) {
    if (auto seen = forge.add_reaction(thread, event.comment_id, Reaction::eyes); !seen) {
      log::warn("could not react to the comment",
                {{"delivery", event.delivery_id}, {"error", seen.error().message}});
    }
  }
  auto settings = read_repository_settings(forge, event.repo, templates_);
  if (!settings) return tl::unexpected(settings.error());
  for (const std::string& warning : settings->warnings) {
    log::warn("repository template override not used",
              {{"repo", event.repo.full_name}, {"warning", warning}});
  }
  const render::TemplateSet& templates = settings->templates;
  const auto* run = std::get_if<commands::Run>(&command);

  policy::History history;
  if (control_.history) {
    auto found = control_.history(event, event.is_pull_request ? event.number : 0, "");
    if (!found) return tl::unexpected(found.error());
    history = *found;
  }
  policy::PolicyRequest request = policy_request(
      event, forge, event.is_pull_request ? TaskType::comment_task : TaskType::issue_task, history);
  if (run && !run->route.empty()) request.requested_route = run->route;
  policy::PolicyDecision decision;
  if (!settings->problems.empty()) {
    decision.deny_reason = policy::DenyReason::check_failed;
    decision.task = request.task;
    decision.reasons.push_back("the repository's .forgehand.yml (default branch) has errors: " +
                               settings->problems.front());
  } else {
    decision = policy::decide(config_, request, settings->config ? &*settings->config : nullptr);
  }
  std::vector<std::string> reasons = decision.reasons;
  for (const std::string& rejection : decision.rejections) {
    reasons.push_back("not applied from .forgehand.yml: " + rejection);
  }

  if (reply) {  // explain
    render::ExplainView view = explain_view(config_, decision, bot, requester);
    if (auto posted = post(render::render_view(templates, kind, view)); !posted) {
      return tl::unexpected(posted.error());
    }
    return CommentOutcome{CommentOutcome::Kind::replied, "explain", decision};
  }

  if (!decision.allowed) {
    if (decision.notify) {
      render::DeniedView view{bot, requester, std::string(commands::to_string(run->verb)), reasons};
      if (auto posted = post(render::render_view(templates, kind, view)); !posted) {
        return tl::unexpected(posted.error());
      }
    }
    return CommentOutcome{CommentOutcome::Kind::denied, reasons.empty() ? "" : reasons.back(),
                          decision};
  }

  SessionRequest session{new_session_id(), event, *run, decision, {}};
  render::AcknowledgementView view{bot,
                                   requester,
                                   session.session_id,
                                   run->verb,
                                   run->instructions,
                                   run->removed,
                                   decision.route,
                                   config_.route_providers(decision.route),
                                   decision.rejections};
  auto acknowledged = post(render::render_view(templates, kind, view));
  if (!acknowledged) return tl::unexpected(acknowledged.error());
  session.acknowledgement = *acknowledged;
  if (auto started = control_.start(session); !started) {
    report_failed_start(forge, thread, session, bot, templates, started.error());
    // Said on the thread; retrying the delivery would post a second acknowledgement.
    return CommentOutcome{CommentOutcome::Kind::failed, started.error().message, decision};
  }
  return CommentOutcome{CommentOutcome::Kind::started, session.session_id, decision};
}

}  // namespace forgehand
