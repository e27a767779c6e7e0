#include "dispatch/delivery_dispatcher.h"

#include "util/log.h"

namespace forgehand {

DeliveryDispatcher::DeliveryDispatcher(std::vector<std::unique_ptr<Forge>> forges,
                                       EventHandler on_event)
    : on_event_(std::move(on_event)) {
  for (auto& forge : forges) {
    std::string name = forge->instance();
    forges_.emplace(std::move(name), std::move(forge));
  }
}

Result<void> DeliveryDispatcher::handle(const Delivery& delivery) const {
  auto found = forges_.find(delivery.instance);
  if (found == forges_.end()) {
    return fail(ErrorCode::not_found,
                "no forge instance named \"" + delivery.instance + "\" is configured now");
  }
  auto parsed = found->second->parse(delivery);
  if (!parsed) return tl::unexpected(parsed.error());
  if (const auto* ignored = std::get_if<Ignored>(&*parsed)) {
    log::info("delivery ignored", {{"delivery", delivery.delivery_id},
                                   {"instance", delivery.instance},
                                   {"event", delivery.event},
                                   {"reason", ignored->reason}});
    return {};
  }
  return on_event_(std::get<Event>(*parsed), *found->second);
}

}  // namespace forgehand
