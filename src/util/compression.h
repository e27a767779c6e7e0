#pragma once
// zstd compression for stored payloads: webhook JSON shrinks 3-9x, which cuts what the store's
// single writer and the disk must handle per delivery. Thread-safe (per-thread contexts).

#include <string>
#include <string_view>

#include "forgehand/error.h"

namespace forgehand::compression {

// A zstd frame (level 1: fast, and most of the gain on JSON).
std::string zstd_compress(std::string_view bytes);

// Errors are `malformed` for a corrupt frame and `payload_too_large` for one that would inflate
// beyond `max_bytes`.
Result<std::string> zstd_decompress(std::string_view frame, std::size_t max_bytes);

}  // namespace forgehand::compression
