#pragma once
// One filled-in view per template: every optional part present and every list with items, with
// the text people and models really send (Unicode, CRLF, mentions, HTML). A template override is
// checked against these, so each of its tags meets the data it will meet in a real render; the
// golden tests render them on every forge. Pure functions.

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
