#pragma once
// Gitea and Forgejo webhook payloads → Event; one converter with a flavour flag until the forges
// diverge further. Pure; thread-safe.
// Payload shapes: go-gitea/gitea modules/structs/hook.go; Forgejo modules/structs/hook.go
// (ActionPayload for action_run_*).

#include <string_view>

#include "forgehand/delivery.h"
#include "forgehand/error.h"
#include "forgehand/event.h"

namespace forgehand::gitea {

enum class Flavour { gitea, forgejo };

Result<Parsed> parse_delivery(const Delivery& delivery, Flavour flavour,
                              std::string_view bot_login);

}  // namespace forgehand::gitea
