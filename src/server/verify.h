#pragma once
// Webhook authenticity, decided by the configured instance's forge kind, never by the headers a
// request brings (Gitea and Forgejo send GitHub's headers too). Details and sources:
// docs/architecture.md and ../shared/reference/forge-protocols.md. Pure functions.

#include <optional>
#include <string>
#include <string_view>

#include "config/server_config.h"
#include "forgehand/clock.h"
#include "forgehand/delivery.h"
#include "forgehand/error.h"
#include "util/secret.h"

namespace forgehand {

struct WebhookSecrets {
  std::optional<Secret> secret;       // HMAC key, or GitLab's plain X-Gitlab-Token value
  std::optional<Secret> signing_key;  // GitLab signing token, base64-decoded from `whsec_...`
  bool insecure_no_secret = false;
};

// Reads the instance's secret references. Errors name the config location, never a value.
Result<WebhookSecrets> resolve_webhook_secrets(const InstanceConfig& instance);

// GitLab signing-token timestamps further than this from now are rejected as replays.
inline constexpr std::chrono::seconds kSignatureTolerance{300};

// Checks `body` against the signature headers (`headers` has lower-cased names). Constant-time
// comparisons; a missing or empty signature fails whenever a secret is configured.
// Errors are `unauthorized` and say which header failed, never what was expected.
Result<void> verify_webhook(ForgeKind kind, const WebhookSecrets& secrets, const HeaderMap& headers,
                            std::string_view body, TimePoint now);

}  // namespace forgehand
