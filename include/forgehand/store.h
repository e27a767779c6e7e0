#pragma once
// The durable state behind forgehand. SQLite is the embedded default; PostgreSQL will implement
// the same contract for several replicas. Callers never see which one they talk to.
// Every method is thread-safe and blocks until its effect is durable (or has failed).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "forgehand/clock.h"
#include "forgehand/delivery.h"
#include "forgehand/error.h"

namespace forgehand {

enum class RecordOutcome { recorded, duplicate };

struct DeliveryCounts {
  std::int64_t pending = 0;  // waiting for a worker, retries included
  std::int64_t claimed = 0;  // a worker has it now
  std::int64_t done = 0;
  std::int64_t failed = 0;  // gave up after the retry limit, or a permanent error
};

class Store {
 public:
  virtual ~Store() = default;

  // Records the delivery unless (instance, delivery_id) is already stored, in which case it
  // returns `duplicate` and changes nothing. Returns only once the record is on disk; on error
  // nothing was recorded and the caller must not acknowledge the delivery.
  virtual Result<RecordOutcome> record_delivery(const Delivery& delivery) = 0;

  // Claims up to `limit` deliveries that are due at `now`, oldest first, and counts the attempt.
  // A claimed delivery is invisible to other claims until finished, retried or requeued.
  virtual Result<std::vector<Delivery>> claim_deliveries(std::size_t limit, TimePoint now) = 0;

  // Ends a claimed delivery: done, or failed for good with `error` kept for operators.
  virtual Result<void> finish_delivery(std::int64_t id, bool succeeded, std::string_view error) = 0;

  // Gives a claimed delivery back, due again at `not_before`, remembering `error`.
  virtual Result<void> retry_delivery(std::int64_t id, TimePoint not_before,
                                      std::string_view error) = 0;

  // Makes deliveries claimed by a process that is gone claimable again. Call at start-up, before
  // any worker claims; returns how many were requeued.
  virtual Result<std::size_t> requeue_interrupted_deliveries() = 0;

  virtual Result<DeliveryCounts> count_deliveries() = 0;

  // Deliveries not finished yet (pending or claimed): cheap enough for every metrics scrape.
  virtual Result<std::int64_t> queue_depth() = 0;

  virtual Result<std::optional<Delivery>> find_delivery(std::string_view instance,
                                                        std::string_view delivery_id) = 0;

  // Deletes finished (done or failed) deliveries received before `received_before`; the delivery
  // ids go with them, so keep them longer than any forge redelivers (GitHub: 3 days).
  virtual Result<std::size_t> prune_deliveries(TimePoint received_before) = 0;
};

}  // namespace forgehand
