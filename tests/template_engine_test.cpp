#include "render/template_engine.h"

#include <doctest/doctest.h>

#include <string>

using namespace forgehand;
using namespace forgehand::render;
using nlohmann::json;

namespace {

Template parsed(std::string_view text, std::string name = "t") {
  auto tmpl = Template::parse(std::move(name), text);
  REQUIRE_MESSAGE(tmpl.has_value(), tmpl.error().message);
  return *tmpl;
}

std::string rendered(std::string_view text, const json& data, const Partials& partials = {}) {
  auto out = render_template(parsed(text), data, partials, 1 << 20);
  REQUIRE_MESSAGE(out.has_value(), out.error().message);
  return *out;
}

std::string render_error(std::string_view text, const json& data, const Partials& partials = {}) {
  auto out = render_template(parsed(text, "result"), data, partials, 1 << 20);
  REQUIRE_FALSE(out.has_value());
  return out.error().message;
}

std::string parse_error(std::string_view text) {
  auto tmpl = Template::parse("result", text);
  REQUIRE_FALSE(tmpl.has_value());
  CHECK(tmpl.error().code == ErrorCode::malformed);
  return tmpl.error().message;
}

}  // namespace

TEST_CASE("template engine: renders variables, sections and lists") {
  json data = {{"name", "mara"},
               {"items", {{{"text", "a"}}, {{"text", "b"}}}},
               {"flag", true},
               {"empty", ""}};
  CHECK(rendered("hi {{name}}", data) == "hi mara");
  CHECK(rendered("{{#items}}[{{text}}]{{/items}}", data) == "[a][b]");
  CHECK(rendered("{{#flag}}yes{{/flag}}{{^flag}}no{{/flag}}", data) == "yes");
  // An empty string is false in a section, as in mustache.js.
  CHECK(rendered("{{#empty}}shown{{/empty}}{{^empty}}none{{/empty}}", data) == "none");
  // Lines holding only section tags leave no blank line.
  CHECK(rendered("a\n{{#flag}}\nb\n{{/flag}}\nc\n", data) == "a\nb\nc\n");
}

TEST_CASE("template engine: {{name}} is escaped for Markdown, {{{name_md}}} is not") {
  json data = {{"title", "<b>@all</b>"}, {"body_md", "**bold**"}};
  CHECK(rendered("{{title}} {{{body_md}}} {{&body_md}}", data) ==
        "&lt;b&gt;@&#8203;all&lt;/b&gt; **bold** **bold**");
}

TEST_CASE("template engine: a missing variable is an error with the template, name and line") {
  json data = {{"known", "x"}, {"list", {{{"a", "1"}}}}};
  std::string error = render_error("line one\n{{known}}\nthree {{pr_url}}\n", data);
  CHECK(error == "template result, line 3: unknown variable `pr_url`");
  CHECK(render_error("{{#list}}\n{{b}}\n{{/list}}", data) ==
        "template result, line 2: unknown variable `b`");
  CHECK(render_error("{{#nope}}x{{/nope}}", data) ==
        "template result, line 1: unknown variable `nope`");
  CHECK(render_error("{{^nope}}x{{/nope}}", data) ==
        "template result, line 1: unknown variable `nope`");
  CHECK(render_error("{{list.a}}", data) == "template result, line 1: unknown variable `list.a`");
  CHECK(render_error("{{list}}", data) ==
        "template result, line 1: `list` is a list, not text; use {{#list}}...{{/list}}");
}

TEST_CASE("template engine: both sides of every section are checked, whatever the data") {
  json data = {{"flag", false}, {"on", true}};
  // Neither branch renders its unknown name, yet both are errors: a template is wrong for every
  // data or for none.
  CHECK(render_error("{{#flag}}{{missing}}{{/flag}}", data) ==
        "template result, line 1: unknown variable `missing`");
  CHECK(render_error("{{^on}}\n{{missing}}{{/on}}", data) ==
        "template result, line 2: unknown variable `missing`");
}

TEST_CASE("template engine: names resolve from the innermost section outwards") {
  json data = {{"outer", "o"},
               {"obj", {{"inner", "i"}, {"deep", {{"x", "d"}}}}},
               {"list", {{{"v", "1"}}, {{"v", "2"}}}}};
  CHECK(rendered("{{#obj}}{{inner}}{{outer}}{{deep.x}}{{/obj}}", data) == "iod");
  CHECK(rendered("{{#list}}{{v}}{{outer}}{{/list}}", data) == "1o2o");
  CHECK(rendered("{{obj.deep.x}}", data) == "d");
  CHECK(rendered("{{#list}}{{#obj}}{{v}}{{inner}}{{/obj}}{{/list}}", data) == "1i2i");
}

TEST_CASE("template engine: partials are rendered in place and checked where they are included") {
  Template partial = parsed("[{{#attribution}}{{model}}{{/attribution}}]", "attribution");
  Partials partials{{"attribution", &partial}};
  json data = {{"attribution", {{"model", "gpt-4o"}}}};
  CHECK(rendered("x {{> attribution}} y", data, partials) == "x [gpt-4o] y");
  CHECK(render_error("{{> other}}", data, partials) ==
        "template result, line 1: unknown partial `other`");
  json without = {{"attribution", {{"provider", "openai"}}}};
  CHECK(render_error("{{> attribution}}", without, partials) ==
        "template attribution, line 1: unknown variable `model`");
}

TEST_CASE("template engine: parse errors name the template and the line") {
  CHECK(parse_error("a\n{{#open}}\nb\n") ==
        "template result, line 2: the section {{#open}} is "
        "not closed");
  CHECK(parse_error("{{#a}}\n{{/b}}") ==
        "template result, line 2: {{/b}} closes the section {{#a}} opened on line 1");
  CHECK(parse_error("x\n\n{{/a}}") ==
        "template result, line 3: {{/a}} closes a section that is not open");
  CHECK(parse_error("ok\n{{unclosed") ==
        "template result, line 2: a tag opened here is not closed");
  CHECK(parse_error("{{}}") == "template result, line 1: a tag without a name");
  CHECK(parse_error("{{=<% =}}") == "template result, line 1: bad delimiter tag");
  std::string deep;
  for (int i = 0; i < 17; ++i) deep += "{{#a}}";
  CHECK(parse_error(deep).find("sections nest more than 16 deep") != std::string::npos);
}

TEST_CASE("template engine: custom delimiters and comments follow mustache") {
  json data = {{"a", "1"}, {"b_md", "*2*"}};
  CHECK(rendered("{{=<% %>=}}<% a %> {{a}} <%={{ }}=%>{{a}}", data) == "1 {{a}} 1");
  CHECK(rendered("{{! a comment }}{{a}}", data) == "1");
  CHECK(render_error("{{=[ ]=}}\n[missing]", data) ==
        "template result, line 2: unknown variable `missing`");
}

TEST_CASE("template engine: CRLF templates and a byte order mark render like LF ones") {
  json data = {{"flag", true}, {"name", "日本"}};
  CHECK(rendered("\xEF\xBB\xBF{{#flag}}\r\nhi {{name}} 👋\r\n{{/flag}}\r\n", data) == "hi 日本 👋\n");
  CHECK(render_error("a\r\nb\r\n{{x}}", data) == "template result, line 3: unknown variable `x`");
}

TEST_CASE("template engine: hostile templates are bounded") {
  json data = {{"list", json::array()}};
  for (int i = 0; i < 10; ++i) data["list"].push_back({{"v", "x"}});
  std::string nested;
  for (int i = 0; i < 8; ++i) nested += "{{#list}}";
  nested += "{{v}}";
  for (int i = 0; i < 8; ++i) nested += "{{/list}}";
  auto out = render_template(parsed(nested), data, {}, 1 << 20);
  REQUIRE_FALSE(out.has_value());
  CHECK(out.error().message.find("too much to render") != std::string::npos);

  auto big = render_template(parsed("{{#list}}{{v}}{{v}}{{/list}}"), data, {}, 10);
  REQUIRE_FALSE(big.has_value());
  CHECK(big.error().code == ErrorCode::payload_too_large);

  std::string huge(Template::kMaxBytes + 1, 'x');
  auto too_long = Template::parse("t", huge);
  REQUIRE_FALSE(too_long.has_value());
  CHECK(too_long.error().code == ErrorCode::payload_too_large);
}
