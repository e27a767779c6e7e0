#pragma once
// Workers that take recorded deliveries from the store, hand each to a handler (the forge
// adapters and triggers), and mark it done, or schedule a bounded retry with exponential backoff.
// Deliveries left claimed by a crash are requeued at start. Thread-safe; start/stop from one
// thread.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "forgehand/clock.h"
#include "forgehand/delivery.h"
#include "forgehand/error.h"
#include "forgehand/store.h"

namespace forgehand {

// Handles one delivery. A transient error (see is_transient) is retried; any other error fails
// the delivery for good. Must be safe to call from several threads at once.
using DeliveryHandler = std::function<Result<void>(const Delivery&)>;

enum class DeliveryResult { done, retry, failed };

struct DeliveryWorkerOptions {
  int count = 2;
  int max_attempts = 5;
  std::chrono::seconds retry_initial{10};
  std::chrono::seconds retry_max{600};
  // How often idle workers look for retries that became due; new deliveries wake them at once.
  std::chrono::milliseconds poll_interval{1000};
  std::size_t claim_batch = 8;
  // Finished deliveries older than this are pruned once an hour.
  std::chrono::hours retention{24 * 14};
  // Worker threads' nice value. Acknowledging webhooks is the latency-critical work; handling
  // them can trail a burst, since every recorded delivery waits durably in the store.
  int nice = 10;
  // Told about every delivery a worker finished with (metrics); may be empty.
  std::function<void(const Delivery&, DeliveryResult)> on_result;
};

// When the attempt numbered `attempts` (1-based) failed, how long to wait before the next.
std::chrono::seconds retry_delay(const DeliveryWorkerOptions& options, int attempts);

class DeliveryWorkers {
 public:
  DeliveryWorkers(Store& store, DeliveryHandler handler, const Clock& clock,
                  DeliveryWorkerOptions options);
  ~DeliveryWorkers();

  // Requeues deliveries a previous process left claimed, then starts the threads.
  Result<void> start();
  // Tells idle workers new work is waiting.
  void wake();
  // Lets workers finish the deliveries in hand, then joins them.
  void stop();

  // Claims and handles every delivery due now on the calling thread; returns how many it handled.
  // The test and `forgehand replay` entry point: no threads, no sockets.
  Result<std::size_t> run_once();

 private:
  void worker_loop(bool maintains);
  Result<std::size_t> claim_and_handle();
  void handle(const Delivery& delivery);

  Store& store_;
  DeliveryHandler handler_;
  const Clock& clock_;
  DeliveryWorkerOptions options_;

  std::mutex mutex_;
  std::condition_variable wake_cv_;
  std::uint64_t wakeups_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace forgehand
