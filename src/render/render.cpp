#include "render/render.h"

#include <algorithm>
#include <vector>

#include "render/markdown.h"
#include "util/redact.h"

namespace forgehand::render {

namespace {

// Each cut aims this far below the limit, for the cut marker, a code fence closed after it and
// the part of the template that only shows when the field is not empty.
constexpr std::size_t kSlack = 256;
// A cut is an estimate (escaping is uneven), so fitting may take another round or two, and a
// second field may need cutting; this bounds the rounds.
constexpr int kMaxRounds = 32;

struct Shrinkable {
  std::string* text;
  Keep keep;
};

std::vector<Shrinkable> shrinkable(AcknowledgementView& view) {
  return {{&view.instructions, Keep::start}};
}
std::vector<Shrinkable> shrinkable(ProgressView&) { return {}; }
std::vector<Shrinkable> shrinkable(ResultView& view) { return {{&view.summary, Keep::start}}; }
// The end of a failure's output is where the failure is.
std::vector<Shrinkable> shrinkable(FailureView& view) { return {{&view.excerpt, Keep::end}}; }
std::vector<Shrinkable> shrinkable(DeniedView&) { return {}; }
std::vector<Shrinkable> shrinkable(HelpView&) { return {}; }
std::vector<Shrinkable> shrinkable(ExplainView&) { return {}; }
std::vector<Shrinkable> shrinkable(PullRequestBodyView& view) {
  return {{&view.summary, Keep::start}, {&view.task, Keep::start}};
}

template <class View>
Result<std::string> render_fitted(const TemplateSet& templates, TemplateName name, ForgeKind forge,
                                  View view) {
  std::vector<Shrinkable> fields = shrinkable(view);
  std::size_t limit = body_limit(forge);
  auto measure = [&]() -> Result<std::pair<std::string, std::size_t>> {
    auto out = templates.render(name, to_data(view, forge));
    if (!out) return tl::unexpected(out.error());
    std::size_t size = redact(*out).size();
    return std::pair{std::move(*out), size};
  };
  for (int round = 0;; ++round) {
    auto out = measure();
    if (!out) return tl::unexpected(out.error());
    auto& [text, size] = *out;
    if (size <= limit) return std::move(text);
    auto longest = std::max_element(
        fields.begin(), fields.end(),
        [](const Shrinkable& a, const Shrinkable& b) { return a.text->size() < b.text->size(); });
    if (longest == fields.end() || round == kMaxRounds) {
      return fail(ErrorCode::payload_too_large,
                  "template " + std::string(to_string(name)) + ": " + std::to_string(size) +
                      " bytes, over " + std::string(to_string(forge)) + "'s limit of " +
                      std::to_string(limit) + " even with its free text cut");
    }
    // How much the field weighs once rendered (escaping and sanitizing make text longer), from a
    // render without it, so one cut lands close below the limit instead of far below.
    std::string kept = std::move(*longest->text);
    longest->text->clear();
    auto without = measure();
    *longest->text = std::move(kept);
    if (!without) return tl::unexpected(without.error());
    std::size_t before = longest->text->size();
    std::size_t rest = without->second;
    std::size_t keep = 0;
    if (rest + kSlack < limit && size > rest && before > 0) {
      double per_byte =
          std::max(1.0, static_cast<double>(size - rest) / static_cast<double>(before));
      keep = std::min(
          before, static_cast<std::size_t>(static_cast<double>(limit - rest - kSlack) / per_byte));
    }
    *longest->text = cut_text(*longest->text, keep, longest->keep);
    // Down to its cut marker, a field has nothing more to give.
    if (keep == 0 || longest->text->size() >= before) fields.erase(longest);
  }
}

}  // namespace

std::size_t body_limit(ForgeKind forge) {
  switch (forge) {
    case ForgeKind::github:
      // docs.github.com, REST "Create an issue comment" and "Create a pull request": a body of
      // at most 65,536 characters ("body is too long (maximum is 65536 characters)").
      return 65'536;
    case ForgeKind::gitlab:
      // docs.gitlab.com/api/notes: a note body is limited to 1,000,000 characters (merge request
      // descriptions to 1,048,576; the smaller serves both).
      return 1'000'000;
    case ForgeKind::gitea:
    case ForgeKind::forgejo:
      // Neither documents a limit: the API binds a comment or pull request body only as
      // `Required` (modules/structs/issue_comment.go, pull.go) and stores it as LONGTEXT
      // (models/issues/comment.go). forges/gitea/api.h cuts at 1,000,000; so do we, so that cut
      // is never reached.
      return 1'000'000;
  }
  return 65'536;
}

Result<std::string> render_view(const TemplateSet& templates, ForgeKind forge,
                                const AcknowledgementView& view) {
  return render_fitted(templates, TemplateName::acknowledgement, forge, view);
}

Result<std::string> render_view(const TemplateSet& templates, ForgeKind forge,
                                const ProgressView& view) {
  return render_fitted(templates, TemplateName::progress, forge, view);
}

Result<std::string> render_view(const TemplateSet& templates, ForgeKind forge,
                                const ResultView& view) {
  return render_fitted(templates, TemplateName::result, forge, view);
}

Result<std::string> render_view(const TemplateSet& templates, ForgeKind forge,
                                const FailureView& view) {
  return render_fitted(templates, TemplateName::failure, forge, view);
}

Result<std::string> render_view(const TemplateSet& templates, ForgeKind forge,
                                const DeniedView& view) {
  return render_fitted(templates, TemplateName::denied, forge, view);
}

Result<std::string> render_view(const TemplateSet& templates, ForgeKind forge,
                                const HelpView& view) {
  return render_fitted(templates, TemplateName::help, forge, view);
}

Result<std::string> render_view(const TemplateSet& templates, ForgeKind forge,
                                const ExplainView& view) {
  return render_fitted(templates, TemplateName::explain, forge, view);
}

Result<std::string> render_view(const TemplateSet& templates, ForgeKind forge,
                                const PullRequestBodyView& view) {
  return render_fitted(templates, TemplateName::pull_request_body, forge, view);
}

}  // namespace forgehand::render
