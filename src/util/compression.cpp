#include "util/compression.h"

#include <zstd.h>

#include <memory>

namespace forgehand::compression {

namespace {
struct CompressContextDeleter {
  void operator()(ZSTD_CCtx* context) const { ZSTD_freeCCtx(context); }
};
struct DecompressContextDeleter {
  void operator()(ZSTD_DCtx* context) const { ZSTD_freeDCtx(context); }
};
constexpr int kLevel = 1;
}  // namespace

std::string zstd_compress(std::string_view bytes) {
  thread_local std::unique_ptr<ZSTD_CCtx, CompressContextDeleter> context(ZSTD_createCCtx());
  std::string frame(ZSTD_compressBound(bytes.size()), '\0');
  std::size_t size = ZSTD_compressCCtx(context.get(), frame.data(), frame.size(), bytes.data(),
                                       bytes.size(), kLevel);
  // Compressing into a buffer of ZSTD_compressBound bytes cannot fail for lack of room.
  frame.resize(ZSTD_isError(size) ? 0 : size);
  return frame;
}

Result<std::string> zstd_decompress(std::string_view frame, std::size_t max_bytes) {
  unsigned long long size = ZSTD_getFrameContentSize(frame.data(), frame.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN) {
    return fail(ErrorCode::malformed, "zstd: not a frame with a known content size");
  }
  if (size > max_bytes) {
    return fail(ErrorCode::payload_too_large,
                "zstd: frame inflates to " + std::to_string(size) + " bytes");
  }
  thread_local std::unique_ptr<ZSTD_DCtx, DecompressContextDeleter> context(ZSTD_createDCtx());
  std::string bytes(size, '\0');
  std::size_t written =
      ZSTD_decompressDCtx(context.get(), bytes.data(), bytes.size(), frame.data(), frame.size());
  if (ZSTD_isError(written) || written != size) {
    return fail(ErrorCode::malformed,
                std::string("zstd: ") + (ZSTD_isError(written) ? ZSTD_getErrorName(written)
                                                               : "frame is shorter than it says"));
  }
  return bytes;
}

}  // namespace forgehand::compression
