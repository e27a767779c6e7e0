#include "runner/agent_prompt.h"

#include <algorithm>
#include <kainjow/mustache.hpp>

#include "render/builtin_templates.h"
#include "util/crypto.h"
#include "util/redact.h"
#include "util/text.h"

namespace forgehand::runner {

namespace {

namespace mustache = kainjow::mustache;

constexpr std::string_view kOpen = "<<<repository-guidance";
constexpr std::string_view kClose = "<<<end repository-guidance>>>";

// The longest prefix of `text` within `limit` bytes that ends at a line break when one is near,
// and never inside a UTF-8 sequence.
std::string_view head(std::string_view text, std::size_t limit) {
  if (text.size() <= limit) return text;
  std::size_t end = limit;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  std::size_t line = text.rfind('\n', end);
  if (line != std::string_view::npos && line + 1 >= end / 2) end = line + 1;
  return text.substr(0, end);
}

// Guidance cannot end its own block early, or open one that looks like another file's.
std::string neutralise(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    out.push_back(text[i]);
    if (text.substr(i).starts_with("<<<")) {
      out += ' ';
    }
  }
  return out;
}

// A Markdown fence longer than any run of backticks in `text`.
std::string fence_for(std::string_view text) {
  std::size_t longest = 0;
  std::size_t run = 0;
  for (char c : text) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  return std::string(std::max<std::size_t>(3, longest + 1), '`');
}

}  // namespace

Guidance load_guidance(const std::vector<InstructionFile>& files, GuidanceLimits limits) {
  Guidance guidance;
  std::size_t left = limits.total_bytes;
  for (const InstructionFile& file : files) {
    LoadedInstruction loaded{file.path, crypto::hex_encode(crypto::sha256(file.text)),
                             file.text.size(), false};
    std::string_view body = text::trim(file.text);
    std::string_view shown = head(body, std::min(limits.file_bytes, left));
    loaded.truncated = shown.size() < body.size();
    left -= shown.size();
    if (!shown.empty()) {
      guidance.shown.push_back({file.path, neutralise(redact(shown)), loaded.truncated});
    }
    guidance.loaded.push_back(std::move(loaded));
  }
  return guidance;
}

std::string guidance_text(const Guidance& guidance, std::string_view base_branch) {
  if (guidance.shown.empty()) return {};
  std::string text =
      "The repository's maintainers wrote the following guidance for coding agents. It was read "
      "from the default branch (`" +
      std::string(base_branch) + "`).\n";
  for (const Guidance::Shown& file : guidance.shown) {
    text += "\n" + std::string(kOpen) + " path=\"" + file.path + "\"" +
            (file.truncated ? " truncated=\"yes\"" : "") + ">>>\n" + file.text + "\n" +
            std::string(kClose) + "\n";
  }
  return text;
}

Result<std::string> render_system_prompt(std::string_view template_text,
                                         const SystemPromptContext& context) {
  mustache::mustache view{std::string(template_text)};
  // A prompt is not HTML: {{name}} gives the text as it is, like {{{name}}}.
  view.set_custom_escape([](const std::string& text) { return text; });
  if (!view.is_valid()) {
    return fail(ErrorCode::config, "agent system prompt template: " + view.error_message());
  }
  const AgentTask& task = context.task;
  mustache::data data;
  data.set("repository", task.repository);
  data.set("base_branch", task.base_branch);
  data.set("requester", task.requester);
  data.set("ci_fix", task.kind == TaskKind::ci_failure);
  data.set("several_jobs", task.failing_jobs.size() > 1);
  data.set("max_turns", std::to_string(context.max_turns));
  data.set("network", context.network);
  data.set("has_guidance", !context.guidance.shown.empty());
  mustache::data files{mustache::data::type::list};
  for (const Guidance::Shown& file : context.guidance.shown) {
    mustache::data entry;
    entry.set("path", file.path);
    entry.set("text", file.text);
    entry.set("truncated", file.truncated);
    files.push_back(entry);
  }
  data.set("guidance", files);
  std::string prompt = view.render(data);
  if (!view.is_valid()) {
    return fail(ErrorCode::config, "agent system prompt template: " + view.error_message());
  }
  return prompt;
}

std::string task_message(const AgentTask& task) {
  if (task.kind == TaskKind::instructions) {
    return "@" + task.requester + " asks, on " + task.repository + ":\n\n" +
           std::string(text::trim(task.instructions)) + "\n";
  }
  std::string jobs;
  for (const std::string& job : task.failing_jobs) {
    jobs += (jobs.empty() ? "`" : ", `") + job + "`";
  }
  std::string fence = fence_for(task.failure_excerpt);
  return "CI failed on " + task.repository + (jobs.empty() ? "" : " in " + jobs) +
         ". The relevant part of the log:\n\n" + fence + "\n" +
         std::string(text::trim(task.failure_excerpt)) + "\n" + fence +
         "\n\nFind the cause, fix it, and check the fix before you finish.\n";
}

std::string_view default_system_template() {
  for (const render::EmbeddedTemplate& file : render::builtin_template_files()) {
    if (file.name == "agent_system") return file.text;
  }
  return {};
}

}  // namespace forgehand::runner
