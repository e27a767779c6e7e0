#pragma once
// Time as a dependency, so retry schedules, rate-limit waits and signature windows are tested
// without sleeping. Implementations must be thread-safe.

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

// Waiting as a dependency, for retry backoff and rate-limit waits. Thread-safe.
class Sleeper {
 public:
  virtual ~Sleeper() = default;
  virtual void sleep_for(std::chrono::milliseconds duration) const = 0;
};

// Really sleeps; a process-wide immutable instance.
const Sleeper& real_sleeper();

}  // namespace forgehand
