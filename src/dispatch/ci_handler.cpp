#include "dispatch/ci_handler.h"

#include "dispatch/repository_settings.h"
#include "render/render.h"
#include "render/views.h"
#include "triage/excerpt.h"
#include "util/log.h"

namespace forgehand {

CiHandler::CiHandler(const ServerConfig& config, const render::TemplateSet& templates,
                     SessionControl control)
    : config_(config), templates_(templates), control_(std::move(control)) {}

Result<CommentOutcome> CiHandler::handle(const Event& failed, const Forge& forge) const {
  // One failure is often reported several times within moments (GitHub sends check_run,
  // workflow_job, check_suite and workflow_run), and workers handle deliveries side by side.
  // Reports on one commit wait for each other, so each sees the attempt the one before started.
  std::string commit = failed.instance + " " + failed.repo.full_name + " " + failed.head_sha;
  {
    std::unique_lock lock(mutex_);
    done_.wait(lock, [&] { return !handling_.contains(commit); });
    handling_.insert(commit);
  }
  struct Leave {
    const CiHandler& handler;
    const std::string& commit;
    ~Leave() {
      {
        std::lock_guard lock(handler.mutex_);
        handler.handling_.erase(commit);
      }
      handler.done_.notify_all();
    }
  } leave{*this, commit};
  return handle_alone(failed, forge);
}

Result<CommentOutcome> CiHandler::handle_alone(const Event& failed, const Forge& forge) const {
  using Kind = CommentOutcome::Kind;
  Event event = failed;
  // A failure that names no pull request (a fork's on GitHub, a branch pipeline, a commit
  // status) is found by its head commit.
  if (event.number == 0) {
    auto open = forge.open_pull_requests_for_commit(event.repo, event.head_sha);
    if (!open) return tl::unexpected(open.error());
    if (open->empty()) return CommentOutcome{Kind::ignored, "no open pull request has this head"};
    event.number = open->front().number;
  }
  auto pull = forge.pull_request(event.repo, event.number);
  if (!pull) return tl::unexpected(pull.error());
  if (pull->state != "open") return CommentOutcome{Kind::ignored, "the pull request is not open"};
  if (!event.head_sha.empty() && pull->head_sha != event.head_sha) {
    return CommentOutcome{Kind::ignored, "the pull request has moved on to another commit"};
  }
  event.is_pull_request = true;
  event.head_sha = pull->head_sha;
  event.from_fork = pull->from_fork;

  auto settings = read_repository_settings(forge, event.repo, templates_);
  if (!settings) return tl::unexpected(settings.error());
  if (!settings->problems.empty()) {
    return CommentOutcome{Kind::ignored, "the repository's .forgehand.yml has errors"};
  }
  auto history = control_.history ? control_.history(event, event.number, event.head_sha)
                                  : Result<policy::History>(policy::History{});
  if (!history) return tl::unexpected(history.error());

  policy::PolicyRequest request = policy_request(event, forge, TaskType::ci_fix, *history);
  policy::PolicyDecision decision =
      policy::decide(config_, request, settings->config ? &*settings->config : nullptr);
  std::string bot = CommentHandler::bot_name(config_.find_instance(event.instance));
  IssueRef thread{event.repo, event.number, true};
  if (!decision.allowed) {
    if (decision.notify) {
      render::DeniedView view{bot, event.actor.login, "an automatic CI fix", decision.reasons};
      auto body = render::render_view(settings->templates, forge.kind(), view);
      if (!body) return tl::unexpected(body.error());
      if (auto posted = forge.post_comment(thread, *body); !posted) {
        return tl::unexpected(posted.error());
      }
    }
    return CommentOutcome{Kind::denied, decision.reasons.empty() ? "" : decision.reasons.back(),
                          decision};
  }

  std::vector<CiJob> jobs;
  if (!event.ci_run_id.empty()) {
    auto listed = forge.failed_jobs(event.repo, event.ci_run_id);
    if (!listed) return tl::unexpected(listed.error());
    jobs = std::move(*listed);
  }
  for (const std::string& id : event.ci_job_ids) {
    bool known =
        std::any_of(jobs.begin(), jobs.end(), [&](const CiJob& job) { return job.id == id; });
    if (!known) jobs.push_back(CiJob{id, id, "", "failure"});
  }
  SessionRequest session{new_session_id(), event, {}, decision, {}, {}, {}};
  std::size_t budget = jobs.empty() ? kExcerptBudget : kExcerptBudget / jobs.size();
  for (const CiJob& job : jobs) {
    session.failing_jobs.push_back(job.name);
    auto log = forge.job_log(event.repo, job.id);
    if (!log) {
      log::warn("could not read a failed job's log",
                {{"job", job.id}, {"error", log.error().message}});
      continue;
    }
    session.failure_excerpt += "== " + job.name + "\n" + triage::excerpt(*log, budget) + "\n";
  }
  if (session.failing_jobs.empty() && !event.ci_name.empty()) {
    session.failing_jobs.push_back(event.ci_name);
  }

  render::AcknowledgementView view{bot,
                                   event.actor.login,
                                   session.session_id,
                                   commands::Verb::fix,
                                   "Fix the failing CI: " + event.ci_name,
                                   {},
                                   decision.route,
                                   config_.route_providers(decision.route),
                                   decision.rejections};
  auto body = render::render_view(settings->templates, forge.kind(), view);
  if (!body) return tl::unexpected(body.error());
  auto posted = forge.post_comment(thread, *body);
  if (!posted) return tl::unexpected(posted.error());
  session.acknowledgement = *posted;
  if (auto started = control_.start(session); !started) {
    report_failed_start(forge, thread, session, bot, settings->templates, started.error());
    return CommentOutcome{Kind::failed, started.error().message, decision};
  }
  return CommentOutcome{Kind::started, session.session_id, decision};
}

}  // namespace forgehand
