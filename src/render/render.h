#pragma once
// Renders a view into a comment or pull request body within the forge's limit: long free text is
// cut with a visible "(cut)" and the template rendered again, so the attribution block arrives
// whole rather than lost to the adapters' cut at the end (comment_text.h). Pure functions.

#include <cstddef>
#include <string>

#include "forgehand/error.h"
#include "forgehand/forge_kind.h"
#include "render/templates.h"
#include "render/views.h"

namespace forgehand::render {

// The most bytes a comment or pull request body may have on `forge`, counted after redaction as
// the adapters count it. Bytes, not characters, so a limit in characters is met too.
std::size_t body_limit(ForgeKind forge);

// Each renders the view's template from `templates`. Errors: the template's (an unknown variable
// names the template, the variable and the line), or `payload_too_large` when the text does not
// fit even with every free-text field cut.
Result<std::string> render_view(const TemplateSet& templates, ForgeKind forge,
                                const AcknowledgementView& view);
Result<std::string> render_view(const TemplateSet& templates, ForgeKind forge,
                                const ProgressView& view);
Result<std::string> render_view(const TemplateSet& templates, ForgeKind forge,
                                const ResultView& view);
Result<std::string> render_view(const TemplateSet& templates, ForgeKind forge,
                                const FailureView& view);
Result<std::string> render_view(const TemplateSet& templates, ForgeKind forge,
                                const DeniedView& view);
Result<std::string> render_view(const TemplateSet& templates, ForgeKind forge,
                                const HelpView& view);
Result<std::string> render_view(const TemplateSet& templates, ForgeKind forge,
                                const ExplainView& view);
Result<std::string> render_view(const TemplateSet& templates, ForgeKind forge,
                                const PullRequestBodyView& view);

}  // namespace forgehand::render
