#pragma once
// A secret value (webhook secret, token, key) in a type that cannot be printed by accident.
// Configured secrets are references resolved by util/secret.h. Plain value; thread-safe to read.

#include <string>
#include <utility>

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

}  // namespace forgehand
