#pragma once
// The templates forgehand renders: built-in (templates/, compiled in), overridden by the server's
// templates_dir, overridden by a repository's .forgehand/templates/. An override that fails its
// checks is skipped with a warning, so no template silences the bot. Immutable; thread-safe.

#include <array>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "forgehand/error.h"
#include "render/template_engine.h"

namespace forgehand::render {

enum class TemplateName {
  acknowledgement,
  progress,
  result,
  failure,
  denied,
  help,
  explain,
  pull_request_body,
};

inline constexpr std::array<TemplateName, 8> kAllTemplateNames = {
    TemplateName::acknowledgement, TemplateName::progress,         TemplateName::result,
    TemplateName::failure,         TemplateName::denied,           TemplateName::help,
    TemplateName::explain,         TemplateName::pull_request_body};

std::string_view to_string(TemplateName name);
std::optional<TemplateName> parse_template_name(std::string_view name);

// The one partial: `{{> attribution}}`. result and pull_request_body must include it outside any
// section, and an override of it must still show every part of the attribution.
inline constexpr std::string_view kAttributionPartial = "attribution";
inline constexpr std::string_view kTemplateExtension = ".md.mustache";

class TemplateSet {
 public:
  // The templates compiled into the binary, each checked as an override would be. An error means
  // the binary was built with a broken template (the tests render every one).
  static Result<TemplateSet> builtin();

  // This set with `files` (template or partial name → text) layered over it. `origin` names
  // where they came from in warnings ("/etc/forgehand/templates", ".forgehand/templates"). A file
  // that fails to parse, uses a variable its template does not have, writes a plain variable
  // unescaped (`{{{title}}}`: only `*_md` variables are Markdown), includes an unknown partial,
  // drops the attribution where it is required, or has an unknown name, is skipped: the set keeps
  // what it had and a warning says why, with the line.
  TemplateSet with_overrides(const std::map<std::string, std::string>& files,
                             std::string_view origin, std::vector<std::string>& warnings) const;

  // Renders strictly (template_engine.h): an unknown variable is an error naming the template,
  // the variable and the line. Blank lines outside code are collapsed (collapse_blank_lines) and
  // the text ends with one line break. Output is bounded (a few MB); render.h fits it to a forge.
  Result<std::string> render(TemplateName name, const nlohmann::json& data) const;

  // Where the template in use comes from: "built-in" or an override's origin.
  const std::string& origin(TemplateName name) const;

 private:
  TemplateSet() = default;  // a set always has every template: builtin() is the only start

  struct Entry {
    std::shared_ptr<const Template> tmpl;
    std::string origin;
  };
  const Entry& entry(TemplateName name) const;

  std::array<Entry, kAllTemplateNames.size()> templates_;
  Entry attribution_;
};

// Reads the server's templates_dir: every `<name>.md.mustache` in it (other files are ignored)
// layered over the built-in set. A directory or file that cannot be read is a warning, like an
// invalid template. Fails only as TemplateSet::builtin does.
Result<TemplateSet> load_server_templates(const std::string& dir,
                                          std::vector<std::string>& warnings);

}  // namespace forgehand::render
