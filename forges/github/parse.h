#pragma once
// GitHub App webhook payloads → Event. Pure; thread-safe.
// Payload shapes: octokit/webhooks payload-schemas (api.github.com) and
// docs.github.com/en/webhooks/webhook-events-and-payloads.

#include <string_view>

#include "forgehand/delivery.h"
#include "forgehand/error.h"
#include "forgehand/event.h"

namespace forgehand::github {

Result<Parsed> parse_delivery(const Delivery& delivery, std::string_view bot_login);

}  // namespace forgehand::github
