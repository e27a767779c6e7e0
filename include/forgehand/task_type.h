#pragma once
// The kinds of work a session does; policy routes, budgets and the audit reports are keyed by
// them. Plain values.

#include <optional>
#include <string_view>

namespace forgehand {

enum class TaskType { ci_fix, comment_task, issue_task };
inline constexpr TaskType kAllTaskTypes[] = {TaskType::ci_fix, TaskType::comment_task,
                                             TaskType::issue_task};
inline constexpr std::string_view kTaskTypeNames[] = {"ci_fix", "comment_task", "issue_task"};

constexpr std::string_view to_string(TaskType type) {
  return kTaskTypeNames[static_cast<int>(type)];
}

constexpr std::optional<TaskType> task_type_named(std::string_view name) {
  for (TaskType type : kAllTaskTypes) {
    if (to_string(type) == name) return type;
  }
  return std::nullopt;
}

}  // namespace forgehand
