#pragma once
// GitLab webhook payloads → Event. Pure; thread-safe.
// Payload shapes: docs.gitlab.com/user/project/integrations/webhook_events
// (gitlabhq/gitlabhq doc/user/project/integrations/webhook_events.md).

#include <string_view>

#include "forgehand/delivery.h"
#include "forgehand/error.h"
#include "forgehand/event.h"

namespace forgehand::gitlab {

Result<Parsed> parse_delivery(const Delivery& delivery, std::string_view bot_login);

}  // namespace forgehand::gitlab
