#pragma once
// Renders a view with its template into a comment or pull request body that fits the forge's
// limit. When the text is too long, the long free-text fields (runner summary, task, excerpt) are
// cut with a visible "(cut)" and the template rendered again, so the attribution block and the
// rest of the template always arrive whole; the adapters' own last-resort cut at the end of a body
// (forges/common/comment_text.h) is never reached. Pure functions; thread-safe.

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
