#pragma once
// What one normalized CI log line says: a failure signature and how strongly it points at the
// cause, the end of a failed step, a passing result, a stack frame. Pure functions; thread-safe.

#include <cstdint>
#include <string_view>

namespace forgehand::triage {

enum LineTrait : std::uint8_t {
  kStepStart = 1 << 0,   // an echoed command (`$ make`) that starts a CI step
  kStepFailed = 1 << 1,  // a command, step or job ended with a nonzero status
  kSuccess = 1 << 2,     // a passing check (`ok 3`, `✓ works`, `... PASSED`)
  kFrame = 1 << 3,       // a stack frame or a location line that continues a report above
  kRule = 1 << 4,        // a rule of `=`, `-`, `_`, `*` (often with a title) framing a report
};

struct LineClass {
  int score = 0;  // 0: ordinary output; 1-10: how strongly the line reports a failure
  std::uint8_t traits = 0;
};

LineClass classify(std::string_view line);

}  // namespace forgehand::triage
