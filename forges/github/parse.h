#pragma once
// GitHub App webhook payloads → Event. Pure; thread-safe.
// Payload shapes: octokit/webhooks payload-schemas (api.github.com) and
// docs.github.com/en/webhooks/webhook-events-and-payloads.

#include <string_view>

#include "forgehand/delivery.h"
#include "forgehand/error.h"
#include "forgehand/event.h"

namespace forgehand::github {

// Marks the run id of check_suite and check_run events: a check suite's id is no workflow run's,
// so GithubApi::failed_jobs lists the suite's check runs for it instead of a run's jobs.
inline constexpr std::string_view kCheckSuiteRun = "check-suite:";

Result<Parsed> parse_delivery(const Delivery& delivery, std::string_view bot_login);

}  // namespace forgehand::github
