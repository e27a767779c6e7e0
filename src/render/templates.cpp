#include "render/templates.h"

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "render/builtin_templates.h"
#include "render/markdown.h"
#include "render/samples.h"
#include "util/text.h"

namespace forgehand::render {

namespace {

namespace fs = std::filesystem;

// Far above any forge's comment limit (GitLab: 1,000,000), so render.h can see how much a
// render is over and cut it down, while a runaway template still stops.
constexpr std::size_t kMaxOutputBytes = 4 * 1024 * 1024;

constexpr std::string_view kBuiltinOrigin = "built-in";

// What the attribution partial must show, whoever writes it: which model did the work, how it got
// there, what it cost, for whom (issue 5, "Templates").
constexpr std::array<std::string_view, 11> kAttributionFields = {
    "provider",      "model", "endpoint_host", "route",      "tried_first", "input_tokens",
    "output_tokens", "cost",  "runner_time",   "session_id", "requester"};

std::string_view last_segment(std::string_view name) {
  std::size_t dot = name.rfind('.');
  return dot == std::string_view::npos || name == "." ? name : name.substr(dot + 1);
}

struct RuleWalk {
  bool in_partial = false;
  bool attribution_at_top = false;
  std::set<std::string, std::less<>> names;
};

Result<void> walk_rules(const Template& tmpl, const std::vector<Tag>& tags, int depth,
                        RuleWalk& walk) {
  for (const Tag& tag : tags) {
    auto error = [&](const std::string& message) {
      return fail(ErrorCode::invalid_argument, "template " + tmpl.name() + ", line " +
                                                   std::to_string(tag.line) + ": " + message);
    };
    walk.names.insert(std::string(last_segment(tag.name)));
    switch (tag.kind) {
      case Tag::Kind::unescaped:
        if (!last_segment(tag.name).ends_with("_md")) {
          return error("`" + tag.name + "` is plain text and must be escaped: write {{" + tag.name +
                       "}} (only variables ending in _md hold Markdown)");
        }
        break;
      case Tag::Kind::partial:
        if (tag.name != kAttributionPartial) {
          return error("unknown partial `" + tag.name + "` (the one partial is attribution)");
        }
        if (walk.in_partial) return error("the attribution partial cannot include a partial");
        if (depth == 0) walk.attribution_at_top = true;
        break;
      case Tag::Kind::section:
      case Tag::Kind::inverted:
        if (auto ok = walk_rules(tmpl, tag.children, depth + 1, walk); !ok) return ok;
        break;
      case Tag::Kind::variable:
        break;
    }
  }
  return {};
}

// The rules beyond mustache: plain text is always escaped, the attribution partial is the only
// partial, and a result or pull request body always shows the attribution, complete.
Result<void> check_rules(const Template& tmpl, std::optional<TemplateName> name) {
  RuleWalk walk;
  walk.in_partial = !name.has_value();
  if (auto ok = walk_rules(tmpl, tmpl.tags(), 0, walk); !ok) return ok;
  bool needs_attribution = name == TemplateName::result || name == TemplateName::pull_request_body;
  if (needs_attribution && !walk.attribution_at_top) {
    return fail(ErrorCode::invalid_argument,
                "template " + tmpl.name() +
                    ": must include {{> attribution}} outside any section (every result and pull "
                    "request body shows which model did the work)");
  }
  if (!name) {
    for (std::string_view field : kAttributionFields) {
      if (!walk.names.contains(field)) {
        return fail(
            ErrorCode::invalid_argument,
            "template " + tmpl.name() + ": the attribution must show `" + std::string(field) + "`");
      }
    }
  }
  return {};
}

// Parses and checks one template (`name`) or the attribution partial (no name) against every
// forge's sample data, with `attribution` as the partial a template includes.
Result<std::shared_ptr<const Template>> accept(std::string label, std::string_view text,
                                               std::optional<TemplateName> name,
                                               const Template* attribution) {
  auto tmpl = Template::parse(std::move(label), text);
  if (!tmpl) return tl::unexpected(tmpl.error());
  if (auto ok = check_rules(*tmpl, name); !ok) return tl::unexpected(ok.error());
  Partials partials;
  if (name) partials.emplace(std::string(kAttributionPartial), attribution);
  for (ForgeKind forge : kAllForgeKinds) {
    // The partial is written for the data of the templates that include it, whose root holds
    // `attribution`; result's is one of them.
    nlohmann::json data = sample_data(name.value_or(TemplateName::result), forge);
    if (auto ok = check_template(*tmpl, data, partials); !ok) return tl::unexpected(ok.error());
  }
  return std::make_shared<const Template>(std::move(*tmpl));
}

std::string file_name(std::string_view name) {
  return std::string(name) + std::string(kTemplateExtension);
}

}  // namespace

std::string_view to_string(TemplateName name) {
  switch (name) {
    case TemplateName::acknowledgement:
      return "acknowledgement";
    case TemplateName::progress:
      return "progress";
    case TemplateName::result:
      return "result";
    case TemplateName::failure:
      return "failure";
    case TemplateName::denied:
      return "denied";
    case TemplateName::help:
      return "help";
    case TemplateName::explain:
      return "explain";
    case TemplateName::pull_request_body:
      return "pull_request_body";
  }
  return "unknown";
}

std::optional<TemplateName> parse_template_name(std::string_view name) {
  for (TemplateName candidate : kAllTemplateNames) {
    if (to_string(candidate) == name) return candidate;
  }
  return std::nullopt;
}

Result<TemplateSet> TemplateSet::builtin() {
  static const Result<TemplateSet> cached = []() -> Result<TemplateSet> {
    auto text_of = [](std::string_view name) -> std::optional<std::string_view> {
      for (const EmbeddedTemplate& file : builtin_template_files()) {
        if (file.name == name) return file.text;
      }
      return std::nullopt;
    };
    auto broken = [](const Error& error) {
      return fail(ErrorCode::internal, "built-in " + error.message);
    };
    TemplateSet set;
    auto partial_text = text_of(kAttributionPartial);
    if (!partial_text) return fail(ErrorCode::internal, "no built-in attribution partial");
    auto partial = accept(std::string(kAttributionPartial), *partial_text, std::nullopt, nullptr);
    if (!partial) return broken(partial.error());
    set.attribution_ = {*partial, std::string(kBuiltinOrigin)};
    for (TemplateName name : kAllTemplateNames) {
      auto text = text_of(to_string(name));
      if (!text) {
        return fail(ErrorCode::internal, "no built-in template " + std::string(to_string(name)));
      }
      auto tmpl = accept(std::string(to_string(name)), *text, name, partial->get());
      if (!tmpl) return broken(tmpl.error());
      set.templates_[static_cast<std::size_t>(name)] = {*tmpl, std::string(kBuiltinOrigin)};
    }
    return set;
  }();
  return cached;
}

TemplateSet TemplateSet::with_overrides(const std::map<std::string, std::string>& files,
                                        std::string_view origin,
                                        std::vector<std::string>& warnings) const {
  TemplateSet set = *this;
  auto skipped = [&](const Error& error, const Entry& kept) {
    warnings.push_back(error.message + (kept.origin == kBuiltinOrigin
                                            ? "; using the built-in template instead"
                                            : "; using the one from " + kept.origin + " instead"));
  };
  auto label = [&](std::string_view name) { return std::string(origin) + "/" + file_name(name); };

  // The partial first: the templates of this level are checked with the partial they will use.
  if (auto partial = files.find(std::string(kAttributionPartial)); partial != files.end()) {
    auto accepted = accept(label(partial->first), partial->second, std::nullopt, nullptr);
    if (accepted) {
      set.attribution_ = {*accepted, std::string(origin)};
    } else {
      skipped(accepted.error(), set.attribution_);
    }
  }
  std::vector<std::string_view> known{kAttributionPartial};
  for (TemplateName name : kAllTemplateNames) known.push_back(to_string(name));
  for (const auto& [file, text] : files) {
    if (file == kAttributionPartial) continue;
    auto name = parse_template_name(file);
    if (!name) {
      std::string message = label(file) + ": not a template forgehand renders";
      if (auto guess = text::closest_match(file, known))
        message += " (did you mean " + *guess + "?)";
      warnings.push_back(message + "; ignored");
      continue;
    }
    Entry& slot = set.templates_[static_cast<std::size_t>(*name)];
    auto accepted = accept(label(file), text, name, set.attribution_.tmpl.get());
    if (accepted) {
      slot = {*accepted, std::string(origin)};
    } else {
      skipped(accepted.error(), slot);
    }
  }
  return set;
}

Result<std::string> TemplateSet::render(TemplateName name, const nlohmann::json& data) const {
  Partials partials{{std::string(kAttributionPartial), attribution_.tmpl.get()}};
  auto out = render_template(*entry(name).tmpl, data, partials, kMaxOutputBytes);
  if (!out) return out;
  std::string text = collapse_blank_lines(*out);
  std::size_t end = text.find_last_not_of(" \t\n");
  text.erase(end == std::string::npos ? 0 : end + 1);
  text.push_back('\n');
  return text;
}

const std::string& TemplateSet::origin(TemplateName name) const { return entry(name).origin; }

const TemplateSet::Entry& TemplateSet::entry(TemplateName name) const {
  return templates_[static_cast<std::size_t>(name)];
}

Result<TemplateSet> load_server_templates(const std::string& dir,
                                          std::vector<std::string>& warnings) {
  auto builtin = TemplateSet::builtin();
  if (!builtin) return builtin;
  std::map<std::string, std::string> files;
  std::error_code ec;
  fs::directory_iterator entries(dir, ec);
  if (ec) {
    warnings.push_back(dir + ": cannot be read (" + ec.message() +
                       "); using the built-in templates");
    return builtin;
  }
  for (const fs::directory_entry& entry : entries) {
    std::string name = entry.path().filename().string();
    if (!name.ends_with(kTemplateExtension) || !entry.is_regular_file(ec)) continue;
    name.resize(name.size() - kTemplateExtension.size());
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream text;
    if (in) text << in.rdbuf();
    if (!in) {
      warnings.push_back(entry.path().string() + ": cannot be read; using the built-in template");
      continue;
    }
    files.emplace(std::move(name), text.str());
  }
  return builtin->with_overrides(files, dir, warnings);
}

}  // namespace forgehand::render
