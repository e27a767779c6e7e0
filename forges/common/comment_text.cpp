#include "forges/common/comment_text.h"

#include "util/redact.h"

namespace forgehand::forges {

std::string outgoing_comment(std::string_view text, std::size_t limit) {
  std::string redacted = redact(text);
  std::string_view body = redacted;
  if (body.size() <= limit) return redacted;
  std::string note = "\n\n---\n*forgehand: this comment was cut to fit the forge's limit; " +
                     std::to_string(body.size()) + " bytes were written.*";
  std::size_t keep = limit > note.size() ? limit - note.size() : 0;
  // Back up over UTF-8 continuation bytes (10xxxxxx) so no character is split.
  while (keep > 0 && (static_cast<unsigned char>(body[keep]) & 0xC0) == 0x80) --keep;
  std::string out(body.substr(0, keep));
  out += note;
  return out.size() <= limit ? out : out.substr(0, limit);
}

}  // namespace forgehand::forges
