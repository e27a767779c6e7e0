#include "dispatch/session_runner.h"

#include "render/render.h"
#include "render/views.h"
#include "runner/external_agent.h"
#include "runner/publish.h"
#include "util/log.h"

namespace forgehand {

namespace {

std::vector<std::string> models_that_answered(const std::vector<providers::ProviderCall>& calls) {
  std::vector<std::string> models;
  for (const providers::ProviderCall& call : calls) {
    if (!call.error.empty()) continue;
    std::string model = call.provider + "/" + call.model;
    if (std::find(models.begin(), models.end(), model) == models.end()) models.push_back(model);
  }
  return models;
}

std::string first_line(const std::string& text, std::size_t limit) {
  std::string line = text.substr(0, text.find('\n'));
  if (line.size() > limit) line = line.substr(0, limit - 3) + "...";
  return line;
}

std::string commit_subject(const SessionRequest& request) {
  if (request.decision.task == TaskType::ci_fix) {
    return "fix the failing CI on #" + std::to_string(request.event.number);
  }
  if (request.run.instructions.empty()) return "work on #" + std::to_string(request.event.number);
  return request.run.instructions;
}

}  // namespace

SessionRunner::SessionRunner(SessionRunnerDeps deps) : deps_(deps) {}

void SessionRunner::post_result(const SessionRequest& request, const Forge& forge,
                                const SessionReport& report) const {
  const Event& event = request.event;
  const std::string bot = CommentHandler::bot_name(deps_.config.find_instance(event.instance));
  IssueRef thread{event.repo, event.number, event.is_pull_request};
  ForgeKind kind = forge.kind();
  render::SessionFacts facts{request.decision.route,
                             std::chrono::seconds(static_cast<long long>(report.runner_seconds)),
                             request.session_id, event.actor.login, deps_.config.currency};
  Result<std::string> body = fail(ErrorCode::internal, "unrendered");
  if (report.state == SessionState::succeeded) {
    render::ResultView view{bot,
                            event.actor.login,
                            request.session_id,
                            report.summary,
                            std::nullopt,
                            render::make_attribution(report.agent.calls, facts)};
    if (report.pull_request) {
      view.pull_request =
          render::PullRequestLink{report.pull_request->number, report.pull_request->url, ""};
    }
    body = render::render_view(deps_.templates, kind, view);
  } else {
    std::optional<render::AttributionView> attribution;
    if (!report.agent.calls.empty()) {
      attribution = render::make_attribution(report.agent.calls, facts);
    }
    render::FailureView view{bot, event.actor.login, request.session_id, report.error,
                             "",  attribution};
    body = render::render_view(deps_.templates, kind, view);
  }
  if (!body) {
    log::error("could not render the session's comment",
               {{"session", request.session_id}, {"error", body.error().message}});
  } else if (auto edited = forge.edit_comment(thread, request.acknowledgement.id, *body); !edited) {
    log::warn("could not edit the acknowledgement",
              {{"session", request.session_id}, {"error", edited.error().message}});
  }
}

SessionReport SessionRunner::abandon(const SessionRequest& request, const Forge& forge,
                                     std::string error) const {
  SessionReport report;
  report.error = std::move(error);
  post_result(request, forge, report);
  return report;
}

SessionReport SessionRunner::run(const SessionRequest& request, const Forge& forge,
                                 const std::atomic<bool>& cancel) const {
  SessionReport report;
  const Event& event = request.event;
  const auto started = deps_.clock.now();
  const std::string bot = CommentHandler::bot_name(deps_.config.find_instance(event.instance));
  ForgeKind kind = forge.kind();
  render::SessionFacts facts{request.decision.route, std::chrono::seconds(0), request.session_id,
                             event.actor.login, deps_.config.currency};

  auto finish = [&](SessionState state, std::string error) {
    report.state = state;
    report.error = std::move(error);
    report.runner_seconds = std::chrono::duration<double>(deps_.clock.now() - started).count();
    // The acknowledgement still says the work is under way, which it is again after the restart.
    if (cancel && deps_.stopping != nullptr && *deps_.stopping) {
      report.state = SessionState::queued;
      report.error = "forgehand stopped while this session ran; it runs again at the next start";
      return report;
    }
    post_result(request, forge, report);
    return report;
  };

  const providers::Router* router = deps_.providers.route(request.decision.route);
  if (router == nullptr) {
    return finish(SessionState::failed, "route " + request.decision.route + " is not configured");
  }

  // Comment on a pull request: work on its head and propose into its head branch. On an issue:
  // start from the default branch and propose into it.
  std::string base_branch = event.repo.default_branch;
  std::vector<std::string> refs;
  std::string base_sha;
  if (event.is_pull_request) {
    auto pull = forge.pull_request(event.repo, event.number);
    if (!pull)
      return finish(SessionState::failed,
                    "could not read the pull request: " + pull.error().message);
    base_branch = pull->head_ref;
    base_sha = pull->head_sha;
    refs.push_back(pull->from_fork ? "refs/pull/" + std::to_string(event.number) + "/head"
                                   : pull->head_ref);
  } else {
    refs.push_back(base_branch);
  }
  auto credentials = forge.git_credentials(event.repo);
  if (!credentials) return finish(SessionState::failed, credentials.error().message);
  auto checkout = deps_.workspace.prepare(
      runner::RepoSource{event.instance, event.repo.full_name, *credentials},
      runner::CheckoutRequest{request.session_id, request.run.instructions, refs, base_sha});
  if (!checkout) {
    return finish(SessionState::failed,
                  "could not check out the repository: " + checkout.error().message);
  }
  report.branch = checkout->branch;

  std::vector<runner::InstructionFile> instructions;
  std::vector<std::string> paths(std::begin(runner::kInstructionFiles),
                                 std::end(runner::kInstructionFiles));
  paths.insert(paths.end(), request.decision.instructions.begin(),
               request.decision.instructions.end());
  for (const std::string& path : paths) {
    auto text = forge.read_file(event.repo, path, event.repo.default_branch);
    if (text && *text) instructions.push_back({path, **text});
  }

  const auto& limits = request.decision.limits;
  providers::Budget budget{limits.tokens, limits.cost, std::nullopt};
  if (limits.runner_minutes > 0) {
    budget.deadline = deps_.clock.now() + std::chrono::minutes(limits.runner_minutes);
  }
  auto ledger = std::make_shared<providers::SessionLedger>(budget);
  bool ci_fix = request.decision.task == TaskType::ci_fix;
  runner::AgentRun agent_run{
      runner::AgentTask{ci_fix ? runner::TaskKind::ci_failure : runner::TaskKind::instructions,
                        event.repo.full_name, base_branch, event.actor.login,
                        request.run.instructions, request.failing_jobs, request.failure_excerpt},
      std::move(instructions), checkout->path};
  Result<runner::AgentResult> result = fail(ErrorCode::internal, "no runner");
  if (deps_.config.runner.kind == RunnerKind::command) {
    runner::ExternalAgentOptions options;
    options.network = request.decision.network;
    options.cancel = &cancel;
    runner::ExternalAgent agent(deps_.config.runner, deps_.sandbox, deps_.proxy, *router,
                                deps_.clock, options);
    result = agent.run(agent_run, request.session_id, ledger);
  } else {
    runner::AgentOptions options;
    options.max_turns = static_cast<int>(limits.turns);
    options.tools.network = request.decision.network;
    options.tools.cancel = &cancel;
    runner::Agent agent(*router, deps_.sandbox, deps_.clock, options);
    result = agent.run(agent_run, *ledger);
  }
  if (!result)
    return finish(SessionState::failed, "the runner could not start: " + result.error().message);
  report.agent = std::move(*result);
  report.summary = report.agent.summary;
  if (report.agent.stop == runner::AgentStop::cancelled) {
    return finish(SessionState::cancelled, "cancelled before it finished; nothing was pushed");
  }
  if (report.agent.outcome != runner::AgentOutcome::finished) {
    return finish(SessionState::failed, report.agent.reason);
  }
  if (request.decision.review_only || report.agent.changed == false) {
    return finish(SessionState::succeeded, "");
  }

  runner::PublishRequest publish{
      checkout->path,
      checkout->base_objects,
      checkout->branch,
      checkout->base_sha,
      *credentials,
      runner::CommitAttribution{bot, bot + "@users.noreply.forgehand",
                                "forgehand: " + first_line(commit_subject(request), 60),
                                request.session_id, models_that_answered(report.agent.calls),
                                event.actor.login},
      runner::PublishPolicy{
          request.decision.protected_paths, 50, 2000, event.repo.default_branch, {}},
      3,
      deps_.config.ca_bundle};
  auto published = runner::publish(publish);
  if (!published) return finish(SessionState::failed, published.error().message);
  if (published->outcome == runner::PublishOutcome::nothing_to_publish) {
    return finish(SessionState::succeeded, "");
  }
  report.pushed_sha = published->sha;

  render::PullRequestBodyView body_view{
      bot,
      event.actor.login,
      request.session_id,
      report.summary,
      request.run.instructions,
      render::TaskSource{event.is_pull_request ? render::TaskSource::Kind::pull_request
                                               : render::TaskSource::Kind::issue,
                         event.number, ""},
      render::make_attribution(report.agent.calls, facts)};
  auto body = render::render_view(deps_.templates, kind, body_view);
  if (!body) return finish(SessionState::failed, body.error().message);
  auto opened = forge.open_pull_request(
      event.repo, PullRequestSpec{publish.commit.message, *body, checkout->branch, base_branch});
  if (!opened)
    return finish(SessionState::failed,
                  "pushed " + checkout->branch +
                      " but could not open the pull request: " + opened.error().message);
  report.pull_request = *opened;
  CommitStatus status{published->sha, CommitState::success, std::string(kStatusContext),
                      "session " + request.session_id, opened->url};
  if (auto set = forge.set_commit_status(event.repo, status); !set) {
    log::warn("could not set the commit status", {{"error", set.error().message}});
  }
  return finish(SessionState::succeeded, "");
}

}  // namespace forgehand
