#pragma once
// Turns a recorded delivery into an Event through its instance's forge adapter and hands the
// event on. Deliveries an adapter ignores end here, with the reason logged. Used as the workers'
// DeliveryHandler; thread-safe (adapters are immutable).

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "forgehand/delivery.h"
#include "forgehand/error.h"
#include "forgehand/event.h"
#include "forgehand/forge.h"

namespace forgehand {

// Receives each event and the adapter of its instance (to answer on the forge); an error follows
// the workers' rules (transient errors are retried).
using EventHandler = std::function<Result<void>(const Event&, const Forge&)>;

class DeliveryDispatcher {
 public:
  DeliveryDispatcher(std::vector<std::unique_ptr<Forge>> forges, EventHandler on_event);

  // Errors: `not_found` for an instance with no adapter (a config change since the delivery was
  // recorded); the adapter's `malformed` for a payload it cannot convert; else `on_event`'s.
  Result<void> handle(const Delivery& delivery) const;

 private:
  std::map<std::string, std::unique_ptr<Forge>, std::less<>> forges_;
  EventHandler on_event_;
};

}  // namespace forgehand
