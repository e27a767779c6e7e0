#pragma once
// Redaction: every text that leaves the process (log lines, comments, pull request bodies,
// transcripts, error messages) passes through here first. Two nets: the exact values of every
// secret the process resolved or minted, and the shapes of well-known credentials (a forge
// token pasted into an issue, a key a model echoed back) whether or not we know their values.
// Thread-safe.

#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

namespace forgehand {

inline constexpr std::string_view kRedacted = "[redacted]";

class Redactor {
 public:
  // Shorter values are not registered: replacing every "abc" in a comment would garble text and
  // tell a reader what the secret is. resolve_secret warns about such secrets.
  static constexpr std::size_t kMinimumValueLength = 8;

  // Remembers `value` (and, for multi-line values such as PEM keys, each long line of it, and its
  // JSON-escaped form) so later text containing it is redacted.
  void add(std::string_view value);
  // Forgets a value that is no longer valid anywhere (a revoked session token).
  void remove(std::string_view value);

  std::string redact(std::string_view text) const;

 private:
  // Every log line is redacted, from many threads at once: readers share the lock.
  mutable std::shared_mutex mutex_;
  std::vector<std::string> values_;  // longest first, so a value containing another wins
};

// The process's redactor: resolve_secret registers every secret it reads, and the log writer,
// the forge adapters and the model proxy redact through it.
Redactor& process_redactor();

inline std::string redact(std::string_view text) { return process_redactor().redact(text); }

}  // namespace forgehand
