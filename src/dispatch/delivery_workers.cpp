#include "dispatch/delivery_workers.h"

#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>

#include "util/log.h"

namespace forgehand {

std::chrono::seconds retry_delay(const DeliveryWorkerOptions& options, int attempts) {
  auto delay = options.retry_initial;
  for (int i = 1; i < attempts && delay < options.retry_max; ++i) delay *= 2;
  return std::min(delay, options.retry_max);
}

DeliveryWorkers::DeliveryWorkers(Store& store, DeliveryHandler handler, const Clock& clock,
                                 DeliveryWorkerOptions options)
    : store_(store), handler_(std::move(handler)), clock_(clock), options_(std::move(options)) {}

DeliveryWorkers::~DeliveryWorkers() { stop(); }

Result<void> DeliveryWorkers::start() {
  auto requeued = store_.requeue_interrupted_deliveries();
  if (!requeued) return tl::unexpected(requeued.error().context("requeue interrupted deliveries"));
  if (*requeued > 0) {
    log::info("requeued deliveries interrupted by the last shutdown", {{"count", *requeued}});
  }
  for (int i = 0; i < options_.count; ++i) {
    threads_.emplace_back([this, i] {
      pthread_setname_np(pthread_self(), "fh-worker");
      // Linux gives each thread its own nice value, addressed by its thread id.
      setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), options_.nice);
      worker_loop(i == 0);
    });
  }
  return {};
}

void DeliveryWorkers::wake() {
  {
    std::lock_guard lock(mutex_);
    ++wakeups_;
  }
  wake_cv_.notify_one();
}

void DeliveryWorkers::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_cv_.notify_all();
  for (auto& thread : threads_) thread.join();
  threads_.clear();
}

Result<std::size_t> DeliveryWorkers::run_once() {
  std::size_t total = 0;
  for (;;) {
    auto handled = claim_and_handle();
    if (!handled) return handled;
    if (*handled == 0) return total;
    total += *handled;
  }
}

Result<std::size_t> DeliveryWorkers::claim_and_handle() {
  auto claimed = store_.claim_deliveries(options_.claim_batch, clock_.now());
  if (!claimed) return tl::unexpected(claimed.error());
  for (const Delivery& delivery : *claimed) handle(delivery);
  return claimed->size();
}

void DeliveryWorkers::handle(const Delivery& delivery) {
  auto handled = handler_(delivery);
  DeliveryResult result = DeliveryResult::done;
  Result<void> saved;
  if (handled) {
    saved = store_.finish_delivery(delivery.id, true, "");
  } else {
    const Error& error = handled.error();
    bool retry = is_transient(error.code) && delivery.attempts < options_.max_attempts;
    if (retry) {
      result = DeliveryResult::retry;
      auto delay = retry_delay(options_, delivery.attempts);
      saved = store_.retry_delivery(delivery.id, clock_.now() + delay, error.message);
      log::warn("delivery failed; will retry",
                {{"delivery", delivery.delivery_id},
                 {"instance", delivery.instance},
                 {"event", delivery.event},
                 {"attempt", delivery.attempts},
                 {"retry_in_s", static_cast<std::int64_t>(delay.count())},
                 {"error", error.message}});
    } else {
      result = DeliveryResult::failed;
      saved = store_.finish_delivery(delivery.id, false, error.message);
      log::error("delivery failed for good", {{"delivery", delivery.delivery_id},
                                              {"instance", delivery.instance},
                                              {"event", delivery.event},
                                              {"attempt", delivery.attempts},
                                              {"error", error.message}});
    }
  }
  if (!saved) {
    // The claim stays in the store; the next start-up requeues it, so nothing is lost.
    log::error("could not save a delivery's outcome",
               {{"delivery", delivery.delivery_id}, {"error", saved.error().message}});
    return;
  }
  if (options_.on_result) options_.on_result(delivery, result);
}

void DeliveryWorkers::worker_loop(bool maintains) {
  auto last_prune = std::chrono::steady_clock::time_point{};
  std::uint64_t seen_wakeups = 0;
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      seen_wakeups = wakeups_;
    }
    if (maintains && std::chrono::steady_clock::now() - last_prune > std::chrono::hours(1)) {
      last_prune = std::chrono::steady_clock::now();
      auto pruned = store_.prune_deliveries(clock_.now() - options_.retention);
      if (!pruned) {
        log::error("pruning old deliveries failed", {{"error", pruned.error().message}});
      } else if (*pruned > 0) {
        log::info("pruned old deliveries", {{"count", *pruned}});
      }
    }
    auto handled = claim_and_handle();
    if (!handled) {
      log::error("claiming deliveries failed", {{"error", handled.error().message}});
    }
    if (handled && *handled > 0) continue;
    std::unique_lock lock(mutex_);
    wake_cv_.wait_for(lock, options_.poll_interval,
                      [&] { return stopping_ || wakeups_ != seen_wakeups; });
  }
}

}  // namespace forgehand
