#include "render/templates.h"

#include <doctest/doctest.h>

#include <fstream>
#include <string>

#include "render/render.h"
#include "render/samples.h"
#include "support/fixtures.h"

using namespace forgehand;
using namespace forgehand::render;

namespace {

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

TemplateSet builtin_set() {
  auto set = TemplateSet::builtin();
  REQUIRE_MESSAGE(set.has_value(), set.error().message);
  return *set;
}

void write(const testing::TempDir& dir, std::string_view name, std::string_view text) {
  std::ofstream(dir.file(name), std::ios::binary) << text;
}

std::string render_denied(const TemplateSet& set) {
  auto out = render_view(set, ForgeKind::github, sample_denied());
  REQUIRE_MESSAGE(out.has_value(), out.error().message);
  return *out;
}

std::string render_result(const TemplateSet& set) {
  auto out = render_view(set, ForgeKind::github, sample_result());
  REQUIRE_MESSAGE(out.has_value(), out.error().message);
  return *out;
}

constexpr std::string_view kServerDenied = "server says no, @{{requester}}: {{request}}\n";
constexpr std::string_view kRepoDenied = "repo says no: {{#reasons}}{{text}}; {{/reasons}}\n";

}  // namespace

TEST_CASE("templates: every name has a built-in template") {
  TemplateSet set = builtin_set();
  for (TemplateName name : kAllTemplateNames) {
    CHECK(set.origin(name) == "built-in");
    CHECK(parse_template_name(to_string(name)) == name);
  }
  CHECK_FALSE(parse_template_name("attribution").has_value());
}

TEST_CASE("templates: the repository overrides the server, which overrides the built-in") {
  testing::TempDir server;
  write(server, "denied.md.mustache", kServerDenied);
  write(server, "README.md", "not a template, ignored");
  std::vector<std::string> warnings;
  auto server_set = load_server_templates(server.path().string(), warnings);
  REQUIRE(server_set.has_value());
  CHECK(warnings.empty());
  CHECK(server_set->origin(TemplateName::denied) == server.path().string());
  CHECK(server_set->origin(TemplateName::help) == "built-in");
  CHECK(render_denied(*server_set) == "server says no, @mara-k: fix\n");

  TemplateSet repo_set = server_set->with_overrides({{"denied", std::string(kRepoDenied)}},
                                                    ".forgehand/templates", warnings);
  CHECK(warnings.empty());
  CHECK(repo_set.origin(TemplateName::denied) == ".forgehand/templates");
  CHECK(contains(render_denied(repo_set), "repo says no: mara-k has read permission"));
  // The layers below are untouched.
  CHECK(render_denied(*server_set) == "server says no, @mara-k: fix\n");
}

TEST_CASE("templates: a broken repository template falls back to the server's, with a warning") {
  testing::TempDir server;
  write(server, "denied.md.mustache", kServerDenied);
  std::vector<std::string> warnings;
  auto server_set = load_server_templates(server.path().string(), warnings);
  REQUIRE(server_set.has_value());

  TemplateSet repo_set =
      server_set->with_overrides({{"denied", "no\n{{#reasons}}\n{{reason}}\n{{/reasons}}\n"}},
                                 ".forgehand/templates", warnings);
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0] ==
        "template .forgehand/templates/denied.md.mustache, line 3: unknown "
        "variable `reason`; using the one from " +
            server.path().string() + " instead");
  CHECK(repo_set.origin(TemplateName::denied) == server.path().string());
  CHECK(render_denied(repo_set) == "server says no, @mara-k: fix\n");
}

TEST_CASE("templates: a broken server template falls back to the built-in, with a warning") {
  testing::TempDir server;
  write(server, "denied.md.mustache", "{{#reasons}}never closed\n");
  write(server, "help.md.mustache", "{{{suggestion}}}");
  std::vector<std::string> warnings;
  auto set = load_server_templates(server.path().string(), warnings);
  REQUIRE(set.has_value());
  REQUIRE(warnings.size() == 2);
  CHECK(contains(warnings[0],
                 "denied.md.mustache, line 1: the section {{#reasons}} is not "
                 "closed; using the built-in template instead"));
  CHECK(contains(warnings[1],
                 "help.md.mustache, line 1: `suggestion` is plain text and must be "
                 "escaped"));
  CHECK(set->origin(TemplateName::denied) == "built-in");
  CHECK(set->origin(TemplateName::help) == "built-in");
  CHECK(render_denied(*set) == render_denied(builtin_set()));
}

TEST_CASE("templates: overrides cannot drop or hollow out the attribution") {
  std::vector<std::string> warnings;
  TemplateSet set = builtin_set().with_overrides(
      {{"result", "done: {{{summary_md}}}\n"},
       {"pull_request_body", "{{#has_pull_request}}{{> attribution}}{{/has_pull_request}}"},
       {"attribution", "{{#attribution}}by {{model}}{{/attribution}}"}},
      "repo", warnings);
  REQUIRE(warnings.size() == 3);
  CHECK(contains(warnings[0],
                 "repo/attribution.md.mustache: the attribution must show "
                 "`provider`"));
  CHECK(contains(warnings[1],
                 "repo/pull_request_body.md.mustache: must include {{> attribution}} "
                 "outside any section"));
  CHECK(contains(warnings[2], "repo/result.md.mustache: must include {{> attribution}}"));
  CHECK(set.origin(TemplateName::result) == "built-in");
  CHECK(set.origin(TemplateName::pull_request_body) == "built-in");
}

TEST_CASE("templates: a complete attribution override is used by every template") {
  std::string attribution =
      "{{#attribution}}[{{provider}}/{{model}}@{{endpoint_host}} via {{route}}"
      "{{#tried_first}} after {{provider}}{{/tried_first}}; {{input_tokens}}+{{output_tokens}} "
      "tokens, {{cost}}, {{runner_time}}, {{session_id}} for {{requester}}]{{/attribution}}\n";
  std::vector<std::string> warnings;
  TemplateSet set = builtin_set().with_overrides({{"attribution", attribution}}, "repo", warnings);
  CHECK(warnings.empty());
  std::string out = render_result(set);
  CHECK(contains(out,
                 "[claude/claude-sonnet-4-5@api.anthropic.com via default after local after "
                 "claude; 1,263,700+25,233 tokens, 4.1575 USD, 3 min 12 s, fh-7q2k9x4m for "
                 "mara-k]"));
}

TEST_CASE("templates: unknown names and partials are reported, not used") {
  std::vector<std::string> warnings;
  TemplateSet set = builtin_set().with_overrides({{"reslt", "x"}, {"denied", "{{> footer}}"}},
                                                 ".forgehand/templates", warnings);
  REQUIRE(warnings.size() == 2);
  CHECK(contains(warnings[0], "denied.md.mustache, line 1: unknown partial `footer`"));
  CHECK(warnings[1] ==
        ".forgehand/templates/reslt.md.mustache: not a template forgehand renders "
        "(did you mean result?); ignored");
  CHECK(set.origin(TemplateName::denied) == "built-in");
}

TEST_CASE("templates: an unreadable server directory leaves the built-in templates") {
  std::vector<std::string> warnings;
  auto set = load_server_templates("/nonexistent/forgehand-templates", warnings);
  REQUIRE(set.has_value());
  REQUIRE(warnings.size() == 1);
  CHECK(contains(warnings[0], "/nonexistent/forgehand-templates: cannot be read"));
  CHECK(set->origin(TemplateName::result) == "built-in");
}

TEST_CASE("templates: overrides saved with CRLF and a byte order mark work") {
  std::vector<std::string> warnings;
  TemplateSet set = builtin_set().with_overrides(
      {{"denied",
        "\xEF\xBB\xBFnein, {{requester}}:\r\n{{#reasons}}\r\n- {{text}}\r\n{{/reasons}}\r\n"}},
      "repo", warnings);
  CHECK(warnings.empty());
  std::string out = render_denied(set);
  CHECK(out.starts_with("nein, mara-k:\n- mara-k has read permission"));
  CHECK_FALSE(contains(out, "\r"));
}
