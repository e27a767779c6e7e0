#pragma once
// The error vocabulary every module shares: a closed set of codes and a message written
// outer-to-inner ("github: parse issue_comment: missing comment.body"). Plain values.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <utility>

namespace forgehand {

enum class ErrorCode {
  invalid_argument,   // the caller asked for something that cannot be done as asked
  malformed,          // input bytes do not parse (JSON, YAML, headers)
  unauthorized,       // a signature, token or credential did not check out
  forbidden,          // authenticated, but not allowed
  not_found,          // no such instance, repository, delivery, ...
  conflict,           // the thing exists already or changed underneath us
  payload_too_large,  // a body or file over a configured limit
  rate_limited,       // the other side asked us to slow down
  unavailable,        // a dependency failed in a way that may pass (5xx, connection refused)
  timeout,            // a deadline passed
  not_supported,      // the forge or provider cannot do this
  config,             // configuration is invalid or incomplete
  io,                 // local storage or filesystem failed
  internal,           // a bug: an invariant did not hold
  budget_exhausted,   // a session spent its token or cost budget
};

struct Error {
  ErrorCode code = ErrorCode::internal;
  std::string message;
  int http_status = 0;  // the remote's HTTP status when the error is its answer; 0 otherwise
  // How long the remote asked us to wait (Retry-After) when it rate-limited us.
  std::optional<std::chrono::seconds> retry_after = std::nullopt;

  // Prefixes the message with the operation that failed, keeping everything else.
  Error context(std::string_view outer) const& {
    return Error{code, std::string(outer) + ": " + message, http_status, retry_after};
  }
};

template <class T>
using Result = tl::expected<T, Error>;

inline tl::unexpected<Error> fail(ErrorCode code, std::string message) {
  return tl::unexpected<Error>(Error{code, std::move(message)});
}

// The one place an error code becomes an HTTP status (used by the intake and the model proxy).
int http_status(ErrorCode code);
std::string_view to_string(ErrorCode code);

// Whether trying the same operation again later can succeed.
bool is_transient(ErrorCode code);

}  // namespace forgehand
