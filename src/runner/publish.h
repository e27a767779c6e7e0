#pragma once
// The last step before anything leaves the machine. forgehand, not the agent, inspects the
// checkout's changes against the base commit (protected paths, size limits, secrets in added
// lines), commits them as the bot with attribution trailers, and pushes a new `forgehand/` branch,
// checking that the server accepted it. It never force-pushes, never pushes to the default or a
// protected branch, and never merges. Stateless: concurrent calls on different checkouts are safe.

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "forgehand/error.h"
#include "forgehand/forge.h"
#include "util/redact.h"

namespace forgehand::runner {

// Refused unless policy allows them: CI definitions, forgehand's own configuration and the
// instructions agents read. A pattern without '/' matches that name in any directory.
inline constexpr std::array<std::string_view, 8> kDefaultProtectedPaths = {
    ".github/workflows/**", ".gitlab-ci.yml", ".gitea/workflows/**", ".forgejo/workflows/**",
    ".forgehand.yml",       ".forgehand/**",  "AGENTS.md",           "CLAUDE.md"};

struct PublishPolicy {
  std::vector<std::string> protected_paths;  // patterns refused on top of kDefaultProtectedPaths
  std::size_t max_changed_files = 50;
  std::size_t max_changed_lines = 2000;         // added plus deleted
  std::string default_branch;                   // never pushed to
  std::vector<std::string> protected_branches;  // names or patterns ("release/*"), never pushed to
};

struct FileChange {
  std::string path;
  char status = 'M';  // A added, D deleted, M modified, T type changed (file ↔ symlink)
  std::size_t added_lines = 0;
  std::size_t deleted_lines = 0;
  bool binary = false;
};

struct ChangeSet {
  std::vector<FileChange> files;
  std::size_t added_lines = 0;
  std::size_t deleted_lines = 0;
  std::string stat;   // as `git diff --stat` prints it
  std::string patch;  // the unified diff; past kMaxPatchBytes cut with a visible marker

  bool empty() const { return files.empty(); }
};

inline constexpr std::size_t kMaxPatchBytes = 1 << 20;

struct CommitAttribution {
  std::string author_name;  // the bot
  std::string author_email;
  std::string message;  // subject, blank line, body; redacted before use
  std::string session_id;
  std::vector<std::string> models;  // "provider/model" of every model that answered
  std::string requested_by;         // the login that asked for the work
};

struct PublishRequest {
  std::string checkout_path;
  std::string base_objects;  // Checkout::base_objects
  std::string branch;        // must start with "forgehand/"
  std::string base_sha;      // where the branch started: the new commit's only parent
  GitCredentials remote;
  CommitAttribution commit;
  PublishPolicy policy;
  int max_auth_attempts = 3;
  std::string ca_bundle;  // as WorkspaceOptions::ca_bundle: one per process
};

enum class PublishOutcome { pushed, nothing_to_publish };

struct PublishResult {
  PublishOutcome outcome = PublishOutcome::nothing_to_publish;
  std::string sha;  // the pushed commit; empty when there was nothing to publish
  ChangeSet changes;
};

// Reads the working tree (new files too, .gitignore respected) into a tree and compares it with
// the base commit. The checkout's .git/config, .git/index and objects are not read: the agent
// could have written them. Every object comes from `base_objects` (Checkout::base_objects) or
// from the working tree.
// Errors: `forbidden` listing every protected path touched and every added line that looks like a
// secret (as file:line, never the value); `payload_too_large` naming the limit passed;
// `invalid_argument` when the path is not a checkout whose .git is its own.
Result<ChangeSet> inspect_changes(const std::string& checkout_path, const std::string& base_objects,
                                  const std::string& base_sha, const PublishPolicy& policy,
                                  const Redactor& redactor = process_redactor());

// inspect_changes, then one commit on top of the base with the trailers Forgehand-Session, Model
// (one per model) and Requested-by, pushed without force to a branch that must not exist on the
// remote yet. An empty diff is `nothing_to_publish` and nothing is pushed. Further errors:
// `forbidden` for a protected or default branch, or a ref update the server rejected (its reason
// and hook output in the message); `invalid_argument` for a branch outside forgehand/; `conflict`
// when the branch exists on the remote; `unauthorized` when the credentials are refused.
Result<PublishResult> publish(const PublishRequest& request,
                              const Redactor& redactor = process_redactor());

// Glob over '/'-separated paths, ignoring case: `*` and `?` stay within a directory, `**` spans
// any number of them. A pattern without '/' matches a file of that name in any directory.
bool path_matches(std::string_view pattern, std::string_view path);

}  // namespace forgehand::runner
