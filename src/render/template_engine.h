#pragma once
// One mustache template, parsed once with the line of each tag and checked against the data
// before kainjow renders it: a missing name is an error naming template, name and line, never the
// empty string kainjow would write. Immutable after parsing; thread-safe.

#include <cstddef>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "forgehand/error.h"

namespace forgehand::render {

struct Tag {
  enum class Kind {
    variable,   // {{name}}: escaped
    unescaped,  // {{{name}}} or {{&name}}
    section,    // {{#name}}...{{/name}}
    inverted,   // {{^name}}...{{/name}}
    partial,    // {{> name}}
  };
  Kind kind = Kind::variable;
  std::string name;
  int line = 0;
  std::vector<Tag> children;  // sections only
};

class Template {
 public:
  // Sections nest at most this deep: rendering walks them recursively, and a repository's
  // template is untrusted input.
  static constexpr std::size_t kMaxDepth = 16;
  static constexpr std::size_t kMaxBytes = 64 * 1024;

  // `name` labels errors ("template result, line 3: ..."). Line breaks become LF and a byte order
  // mark is dropped, so a template saved on Windows renders like any other. Errors: `malformed`
  // for bad mustache (unclosed tags and sections, bad delimiters, nesting too deep), or
  // `payload_too_large` over kMaxBytes.
  static Result<Template> parse(std::string name, std::string_view text);

  const std::string& name() const { return name_; }
  const std::string& text() const { return text_; }
  const std::vector<Tag>& tags() const { return tags_; }

 private:
  std::string name_;
  std::string text_;
  std::vector<Tag> tags_;
};

// The partials `{{> name}}` may include.
using Partials = std::map<std::string, const Template*, std::less<>>;

// Checks every tag of `tmpl` (both sides of every section, every list item, included partials)
// against `data`, resolving names as mustache does from the innermost section outwards. Errors
// (`invalid_argument`): a name that resolves to nothing or to null, a list or object used as text,
// an unknown partial, or a template that would take too long to render (sections nested over
// lists). The first problem is reported: "template result, line 12: no variable `pr_url`".
Result<void> check_template(const Template& tmpl, const nlohmann::json& data,
                            const Partials& partials);

// check_template, then renders with kainjow. `{{name}}` goes through escape_text (markdown.h);
// `{{{name}}}` is written as it is. In sections an empty string is false, as in mustache.js.
// Errors as check_template, and `payload_too_large` past `max_output_bytes`.
Result<std::string> render_template(const Template& tmpl, const nlohmann::json& data,
                                    const Partials& partials, std::size_t max_output_bytes);

}  // namespace forgehand::render
