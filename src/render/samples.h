#pragma once
// A filled-in view per template (every optional part present, every list with items; Unicode, CRLF,
// mentions and HTML as people and models send them): what overrides are checked against, and the
// golden tests' input. Pure functions.

#include <nlohmann/json.hpp>

#include "forgehand/forge_kind.h"
#include "render/templates.h"
#include "render/views.h"

namespace forgehand::render {

AttributionView sample_attribution();
AcknowledgementView sample_acknowledgement();
ProgressView sample_progress();
ResultView sample_result();
FailureView sample_failure();
DeniedView sample_denied();
HelpView sample_help();
ExplainView sample_explain();
PullRequestBodyView sample_pull_request_body();

// to_data of the template's sample view.
nlohmann::json sample_data(TemplateName name, ForgeKind forge);

}  // namespace forgehand::render
