#pragma once
// What an agent is told: the system prompt (a mustache template, built in or the operator's), the
// task as its first message, and the repository's own guidance for agents, bounded and marked as
// the repository's. Shared by the built-in agent and external agent CLIs. Pure functions.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "forgehand/error.h"

namespace forgehand::runner {

// The files repository guidance comes from, in the order they are shown. The caller reads them
// from the default branch: the checkout may be an untrusted pull request head.
inline constexpr std::string_view kInstructionFiles[] = {
    "AGENTS.md", "CLAUDE.md", ".github/copilot-instructions.md", ".forgehand/instructions.md"};

enum class TaskKind { instructions, ci_failure };

struct AgentTask {
  TaskKind kind = TaskKind::instructions;
  std::string repository;   // "owner/name"
  std::string base_branch;  // what the pull request will target
  std::string requester;    // the login the work is for
  // TaskKind::instructions: the maintainer's request, with hidden text already removed.
  std::string instructions;
  // TaskKind::ci_failure: the failing jobs and an excerpt of their log, already cut to a budget.
  std::vector<std::string> failing_jobs;
  std::string failure_excerpt;
};

// One instruction file as the caller read it from the default branch.
struct InstructionFile {
  std::string path;
  std::string text;
};

// The record of one instruction file given to the agent.
struct LoadedInstruction {
  std::string path;
  std::string sha256;  // hex, of the whole file as read
  std::size_t bytes = 0;
  bool truncated = false;  // only its beginning (possibly nothing) fit in the prompt
};

struct GuidanceLimits {
  std::size_t file_bytes = 16 * 1024;   // of one file
  std::size_t total_bytes = 32 * 1024;  // of all files together; later files get what is left
};

// Repository guidance as the prompt shows it: each file's text (redacted, cut to the limits, its
// delimiters neutralised) with the record of what was loaded.
struct Guidance {
  struct Shown {
    std::string path;
    std::string text;
    bool truncated = false;
  };
  std::vector<Shown> shown;  // files with something to show
  std::vector<LoadedInstruction> loaded;
};

Guidance load_guidance(const std::vector<InstructionFile>& files, GuidanceLimits limits = {});

// The guidance as one block of text with each file delimited and labelled as the repository's;
// empty without guidance. Used where no template shapes the prompt (agent CLIs' task files).
std::string guidance_text(const Guidance& guidance, std::string_view base_branch);

// templates/agent_system.md.mustache, embedded at build time.
std::string_view default_system_template();

struct SystemPromptContext {
  const AgentTask& task;
  const Guidance& guidance;
  int max_turns = 0;
  bool network = false;  // whether sandboxed commands may use the network
};

// Renders `template_text` (mustache, without HTML escaping). Variables: repository, base_branch,
// requester, ci_fix, several_jobs, max_turns, network, has_guidance, guidance (a list of path,
// text, truncated). Errors: `config` when the template does not parse, with mustache's message.
Result<std::string> render_system_prompt(std::string_view template_text,
                                         const SystemPromptContext& context);

// The task as the agent's first message: the maintainer's request, or the failing jobs and the
// log excerpt.
std::string task_message(const AgentTask& task);

}  // namespace forgehand::runner
