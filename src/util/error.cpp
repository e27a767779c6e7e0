#include "forgehand/error.h"

#include <thread>

#include "forgehand/clock.h"

namespace forgehand {

int http_status(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid_argument:
      return 400;
    case ErrorCode::malformed:
      return 400;
    case ErrorCode::unauthorized:
      return 401;
    case ErrorCode::forbidden:
      return 403;
    case ErrorCode::not_found:
      return 404;
    case ErrorCode::conflict:
      return 409;
    case ErrorCode::payload_too_large:
      return 413;
    case ErrorCode::rate_limited:
    case ErrorCode::budget_exhausted:
      return 429;
    case ErrorCode::not_supported:
      return 501;
    case ErrorCode::unavailable:
      return 503;
    case ErrorCode::timeout:
      return 504;
    case ErrorCode::config:
    case ErrorCode::io:
    case ErrorCode::internal:
      return 500;
  }
  return 500;
}

std::string_view to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid_argument:
      return "invalid_argument";
    case ErrorCode::malformed:
      return "malformed";
    case ErrorCode::unauthorized:
      return "unauthorized";
    case ErrorCode::forbidden:
      return "forbidden";
    case ErrorCode::not_found:
      return "not_found";
    case ErrorCode::conflict:
      return "conflict";
    case ErrorCode::payload_too_large:
      return "payload_too_large";
    case ErrorCode::rate_limited:
      return "rate_limited";
    case ErrorCode::unavailable:
      return "unavailable";
    case ErrorCode::timeout:
      return "timeout";
    case ErrorCode::not_supported:
      return "not_supported";
    case ErrorCode::config:
      return "config";
    case ErrorCode::io:
      return "io";
    case ErrorCode::internal:
      return "internal";
    case ErrorCode::budget_exhausted:
      return "budget_exhausted";
  }
  return "internal";
}

bool is_transient(ErrorCode code) {
  switch (code) {
    case ErrorCode::rate_limited:
    case ErrorCode::unavailable:
    case ErrorCode::timeout:
    case ErrorCode::io:
      return true;
    default:
      return false;
  }
}

namespace {
class SystemClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::system_clock::now(); }
};
}  // namespace

const Clock& system_clock() {
  static const SystemClock clock;
  return clock;
}

namespace {
class RealSleeper final : public Sleeper {
 public:
  void sleep_for(std::chrono::milliseconds duration) const override {
    std::this_thread::sleep_for(duration);
  }
};
}  // namespace

const Sleeper& real_sleeper() {
  static const RealSleeper sleeper;
  return sleeper;
}

}  // namespace forgehand
