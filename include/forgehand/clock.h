#pragma once
// Time as a dependency, so retry schedules and signature windows are tested without sleeping.
// Implementations must be thread-safe.

#include <chrono>

namespace forgehand {

using TimePoint = std::chrono::system_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

// The wall clock; a process-wide immutable instance.
const Clock& system_clock();

}  // namespace forgehand
