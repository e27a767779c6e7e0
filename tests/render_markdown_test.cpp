#include <doctest/doctest.h>

#include <string>

#include "render/markdown.h"

using namespace forgehand::render;

namespace {
bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}
}  // namespace

TEST_CASE("render: escape_text keeps identifiers and escapes markup") {
  CHECK(escape_text("claude-sonnet-4-5") == "claude-sonnet-4-5");
  CHECK(escape_text("qwen2.5-coder:14b") == "qwen2.5-coder:14b");
  CHECK(escape_text("api.anthropic.com") == "api.anthropic.com");
  CHECK(escape_text("local_only") == "local_only");
  CHECK(escape_text("<img src=x onerror=alert(1)>") == "&lt;img src=x onerror=alert(1)&gt;");
  CHECK(escape_text("a | b") == "a \\| b");
  CHECK(escape_text("**bold** [link](x) `code` ~~s~~") ==
        "\\*\\*bold\\*\\* \\[link\\](x) \\`code\\` \\~\\~s\\~\\~");
  CHECK(escape_text("Tom & \"Jerry\"") == "Tom &amp; &quot;Jerry&quot;");
  CHECK(escape_text("two\nlines\r\nhere") == "two lines here");
}

TEST_CASE("render: escape_text stops a field from starting a block") {
  CHECK(escape_text("# Title") == "\\# Title");
  CHECK(escape_text("- item") == "\\- item");
  CHECK(escape_text("1. first") == "1\\. first");
  CHECK(escape_text("/merge") == "\\/merge");
  CHECK(escape_text("#12") == "#12");
  CHECK(escape_text("### x") == "\\### x");
  CHECK(escape_text("see #12") == "see #12");
}

TEST_CASE("render: mentions in plain and Markdown text cannot ping") {
  CHECK(escape_text("@everyone") == "@&#8203;everyone");
  CHECK(escape_text("ping @acme/security now") == "ping @&#8203;acme/security now");
  CHECK(escape_text("(@_bot)") == "(@&#8203;_bot)");
  CHECK(escape_text("me@example.com") == "me@example.com");
  CHECK(escape_text("@ alone") == "@ alone");
  CHECK(sanitize_markdown("cc @all and @org/team") == "cc @&#8203;all and @&#8203;org/team");
  // Escaped forms that would render as a mention.
  CHECK(sanitize_markdown("\\@admin") == "\\@&#8203;admin");
  CHECK(sanitize_markdown("&#64;admin") == "&amp;#64;admin");
}

TEST_CASE("render: mentions and HTML inside code stay as written") {
  std::string md =
      "Use `@Override` and `a<b>`.\n"
      "```java\n"
      "@Override <T> void f();\n"
      "```\n"
      "after @x";
  std::string out = sanitize_markdown(md);
  CHECK(contains(out, "`@Override` and `a<b>`"));
  CHECK(contains(out, "@Override <T> void f();"));
  CHECK(contains(out, "after @&#8203;x"));
}

TEST_CASE("render: raw HTML in Markdown cannot hide or close anything") {
  std::string out = sanitize_markdown("text <!-- hidden --> and </details><details>");
  CHECK(out == "text &lt;!-- hidden --> and &lt;/details>&lt;details>");
}

TEST_CASE("render: closing keywords from users and models close nothing") {
  CHECK(sanitize_markdown("Fixes #12") == "Fixes&#8203; #12");
  CHECK(sanitize_markdown("this closes: acme/widgets#3") == "this closes&#8203;: acme/widgets#3");
  CHECK(sanitize_markdown("Resolves https://gitlab.example.com/a/b/-/issues/4") ==
        "Resolves&#8203; https://gitlab.example.com/a/b/-/issues/4");
  CHECK(sanitize_markdown("fixed the bug in #12") == "fixed the bug in #12");
  CHECK(sanitize_markdown("prefix #12") == "prefix #12");
  CHECK(escape_text("Closes #7") == "Closes&#8203; #7");
}

TEST_CASE("render: GitLab quick actions in user text do not run") {
  CHECK(sanitize_markdown("/merge\n  /close now") == "\\/merge\n  \\/close now");
  CHECK(sanitize_markdown("```\n/merge\n```") == "```\n/merge\n```");
}

TEST_CASE("render: an unclosed fence is closed so it cannot swallow the rest") {
  CHECK(sanitize_markdown("```\ncode <b>") == "```\ncode <b>\n```");
  CHECK(sanitize_markdown("````md\n```\nstill code\n") == "````md\n```\nstill code\n````");
}

TEST_CASE("render: uncertain code is treated as text") {
  // A fence in a list item ends with the item; this scanner cannot follow that, so everything
  // after it is escaped rather than trusted as code.
  std::string out = sanitize_markdown("- ```\n  code\n- <img src=x>\n```\n<b>\n```");
  CHECK_FALSE(contains(out, "<img"));
  CHECK_FALSE(contains(out, "<b>"));
  // A code span may run across lines; after an unmatched backtick nothing on the following lines
  // of the paragraph counts as code.
  out = sanitize_markdown("a `b\nc` <img> `d`");
  CHECK_FALSE(contains(out, "<img>"));
  // Tables split cells at | before they find code spans.
  out = sanitize_markdown("| `a | <img>` |");
  CHECK_FALSE(contains(out, "<img>"));
}

TEST_CASE("render: text is cleaned to valid UTF-8 without controls or bidi overrides") {
  CHECK(clean_text("a\r\nb\rc") == "a\nb\nc");
  CHECK(clean_text("bad \xFF byte") == "bad \xEF\xBF\xBD byte");
  CHECK(clean_text("\xC0\xAF") == "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong '/'
  CHECK(clean_text("a\x01\x7F"
                   "b") == "ab");
  CHECK(clean_text("safe \u202Eevil\u202C") == "safe evil");
  CHECK(clean_text("日本語 👩‍💻 tab\t") == "日本語 👩‍💻 tab\t");
}

TEST_CASE("render: code blocks use a fence nothing inside can close") {
  CHECK(code_block("x") == "```\nx\n```");
  CHECK(code_block("a ``` b\n````") == "`````\na ``` b\n````\n`````");
  CHECK(code_block("crlf\r\nend\r\n") == "```\ncrlf\nend\n```");
}

TEST_CASE("render: cut_text keeps whole characters and says it cut") {
  std::string text = "ééééééééééééééééééééééééééééé";  // 2 bytes each
  std::string start = cut_text(text, 21, Keep::start);
  CHECK(start.size() <= 21);
  CHECK(start.ends_with("… (cut)"));
  CHECK(start.starts_with("é"));
  std::string end = cut_text(text, 22, Keep::end);
  CHECK(end.size() <= 22);
  CHECK(end.starts_with("(cut) …\n"));
  CHECK(end.ends_with("é"));
  CHECK(cut_text("short", 100, Keep::start) == "short");
  // Every byte of the kept part is whole UTF-8.
  CHECK(clean_text(start) == start);
  CHECK(clean_text(end) == end);
}
