#pragma once
// Reads a comment as forgehand's command grammar (README, "Comment commands"): the result is
// exactly one of run a task, reply now, or ignore, so callers never guess. Pure functions.

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "commands/hidden_text.h"

namespace forgehand::commands {

enum class Verb { fix, retry, cancel, status, explain, help };

std::string_view to_string(Verb verb);

// Start a coding task.
struct Run {
  Verb verb = Verb::fix;  // fix or retry
  // fix: the rest of the command line and the lines after it, up to the next command line; hidden
  // text removed, line breaks as LF, trimmed. Empty: do what the issue or pull request asks.
  std::string instructions;
  std::vector<Removal> removed;  // what was taken out of the instructions, for the reply
  // retry: the NAME of --route NAME, well formed but not yet checked against policy; empty:
  // the route policy chooses.
  std::string route;
};

// Answer now without starting a task (cancel stops the running one).
struct Reply {
  Verb verb = Verb::help;  // cancel, status, explain or help
  // help only: why help is the answer (unknown verb, bad argument, hidden characters); one line
  // of Markdown with the user's text in code spans. Empty when help was asked for.
  std::string problem;
  std::string suggestion;  // "did you mean": a verb or an option; empty when nothing is close
};

struct Ignore {
  std::string reason;  // for the log
};

using Command = std::variant<Run, Reply, Ignore>;

// Only the lines that fit whole in this many bytes are read; a command further down is not seen.
inline constexpr std::size_t kMaxCommentBytes = 1 << 20;
// fix instructions longer than this (after hidden text is removed) get a help reply instead.
inline constexpr std::size_t kMaxInstructionBytes = 64 << 10;

// `bot_name` is the account people mention (GitHub: the App's slug; a trailing "[bot]", as
// bot_login is configured for GitHub, is dropped). The first command line in the comment wins.
Command parse_command(std::string_view body, std::string_view bot_name);

}  // namespace forgehand::commands
