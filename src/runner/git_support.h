#pragma once
// libgit2 plumbing shared by the workspace and the publish step: one process-wide set-up, owning
// handles, libgit2 failures in forgehand's error vocabulary, and the remote callbacks that carry
// credentials. libgit2 objects are never shared between threads: each operation opens its own.

#include <git2.h>
#include <git2/sys/mempack.h>
#include <git2/sys/repository.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "forgehand/error.h"
#include "forgehand/forge.h"

namespace forgehand::runner {

// Initialises libgit2 once per process; safe to call from any thread, any number of times. It
// also stops libgit2 from reading the host's git configuration (a `url.insteadOf` in root's
// ~/.gitconfig could send a token elsewhere). A non-empty `ca_bundle` becomes libgit2's trust store
// for https remotes; libgit2 has one per process, so naming a different bundle later is a
// `config` error. Objects read are not re-hashed: see the reasons in git_support.cpp.
Result<void> initialize_git(const std::string& ca_bundle);

template <class T, void (*Free)(T*)>
struct GitFree {
  void operator()(T* handle) const { Free(handle); }
};
using RepositoryPtr = std::unique_ptr<git_repository, GitFree<git_repository, git_repository_free>>;
using RemotePtr = std::unique_ptr<git_remote, GitFree<git_remote, git_remote_free>>;
using ObjectPtr = std::unique_ptr<git_object, GitFree<git_object, git_object_free>>;
using CommitPtr = std::unique_ptr<git_commit, GitFree<git_commit, git_commit_free>>;
using TreePtr = std::unique_ptr<git_tree, GitFree<git_tree, git_tree_free>>;
using IndexPtr = std::unique_ptr<git_index, GitFree<git_index, git_index_free>>;
using DiffPtr = std::unique_ptr<git_diff, GitFree<git_diff, git_diff_free>>;
using PatchPtr = std::unique_ptr<git_patch, GitFree<git_patch, git_patch_free>>;
using ReferencePtr = std::unique_ptr<git_reference, GitFree<git_reference, git_reference_free>>;
using OdbPtr = std::unique_ptr<git_odb, GitFree<git_odb, git_odb_free>>;
using ConfigPtr = std::unique_ptr<git_config, GitFree<git_config, git_config_free>>;
using BlobPtr = std::unique_ptr<git_blob, GitFree<git_blob, git_blob_free>>;
using SignaturePtr = std::unique_ptr<git_signature, GitFree<git_signature, git_signature_free>>;
using DiffStatsPtr = std::unique_ptr<git_diff_stats, GitFree<git_diff_stats, git_diff_stats_free>>;

// Owns a git_buf's bytes.
class GitBuffer {
 public:
  GitBuffer() = default;
  ~GitBuffer() { git_buf_dispose(&buffer_); }
  GitBuffer(const GitBuffer&) = delete;
  GitBuffer& operator=(const GitBuffer&) = delete;
  git_buf* get() { return &buffer_; }
  std::string str() const { return buffer_.ptr ? std::string(buffer_.ptr, buffer_.size) : ""; }

 private:
  git_buf buffer_ = GIT_BUF_INIT;
};

// libgit2's last error for a failed call, prefixed with what was being done.
Error git_failure(int code, std::string_view what);

std::string oid_hex(const git_oid& oid);
bool is_full_sha(std::string_view text);

// Remotes are http(s) URLs: a clone URL naming a local path, file:// or ssh would read the
// server's own disk or use its keys.
Result<void> check_remote_url(std::string_view url);

// An in-memory remote for `url`: nothing is written to the repository's config and no
// `url.insteadOf` rewrite applies (the checkout's config is writable by the agent).
Result<RemotePtr> anonymous_remote(git_repository* repository, const std::string& url);

// One network operation's callbacks: credentials from GitCredentials only (never in the URL),
// at most `max_auth_attempts` offers before giving up (libgit2 asks again after every 401), never
// to another host than the clone URL's, and certificates libgit2 could not verify refused. After a
// push it holds what the server said about every ref. Not thread-safe: one operation at a time.
class RemoteSession {
 public:
  RemoteSession(const GitCredentials& credentials, int max_auth_attempts);
  RemoteSession(const RemoteSession&) = delete;
  RemoteSession& operator=(const RemoteSession&) = delete;

  git_remote_callbacks callbacks();
  // Explains a failed libgit2 call, naming exhausted credentials or an untrusted certificate
  // before libgit2's own message.
  Error failure(int code, std::string_view what) const;

  int auth_attempts() const { return attempts_; }
  struct RefStatus {
    std::string ref;
    std::string rejection;  // empty when the server accepted the update
  };
  const std::vector<RefStatus>& ref_statuses() const { return statuses_; }
  // What the server printed while receiving a push (hook output), bounded.
  const std::string& remote_messages() const { return messages_; }

 private:
  static int on_credentials(git_credential** out, const char* url, const char* username_from_url,
                            unsigned int allowed_types, void* payload);
  static int on_certificate(git_cert* cert, int valid, const char* host, void* payload);
  static int on_ref_update(const char* refname, const char* status, void* payload);
  static int on_sideband(const char* text, int length, void* payload);

  const GitCredentials& credentials_;
  int max_auth_attempts_;
  int attempts_ = 0;
  bool exhausted_ = false;
  std::string refused_host_;    // a redirect to another host asked for the credentials
  std::string untrusted_host_;  // its certificate did not verify
  std::vector<RefStatus> statuses_;
  std::string messages_;
};

// Connects `remote` for `direction` with the session's callbacks (off-site redirects refused) and
// returns what the server advertises: ref name → commit id. Errors as RemoteSession::failure.
Result<std::map<std::string, std::string>> connect_and_list(git_remote* remote,
                                                            RemoteSession& session,
                                                            git_direction direction,
                                                            std::string_view what);

}  // namespace forgehand::runner
