#pragma once
// The files of templates/ (*.md.mustache), compiled into the binary at build time by
// cmake/embed_templates.cmake, so `make run` works from any directory and an installed binary
// needs no share directory. Plain values.

#include <span>
#include <string_view>

namespace forgehand::render {

struct EmbeddedTemplate {
  std::string_view name;  // the file name without .md.mustache
  std::string_view text;
};

std::span<const EmbeddedTemplate> builtin_template_files();

}  // namespace forgehand::render
