#pragma once
// Secrets (webhook secrets, tokens, keys) are configured as references, `env:NAME` or
// `file:PATH`, never inline; resolving one gives a Secret. Thread-safe.

#include <string>
#include <string_view>

#include "forgehand/error.h"
#include "forgehand/secret.h"

namespace forgehand {

// True for strings shaped like a reference (`env:` or `file:` followed by something).
bool is_secret_reference(std::string_view text);

// Reads the secret a reference names. A file's trailing newline is not part of the secret.
// Errors name the reference (never the value): a missing variable, an unreadable or empty file.
Result<Secret> resolve_secret(std::string_view reference);

}  // namespace forgehand
