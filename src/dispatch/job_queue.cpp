#include "dispatch/job_queue.h"

#include <unistd.h>

#include "dispatch/session_job.h"
#include "dispatch/session_records.h"
#include "util/log.h"

namespace forgehand {

namespace {
std::string repository_key(const Event& event) {
  return event.instance + "/" + event.repo.full_name;
}
}  // namespace

std::string thread_key(const Event& event) {
  return repository_key(event) + "#" + std::to_string(event.number);
}

JobQueue::JobQueue(int workers, Run run, ForgeFor forge_for, std::optional<Recording> recording)
    : run_(std::move(run)), forge_for_(std::move(forge_for)), recording_(recording) {
  for (int i = 0; i < workers; ++i) workers_.emplace_back([this] { work(); });
}

JobQueue::~JobQueue() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& worker : workers_) worker.join();
}

void JobQueue::finish_unstarted(const std::string& session_id, const std::string& why) const {
  log::info("session cancelled before it started", {{"session", session_id}, {"why", why}});
  if (recording_) {
    record("finish", recording_->store.finish_session(session_id, SessionState::cancelled, why,
                                                      recording_->clock.now()));
  }
}

void JobQueue::record(const char* what, const Result<void>& written) const {
  if (!written) {
    log::warn("could not record the session", {{"step", what}, {"error", written.error().message}});
  }
}

Result<void> JobQueue::start(const SessionRequest& request) {
  if (forge_for_(request.event.instance) == nullptr) {
    return fail(ErrorCode::not_found, "no forge instance " + request.event.instance);
  }
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return fail(ErrorCode::unavailable, "forgehand is stopping");
  }
  // Recorded before it is queued: the attempt counts and budgets see it from now on, and a
  // restart finds it (also when the queue stops before it runs).
  if (recording_) {
    if (auto created = recording_->store.create_session(
            new_session_record(request, recording_->clock.now()), session_job_json(request));
        !created) {
      return tl::unexpected(created.error());
    }
  }
  enqueue(request);
  return {};
}

void JobQueue::enqueue(const SessionRequest& request) {
  std::vector<std::string> replaced;
  {
    std::lock_guard lock(mutex_);
    std::string thread = thread_key(request.event);
    std::erase_if(queued_, [&](const Job& job) {
      if (job.thread != thread) return false;
      replaced.push_back(job.request.session_id);
      return true;
    });
    if (auto running = running_.find(thread); running != running_.end()) {
      running->second.cancel->store(true);
      log::info("session stopped by a newer command",
                {{"session", running->second.session_id}, {"by", request.session_id}});
    }
    queued_.push_back(Job{request, std::move(thread)});
  }
  for (const std::string& id : replaced) {
    finish_unstarted(id, "replaced by session " + request.session_id + " before it started");
  }
  wake_.notify_one();
}

Result<JobQueue::Recovery> JobQueue::recover(const Abandon& abandon) {
  if (!recording_) return fail(ErrorCode::invalid_argument, "recovery needs the sessions table");
  SessionStore& store = recording_->store;
  Recovery recovery;
  auto give_up = [&](const SessionRecord& record, std::optional<SessionRequest> request,
                     const std::string& why) -> Result<void> {
    if (auto finished =
            store.finish_session(record.id, SessionState::failed, why, recording_->clock.now());
        !finished) {
      return finished;
    }
    recovery.failed.push_back(record.id);
    log::warn("session failed on recovery", {{"session", record.id}, {"why", why}});
    if (const Forge* forge = forge_for_(record.instance)) {
      abandon(request ? *request : request_from_record(record), *forge, why);
    }
    return {};
  };

  auto running = store.list_sessions({.state = SessionState::running});
  if (!running) return tl::unexpected(running.error());
  for (const SessionRecord& record : *running) {
    if (record.attempts >= kMaxAttempts) {
      auto job = store.find_session_job(record.id);
      std::optional<SessionRequest> request;
      if (job && *job) {
        if (auto parsed = parse_session_job(**job)) request = std::move(*parsed);
      }
      if (auto failed =
              give_up(record, std::move(request),
                      "forgehand stopped while this session ran, " +
                          std::to_string(record.attempts) + " times; it is not retried again");
          !failed) {
        return tl::unexpected(failed.error());
      }
      continue;
    }
    if (auto requeued = store.requeue_session(
            record.id, "forgehand stopped while this session ran; it was retried");
        !requeued) {
      return tl::unexpected(requeued.error());
    }
    recovery.retried.push_back(record.id);
  }

  auto queued = store.list_sessions({.state = SessionState::queued});
  if (!queued) return tl::unexpected(queued.error());
  std::vector<SessionRecord> oldest_first(queued->rbegin(), queued->rend());
  std::stable_sort(
      oldest_first.begin(), oldest_first.end(),
      [](const SessionRecord& a, const SessionRecord& b) { return a.created_at < b.created_at; });
  for (const SessionRecord& record : oldest_first) {
    auto job = store.find_session_job(record.id);
    if (!job) return tl::unexpected(job.error());
    Result<SessionRequest> request =
        *job ? parse_session_job(**job) : fail(ErrorCode::not_found, "no request was kept");
    if (request && forge_for_(request->event.instance) == nullptr) {
      request = fail(ErrorCode::not_found, "no forge instance " + request->event.instance);
    }
    if (!request) {
      if (auto failed = give_up(record, std::nullopt,
                                "forgehand restarted and could not read this session back (" +
                                    request.error().message + ")");
          !failed) {
        return tl::unexpected(failed.error());
      }
      continue;
    }
    bool retried = std::find(recovery.retried.begin(), recovery.retried.end(), record.id) !=
                   recovery.retried.end();
    if (!retried) recovery.resumed.push_back(record.id);
    log::info("session recovered", {{"session", record.id},
                                    {"was", retried ? "running" : "queued"},
                                    {"attempts", record.attempts}});
    enqueue(*request);
  }
  return recovery;
}

void JobQueue::work() {
  std::unique_lock lock(mutex_);
  for (;;) {
    // The oldest session whose repository has nothing running.
    auto next = queued_.end();
    wake_.wait(lock, [&] {
      if (stopping_) return true;
      next = std::find_if(queued_.begin(), queued_.end(), [&](const Job& job) {
        return !busy_repositories_.contains(repository_key(job.request.event));
      });
      return next != queued_.end();
    });
    if (stopping_) return;
    Job job = std::move(*next);
    queued_.erase(next);
    std::string repository = repository_key(job.request.event);
    busy_repositories_.insert(repository);
    auto cancel = std::make_shared<std::atomic<bool>>(false);
    running_[job.thread] = Running{job.request.session_id, cancel};
    lock.unlock();
    auto release = [&] {
      lock.lock();
      busy_repositories_.erase(repository);
      running_.erase(job.thread);
      wake_.notify_all();
      if (queued_.empty() && running_.empty()) idle_.notify_all();
    };

    const std::string& id = job.request.session_id;
    const std::string worker = "pid" + std::to_string(::getpid());
    std::atomic<bool> finished{false};
    std::thread heartbeat;
    // What an interrupted earlier start spent stays on the record (and in the budgets).
    std::vector<ModelCall> earlier_calls;
    double earlier_seconds = 0;
    if (recording_) {
      if (auto stored = recording_->store.find_session(id); stored && *stored) {
        earlier_calls = (*stored)->calls;
        earlier_seconds = (*stored)->runner_seconds;
      }
      auto started = recording_->store.start_session(id, worker, recording_->clock.now());
      if (!started && started.error().code == ErrorCode::conflict) {
        // Finished meanwhile (cancelled, failed on recovery): it must not run.
        log::info("session not started", {{"session", id}, {"why", started.error().message}});
        release();
        continue;
      }
      record("start", started);
      // A heartbeat shows the session is alive; a restart finds the silent ones.
      heartbeat = std::thread([this, id, worker, &finished] {
        for (int tick = 0; !finished; ++tick) {
          std::this_thread::sleep_for(std::chrono::milliseconds(200));
          if (tick % 50 == 49) {
            record("heartbeat",
                   recording_->store.heartbeat_session(id, worker, recording_->clock.now()));
          }
        }
      });
    }
    const Forge* forge = forge_for_(job.request.event.instance);
    SessionReport report = run_(job.request, *forge, *cancel);
    finished = true;
    if (heartbeat.joinable()) heartbeat.join();
    if (recording_) {
      SessionUpdate update = agent_result_update(report.agent, recording_->config);
      update.calls->insert(update.calls->begin(), earlier_calls.begin(), earlier_calls.end());
      update.runner_seconds = earlier_seconds + report.runner_seconds;
      update.head_ref = report.branch;
      if (!report.pushed_sha.empty()) update.head_sha = report.pushed_sha;
      if (report.pull_request) {
        update.pull_request_number = report.pull_request->number;
        update.pull_request_url = report.pull_request->url;
      }
      record("update", recording_->store.update_session(id, update));
      if (report.state == SessionState::queued) {
        record("release", recording_->store.release_session(id, report.error));
      } else {
        record("finish", recording_->store.finish_session(id, report.state, report.error,
                                                          recording_->clock.now()));
      }
    }
    log::info(report.state == SessionState::queued ? "session interrupted" : "session finished",
              {{"session", job.request.session_id},
               {"state", to_string(report.state)},
               {"error", report.error},
               {"runner_seconds", report.runner_seconds}});
    release();
  }
}

std::string JobQueue::status(const Event& event) const {
  std::lock_guard lock(mutex_);
  std::string key = thread_key(event);
  if (auto running = running_.find(key); running != running_.end()) {
    return "Session `" + running->second.session_id + "` is running here.";
  }
  for (const Job& job : queued_) {
    if (job.thread == key) return "Session `" + job.request.session_id + "` is queued here.";
  }
  return "No forgehand session is queued or running here.";
}

std::string JobQueue::cancel(const Event& event) {
  std::lock_guard lock(mutex_);
  std::string key = thread_key(event);
  for (auto it = queued_.begin(); it != queued_.end(); ++it) {
    if (it->thread == key) {
      std::string id = it->request.session_id;
      queued_.erase(it);
      finish_unstarted(id, "cancelled by @" + event.actor.login + " before it started");
      return "Cancelled session `" + id + "` before it started.";
    }
  }
  if (auto running = running_.find(key); running != running_.end()) {
    running->second.cancel->store(true);
    return "Stopping session `" + running->second.session_id +
           "`: its commands are killed and nothing is pushed.";
  }
  return "No forgehand session is queued or running here.";
}

void JobQueue::interrupt() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    for (auto& [thread, running] : running_) running.cancel->store(true);
  }
  wake_.notify_all();
}

void JobQueue::drain() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [&] { return queued_.empty() && running_.empty(); });
}

}  // namespace forgehand
