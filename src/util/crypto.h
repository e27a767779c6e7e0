#pragma once
// Small, allocation-light wrappers over OpenSSL for webhook signatures and secrets.
// Stateless and thread-safe.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace forgehand::crypto {

// Raw 32-byte HMAC-SHA256 of `data` under `key`.
std::string hmac_sha256(std::string_view key, std::string_view data);
std::string sha256(std::string_view data);

std::string hex_encode(std::string_view bytes);
// Accepts upper or lower case; nullopt on odd length or a non-hex character.
std::optional<std::string> hex_decode(std::string_view hex);

std::string base64_encode(std::string_view bytes);
// The URL- and filename-safe alphabet without padding (RFC 4648 section 5), as JWTs use.
std::string base64url_encode(std::string_view bytes);
// Standard alphabet with padding; nullopt on anything else.
std::optional<std::string> base64_decode(std::string_view text);

// Equality whose running time does not depend on where the inputs differ, nor on their lengths
// (both sides are hashed first), so a caller can compare a presented secret with a stored one.
bool constant_time_equals(std::string_view a, std::string_view b);

// Cryptographically strong random bytes (OpenSSL's RAND_bytes); aborts if the RNG fails.
std::string random_bytes(std::size_t count);

}  // namespace forgehand::crypto
