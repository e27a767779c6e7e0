#include "runner/publish.h"

#include <git2/sys/odb_backend.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "runner/git_support.h"
#include "util/text.h"

namespace forgehand::runner {

namespace {

namespace fs = std::filesystem;

bool same_letter(char a, char b) {
  return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
}

bool glob(std::string_view pattern, std::string_view text) {
  if (pattern.empty()) return text.empty();
  if (pattern.starts_with("**")) {
    std::string_view rest = pattern.substr(2);
    if (rest.empty()) return true;
    if (rest.front() == '/') {
      // "**/x": x here, or after any '/'.
      rest.remove_prefix(1);
      if (glob(rest, text)) return true;
      for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '/' && glob(rest, text.substr(i + 1))) return true;
      }
      return false;
    }
    for (std::size_t i = 0; i <= text.size(); ++i) {
      if (glob(rest, text.substr(i))) return true;
    }
    return false;
  }
  if (pattern.front() == '*') {
    for (std::size_t i = 0; i <= text.size(); ++i) {
      if (glob(pattern.substr(1), text.substr(i))) return true;
      if (i < text.size() && text[i] == '/') return false;
    }
    return false;
  }
  if (text.empty()) return false;
  if (pattern.front() == '?' ? text.front() == '/' : !same_letter(pattern.front(), text.front())) {
    return false;
  }
  return glob(pattern.substr(1), text.substr(1));
}

// At most `limit` items, then how many more.
std::string list(const std::vector<std::string>& items, std::size_t limit = 20) {
  if (items.size() <= limit) return text::join(items, ", ");
  std::vector<std::string> head(items.begin(), items.begin() + static_cast<long>(limit));
  return text::join(head, ", ") + " and " + std::to_string(items.size() - limit) + " more";
}

bool is_protected(std::string_view path, const PublishPolicy& policy) {
  auto matches = [&](std::string_view pattern) { return path_matches(pattern, path); };
  return std::any_of(kDefaultProtectedPaths.begin(), kDefaultProtectedPaths.end(), matches) ||
         std::any_of(policy.protected_paths.begin(), policy.protected_paths.end(), matches);
}

// Opens the checkout's own .git as the repository and the directory as its work tree, with an
// empty configuration: the agent could have written .git/config (`core.worktree` pointing at the
// server's files, `url.insteadOf` sending the token elsewhere), so nothing in it is read. Nor
// are its objects: libgit2 does not re-hash what it reads (initialize_git), so a base tree the
// agent rewrote could hide a protected path or a secret from the inspection. Objects are read
// from `base_objects`, which the agent cannot reach, and new ones are kept in memory.
Result<RepositoryPtr> open_checkout(const std::string& checkout_path,
                                    const std::string& base_objects) {
  std::error_code error;
  fs::path root = fs::canonical(checkout_path, error);
  fs::path git_dir = root / ".git";
  if (error || !fs::is_directory(fs::symlink_status(git_dir, error))) {
    return fail(ErrorCode::invalid_argument,
                "publish: " + checkout_path + " is not a checkout with its own .git directory");
  }
  git_repository* repository = nullptr;
  if (int result = git_repository_open_bare(&repository, git_dir.c_str()); result < 0) {
    return tl::unexpected(git_failure(result, "publish: open " + root.string()));
  }
  RepositoryPtr owned(repository);
  git_config* config = nullptr;
  if (int result = git_config_new(&config); result < 0) {
    return tl::unexpected(git_failure(result, "publish: configuration"));
  }
  ConfigPtr empty(config);
  git_repository_set_config(repository, config);
  if (int result = git_repository_set_workdir(repository, root.c_str(), 0); result < 0) {
    return tl::unexpected(git_failure(result, "publish: work tree " + root.string()));
  }
  if (!fs::is_directory(fs::path(base_objects) / "pack", error)) {
    return fail(ErrorCode::invalid_argument,
                "publish: " + base_objects + " is not a repository's object directory");
  }
  git_odb* odb = nullptr;
  if (int result = git_odb_new(&odb); result < 0) {
    return tl::unexpected(git_failure(result, "publish: object database"));
  }
  OdbPtr trusted(odb);
  git_odb_backend* in_memory = nullptr;
  if (int result = git_mempack_new(&in_memory); result < 0) {
    return tl::unexpected(git_failure(result, "publish: in-memory objects"));
  }
  if (int result = git_odb_add_backend(odb, in_memory, 1); result < 0) {
    in_memory->free(in_memory);
    return tl::unexpected(git_failure(result, "publish: in-memory objects"));
  }
  if (int result = git_odb_add_disk_alternate(odb, base_objects.c_str()); result < 0) {
    return tl::unexpected(git_failure(result, "publish: read " + base_objects));
  }
  git_repository_set_odb(repository, odb);
  return owned;
}

struct Inspection {
  ChangeSet changes;
  git_oid tree{};
};

Result<void> scan_for_secrets(git_repository* repository, git_patch* patch,
                              const git_diff_delta* delta, const Redactor& redactor,
                              std::vector<std::string>& findings) {
  std::string path = delta->new_file.path;
  if (redactor.redact(path) != path) findings.push_back("a file name");
  if ((delta->flags & GIT_DIFF_FLAG_BINARY) != 0) {
    if (delta->status == GIT_DELTA_DELETED) return {};
    git_blob* blob = nullptr;
    if (int result = git_blob_lookup(&blob, repository, &delta->new_file.id); result < 0) {
      return tl::unexpected(git_failure(result, "publish: read " + path));
    }
    BlobPtr owned(blob);
    std::string_view content(static_cast<const char*>(git_blob_rawcontent(blob)),
                             static_cast<std::size_t>(git_blob_rawsize(blob)));
    if (redactor.redact(content) != content) findings.push_back(path + " (binary)");
    return {};
  }
  std::size_t hunks = git_patch_num_hunks(patch);
  for (std::size_t hunk = 0; hunk < hunks; ++hunk) {
    int lines = git_patch_num_lines_in_hunk(patch, hunk);
    for (int i = 0; i < lines; ++i) {
      const git_diff_line* line = nullptr;
      if (git_patch_get_line_in_hunk(&line, patch, hunk, static_cast<std::size_t>(i)) < 0 ||
          line->origin != GIT_DIFF_LINE_ADDITION) {
        continue;
      }
      std::string_view text(line->content, line->content_len);
      if (redactor.redact(text) != text) {
        findings.push_back(path + ":" + std::to_string(line->new_lineno));
      }
    }
  }
  return {};
}

char status_letter(git_delta_t status) {
  switch (status) {
    case GIT_DELTA_ADDED:
      return 'A';
    case GIT_DELTA_DELETED:
      return 'D';
    case GIT_DELTA_TYPECHANGE:
      return 'T';
    default:
      return 'M';
  }
}

Result<Inspection> inspect(git_repository* repository, const std::string& base_sha,
                           const PublishPolicy& policy, const Redactor& redactor) {
  std::string what = "publish: inspect changes";
  if (!is_full_sha(base_sha)) {
    return fail(ErrorCode::invalid_argument, what + ": base must be a 40-hex commit id");
  }
  git_oid base_oid;
  git_oid_fromstr(&base_oid, base_sha.c_str());
  git_commit* base_commit = nullptr;
  if (int result = git_commit_lookup(&base_commit, repository, &base_oid); result < 0) {
    return tl::unexpected(git_failure(result, what + ": base " + base_sha));
  }
  CommitPtr base(base_commit);
  git_tree* base_tree_raw = nullptr;
  if (int result = git_commit_tree(&base_tree_raw, base.get()); result < 0) {
    return tl::unexpected(git_failure(result, what));
  }
  TreePtr base_tree(base_tree_raw);

  // A fresh index from the base rather than .git/index, which the agent could have edited (an
  // entry marked assume-unchanged hides a change). What is compared below is exactly the tree
  // that gets committed.
  git_index* raw_index = nullptr;
  if (int result = git_index_new(&raw_index); result < 0) {
    return tl::unexpected(git_failure(result, what));
  }
  IndexPtr index(raw_index);
  if (int result = git_index_read_tree(index.get(), base_tree.get()); result < 0) {
    return tl::unexpected(git_failure(result, what));
  }
  if (int result = git_repository_set_index(repository, index.get()); result < 0) {
    return tl::unexpected(git_failure(result, what));
  }
  Inspection out;
  if (int result = git_index_add_all(index.get(), nullptr, GIT_INDEX_ADD_DEFAULT, nullptr, nullptr);
      result < 0) {
    return tl::unexpected(git_failure(result, what + ": stage"));
  }
  if (int result = git_index_update_all(index.get(), nullptr, nullptr, nullptr); result < 0) {
    return tl::unexpected(git_failure(result, what + ": stage deletions"));
  }
  if (int result = git_index_write_tree(&out.tree, index.get()); result < 0) {
    return tl::unexpected(git_failure(result, what + ": write tree"));
  }

  git_tree* new_tree_raw = nullptr;
  if (int result = git_tree_lookup(&new_tree_raw, repository, &out.tree); result < 0) {
    return tl::unexpected(git_failure(result, what));
  }
  TreePtr new_tree(new_tree_raw);
  git_diff* raw_diff = nullptr;
  if (int result =
          git_diff_tree_to_tree(&raw_diff, repository, base_tree.get(), new_tree.get(), nullptr);
      result < 0) {
    return tl::unexpected(git_failure(result, what));
  }
  DiffPtr diff(raw_diff);

  ChangeSet& changes = out.changes;
  std::vector<std::string> protected_paths;
  std::vector<PatchPtr> patches;
  std::size_t deltas = git_diff_num_deltas(diff.get());
  for (std::size_t i = 0; i < deltas; ++i) {
    git_patch* raw_patch = nullptr;
    if (int result = git_patch_from_diff(&raw_patch, diff.get(), i); result < 0) {
      return tl::unexpected(git_failure(result, what));
    }
    patches.emplace_back(raw_patch);
    const git_diff_delta* delta = git_patch_get_delta(raw_patch);
    FileChange file;
    file.path = delta->status == GIT_DELTA_DELETED ? delta->old_file.path : delta->new_file.path;
    file.status = status_letter(delta->status);
    file.binary = (delta->flags & GIT_DIFF_FLAG_BINARY) != 0;
    git_patch_line_stats(nullptr, &file.added_lines, &file.deleted_lines, raw_patch);
    changes.added_lines += file.added_lines;
    changes.deleted_lines += file.deleted_lines;
    for (const char* path : {delta->old_file.path, delta->new_file.path}) {
      if (path != nullptr && is_protected(path, policy) &&
          std::find(protected_paths.begin(), protected_paths.end(), path) ==
              protected_paths.end()) {
        protected_paths.emplace_back(path);
      }
    }
    changes.files.push_back(std::move(file));
  }
  if (changes.empty()) return out;

  std::vector<std::string> problems;
  ErrorCode code = ErrorCode::forbidden;
  if (!protected_paths.empty()) {
    problems.push_back("changes protected paths (policy must allow them): " +
                       list(protected_paths));
  }
  std::size_t lines = changes.added_lines + changes.deleted_lines;
  bool too_large =
      changes.files.size() > policy.max_changed_files || lines > policy.max_changed_lines;
  if (changes.files.size() > policy.max_changed_files) {
    problems.push_back(std::to_string(changes.files.size()) + " files changed, over the limit of " +
                       std::to_string(policy.max_changed_files));
  }
  if (lines > policy.max_changed_lines) {
    problems.push_back(std::to_string(lines) + " lines changed, over the limit of " +
                       std::to_string(policy.max_changed_lines));
  }
  if (too_large && protected_paths.empty()) code = ErrorCode::payload_too_large;
  // Over the limits nothing is published anyway; scanning a huge diff would only cost time.
  if (!too_large) {
    std::vector<std::string> findings;
    for (const PatchPtr& patch : patches) {
      auto scanned = scan_for_secrets(repository, patch.get(), git_patch_get_delta(patch.get()),
                                      redactor, findings);
      if (!scanned) return tl::unexpected(scanned.error());
    }
    if (!findings.empty()) {
      problems.push_back("added lines look like secrets (a configured secret or a token shape): " +
                         list(findings));
      code = ErrorCode::forbidden;
    }
  }
  if (!problems.empty()) {
    return fail(code, "publish refused: " + text::join(problems, "; "));
  }

  GitBuffer patch_text;
  if (int result = git_diff_to_buf(patch_text.get(), diff.get(), GIT_DIFF_FORMAT_PATCH);
      result < 0) {
    return tl::unexpected(git_failure(result, what + ": patch"));
  }
  changes.patch = patch_text.str();
  if (changes.patch.size() > kMaxPatchBytes) {
    changes.patch.resize(kMaxPatchBytes);
    changes.patch += "\n[patch cut at " + std::to_string(kMaxPatchBytes) + " bytes]\n";
  }
  git_diff_stats* raw_stats = nullptr;
  if (int result = git_diff_get_stats(&raw_stats, diff.get()); result < 0) {
    return tl::unexpected(git_failure(result, what + ": stat"));
  }
  DiffStatsPtr stats(raw_stats);
  GitBuffer stat_text;
  if (int result = git_diff_stats_to_buf(stat_text.get(), stats.get(), GIT_DIFF_STATS_FULL, 80);
      result < 0) {
    return tl::unexpected(git_failure(result, what + ": stat"));
  }
  changes.stat = stat_text.str();
  return out;
}

std::string one_line(std::string_view text) {
  std::string out(text);
  std::replace_if(
      out.begin(), out.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  return out;
}

std::string commit_message(const CommitAttribution& commit, const Redactor& redactor) {
  std::string message = redactor.redact(commit.message);
  while (!message.empty() && std::isspace(static_cast<unsigned char>(message.back()))) {
    message.pop_back();
  }
  message += "\n\nForgehand-Session: " + one_line(commit.session_id) + "\n";
  std::vector<std::string> seen;
  for (const std::string& model : commit.models) {
    if (std::find(seen.begin(), seen.end(), model) != seen.end()) continue;
    seen.push_back(model);
    message += "Model: " + one_line(model) + "\n";
  }
  if (!commit.requested_by.empty()) {
    message += "Requested-by: " + one_line(commit.requested_by) + "\n";
  }
  return message;
}

Result<void> check_branch(const std::string& branch, const PublishPolicy& policy) {
  if (!branch.starts_with("forgehand/")) {
    return fail(ErrorCode::invalid_argument,
                "publish: forgehand pushes only forgehand/ branches, not " + branch);
  }
  int valid = 0;
  if (git_reference_name_is_valid(&valid, ("refs/heads/" + branch).c_str()) < 0 || valid == 0) {
    return fail(ErrorCode::invalid_argument, "publish: not a branch name: " + branch);
  }
  if (!policy.default_branch.empty() && branch == policy.default_branch) {
    return fail(ErrorCode::forbidden, "publish: " + branch + " is the default branch");
  }
  for (const std::string& pattern : policy.protected_branches) {
    if (glob(pattern, branch)) {
      return fail(ErrorCode::forbidden,
                  "publish: " + branch + " is a protected branch (" + pattern + ")");
    }
  }
  return {};
}

Result<std::string> commit(git_repository* repository, const PublishRequest& request,
                           const git_oid& tree_id, const Redactor& redactor) {
  std::string what = "publish: commit";
  git_signature* raw_signature = nullptr;
  if (int result = git_signature_now(&raw_signature, request.commit.author_name.c_str(),
                                     request.commit.author_email.c_str());
      result < 0) {
    return tl::unexpected(git_failure(result, what + ": author"));
  }
  SignaturePtr signature(raw_signature);
  git_tree* raw_tree = nullptr;
  if (int result = git_tree_lookup(&raw_tree, repository, &tree_id); result < 0) {
    return tl::unexpected(git_failure(result, what));
  }
  TreePtr tree(raw_tree);
  git_oid base_oid;
  git_oid_fromstr(&base_oid, request.base_sha.c_str());
  git_commit* raw_base = nullptr;
  if (int result = git_commit_lookup(&raw_base, repository, &base_oid); result < 0) {
    return tl::unexpected(git_failure(result, what));
  }
  CommitPtr base(raw_base);
  const git_commit* parents[] = {base.get()};
  std::string message = commit_message(request.commit, redactor);
  git_oid commit_id;
  // The parent is the base itself, never HEAD: whatever the agent committed or moved stays home.
  if (int result =
          git_commit_create(&commit_id, repository, nullptr, signature.get(), signature.get(),
                            nullptr, message.c_str(), tree.get(), 1, parents);
      result < 0) {
    return tl::unexpected(git_failure(result, what));
  }
  std::string ref = "refs/heads/" + request.branch;
  git_reference* raw_ref = nullptr;
  if (int result = git_reference_create(&raw_ref, repository, ref.c_str(), &commit_id, 1,
                                        "forgehand: commit");
      result < 0) {
    return tl::unexpected(git_failure(result, what + ": " + ref));
  }
  ReferencePtr owned_ref(raw_ref);
  if (int result = git_repository_set_head(repository, ref.c_str()); result < 0) {
    return tl::unexpected(git_failure(result, what + ": HEAD"));
  }
  return oid_hex(commit_id);
}

Result<void> push(git_repository* repository, const PublishRequest& request) {
  std::string what = "publish: push " + request.branch;
  std::string ref = "refs/heads/" + request.branch;
  auto remote = anonymous_remote(repository, request.remote.clone_url);
  if (!remote) return tl::unexpected(remote.error());
  RemoteSession session(request.remote, request.max_auth_attempts);
  auto advertised = connect_and_list(remote->get(), session, GIT_DIRECTION_PUSH, what);
  if (!advertised) return tl::unexpected(advertised.error());
  // The name carries the session id, so it exists only if someone else made it (or an earlier
  // attempt pushed it): either way it is not ours to move.
  if (advertised->contains(ref)) {
    return fail(ErrorCode::conflict,
                what + ": the branch already exists on the remote; it is not overwritten");
  }
  std::string spec = ref + ":" + ref;  // no '+': never a force push
  char* specs[] = {spec.data()};
  git_strarray refspecs{specs, 1};
  git_push_options options = GIT_PUSH_OPTIONS_INIT;
  options.callbacks = session.callbacks();
  options.follow_redirects = GIT_REMOTE_REDIRECT_NONE;
  if (int result = git_remote_upload(remote->get(), &refspecs, &options); result < 0) {
    return tl::unexpected(session.failure(result, what));
  }
  git_remote_disconnect(remote->get());

  // libgit2 returns success even when the server refused the update: only the per-ref report
  // says so.
  const auto& statuses = session.ref_statuses();
  auto status = std::find_if(statuses.begin(), statuses.end(),
                             [&](const RemoteSession::RefStatus& s) { return s.ref == ref; });
  if (status == statuses.end()) {
    return fail(ErrorCode::unavailable, what + ": the server did not report on " + ref);
  }
  if (!status->rejection.empty()) {
    std::string message = what + ": the server refused it: " + status->rejection;
    std::string remote_output = session.remote_messages();
    while (!remote_output.empty() && std::isspace(static_cast<unsigned char>(remote_output.back())))
      remote_output.pop_back();
    if (!remote_output.empty()) message += " (remote: " + one_line(remote_output) + ")";
    return fail(ErrorCode::forbidden, redact(message));
  }
  return {};
}

}  // namespace

bool path_matches(std::string_view pattern, std::string_view path) {
  if (pattern.find('/') == std::string_view::npos) {
    auto slash = path.rfind('/');
    return glob(pattern, slash == std::string_view::npos ? path : path.substr(slash + 1));
  }
  return glob(pattern, path);
}

Result<ChangeSet> inspect_changes(const std::string& checkout_path, const std::string& base_objects,
                                  const std::string& base_sha, const PublishPolicy& policy,
                                  const Redactor& redactor) {
  if (auto ready = initialize_git(""); !ready) return tl::unexpected(ready.error());
  auto repository = open_checkout(checkout_path, base_objects);
  if (!repository) return tl::unexpected(repository.error());
  auto inspection = inspect(repository->get(), base_sha, policy, redactor);
  if (!inspection) return tl::unexpected(inspection.error());
  return std::move(inspection->changes);
}

Result<PublishResult> publish(const PublishRequest& request, const Redactor& redactor) {
  if (auto branch = check_branch(request.branch, request.policy); !branch) {
    return tl::unexpected(branch.error());
  }
  if (auto url = check_remote_url(request.remote.clone_url); !url) {
    return tl::unexpected(url.error());
  }
  if (request.commit.author_name.empty() || request.commit.author_email.empty() ||
      request.commit.message.empty() || request.commit.session_id.empty()) {
    return fail(ErrorCode::invalid_argument,
                "publish: the commit needs an author, an email, a message and a session id");
  }
  if (auto ready = initialize_git(request.ca_bundle); !ready) {
    return tl::unexpected(ready.error());
  }
  auto repository = open_checkout(request.checkout_path, request.base_objects);
  if (!repository) return tl::unexpected(repository.error());
  auto inspection = inspect(repository->get(), request.base_sha, request.policy, redactor);
  if (!inspection) return tl::unexpected(inspection.error());

  PublishResult result;
  result.changes = std::move(inspection->changes);
  if (result.changes.empty()) return result;
  auto sha = commit(repository->get(), request, inspection->tree, redactor);
  if (!sha) return tl::unexpected(sha.error());
  if (auto pushed = push(repository->get(), request); !pushed) {
    return tl::unexpected(pushed.error());
  }
  result.outcome = PublishOutcome::pushed;
  result.sha = *sha;
  return result;
}

}  // namespace forgehand::runner
