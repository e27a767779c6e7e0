#pragma once
// Secrets (webhook secrets, tokens, keys) are configured as references, `env:NAME` or
// `file:PATH`, never inline, and held in a type that cannot be printed by accident.
// Plain values; thread-safe to read.

#include <string>
#include <string_view>

#include "forgehand/error.h"

namespace forgehand {

class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}

  // The only way to the bytes: call it where the secret is used, never to log or format.
  const std::string& reveal() const { return value_; }
  bool empty() const { return value_.empty(); }

 private:
  std::string value_;
};

// True for strings shaped like a reference (`env:` or `file:` followed by something).
bool is_secret_reference(std::string_view text);

// Reads the secret a reference names. A file's trailing newline is not part of the secret.
// Errors name the reference (never the value): a missing variable, an unreadable or empty file.
Result<Secret> resolve_secret(std::string_view reference);

}  // namespace forgehand
