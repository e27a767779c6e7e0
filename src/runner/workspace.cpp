#include "runner/workspace.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <set>
#include <thread>

#include "runner/git_support.h"
#include "runner/index_pack.h"
#include "util/crypto.h"

namespace forgehand::runner {

namespace {

namespace fs = std::filesystem;
using SteadyTime = std::chrono::steady_clock::time_point;

// An exclusive flock(2) on a small file beside the directory it guards; its mtime records when
// the directory was last used. flock locks die with their process, so a crash leaves no stale
// lock. Eviction unlinks a lock file while holding it, so whoever locks checks afterwards that the
// path still names the file it locked.
class FileLock {
 public:
  // nullptr when someone else still holds it at `deadline`.
  static Result<std::unique_ptr<FileLock>> acquire(const fs::path& path, SteadyTime deadline) {
    while (true) {
      int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
      if (fd < 0) {
        return fail(ErrorCode::io,
                    "workspace: open lock " + path.string() + ": " + std::strerror(errno));
      }
      while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK && errno != EINTR) {
          ::close(fd);
          return fail(ErrorCode::io,
                      "workspace: lock " + path.string() + ": " + std::strerror(errno));
        }
        if (std::chrono::steady_clock::now() >= deadline) {
          ::close(fd);
          return nullptr;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      struct stat held {};
      struct stat named {};
      if (::fstat(fd, &held) == 0 && ::stat(path.c_str(), &named) == 0 &&
          held.st_dev == named.st_dev && held.st_ino == named.st_ino) {
        return std::unique_ptr<FileLock>(new FileLock(fd, path));
      }
      ::close(fd);  // evicted while we waited: lock the new file
    }
  }

  ~FileLock() { ::close(fd_); }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

  void mark_used(TimePoint when) {
    auto since_epoch = when.time_since_epoch();
    auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
    auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch - seconds);
    timespec times[2] = {{seconds.count(), static_cast<long>(nanos.count())},
                         {seconds.count(), static_cast<long>(nanos.count())}};
    ::futimens(fd_, times);
  }

  void unlink() { ::unlink(path_.c_str()); }

 private:
  FileLock(int fd, fs::path path) : fd_(fd), path_(std::move(path)) {}
  int fd_;
  fs::path path_;
};

// Keeps [a-z0-9._-], spells '/' as '+' and everything else as %XX, so distinct repositories get
// distinct names and no name can climb out of its directory. Lower-cased: every forge treats
// owner and repository names case-insensitively. Long names keep a prefix and a hash.
std::string directory_name(std::string_view text) {
  constexpr std::size_t kMaxName = 120;
  std::string out;
  for (char raw : text) {
    auto c = static_cast<unsigned char>(std::tolower(static_cast<unsigned char>(raw)));
    bool plain = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                 (c == '.' && !out.empty());
    if (plain) {
      out.push_back(static_cast<char>(c));
    } else if (c == '/') {
      out.push_back('+');
    } else {
      constexpr char kHex[] = "0123456789abcdef";
      out += {'%', kHex[c >> 4], kHex[c & 15]};
    }
  }
  if (out.size() > kMaxName) {
    out =
        out.substr(0, kMaxName - 17) + "-" + crypto::hex_encode(crypto::sha256(text)).substr(0, 16);
  }
  return out;
}

bool valid_session_id(std::string_view id) {
  return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
}

struct WantedRef {
  std::string name;  // a full ref name, or a commit id
  bool commit = false;
};

Result<std::vector<WantedRef>> wanted_refs(const std::vector<std::string>& refs) {
  if (refs.empty()) return fail(ErrorCode::invalid_argument, "workspace: no refs to fetch");
  std::vector<WantedRef> out;
  for (const std::string& ref : refs) {
    if (is_full_sha(ref)) {
      out.push_back({ref, true});
      continue;
    }
    std::string name = ref.starts_with("refs/") ? ref : "refs/heads/" + ref;
    int valid = 0;
    if (git_reference_name_is_valid(&valid, name.c_str()) < 0 || valid == 0) {
      return fail(ErrorCode::invalid_argument, "workspace: not a ref name: " + ref);
    }
    out.push_back({name, false});
  }
  return out;
}

TimePoint modified_time(const fs::path& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return TimePoint{};
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(
      std::chrono::seconds(info.st_mtim.tv_sec) + std::chrono::nanoseconds(info.st_mtim.tv_nsec)));
}

std::uint64_t disk_usage(const fs::path& dir) {
  std::uint64_t total = 0;
  std::error_code error;
  for (fs::recursive_directory_iterator
           it(dir, fs::directory_options::skip_permission_denied, error),
       end;
       !error && it != end; it.increment(error)) {
    std::error_code size_error;
    if (it->is_regular_file(size_error) && !it->is_symlink(size_error)) {
      auto size = it->file_size(size_error);
      if (!size_error) total += size;
    }
  }
  return total;
}

fs::path lock_path_for(const fs::path& dir) { return fs::path(dir.string() + ".lock"); }

Result<RepositoryPtr> open_mirror(const fs::path& path) {
  git_repository* repository = nullptr;
  if (fs::exists(path / "HEAD")) {
    if (git_repository_open_bare(&repository, path.c_str()) == 0) {
      return RepositoryPtr(repository);
    }
    // A mirror a crash left half-made: it is only a cache, so start again.
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
  git_repository_init_options options = GIT_REPOSITORY_INIT_OPTIONS_INIT;
  options.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_MKPATH;
  if (int result = git_repository_init_ext(&repository, path.c_str(), &options); result < 0) {
    return tl::unexpected(git_failure(result, "workspace: create mirror " + path.string()));
  }
  return RepositoryPtr(repository);
}

git_strarray strarray(std::vector<char*>& pointers, std::vector<std::string>& strings) {
  pointers.clear();
  for (std::string& s : strings) pointers.push_back(s.data());
  return git_strarray{pointers.data(), pointers.size()};
}

// Fetches exactly `wanted` into the mirror and returns what each named ref points at. A mirror
// keeps only the refs of its latest fetch: libgit2 1.5 offers every local ref when negotiating,
// and a mirror collecting one ref per pull request makes each fetch slower.
Result<std::map<std::string, std::string>> fetch_into_mirror(git_repository* mirror,
                                                             const RepoSource& source,
                                                             const std::vector<WantedRef>& wanted,
                                                             int max_auth_attempts) {
  std::map<std::string, std::string> tips;
  std::vector<std::string> specs;
  for (const WantedRef& ref : wanted) {
    if (!ref.commit) {
      specs.push_back("+" + ref.name + ":" + ref.name);
      continue;
    }
    git_oid oid;
    git_oid_fromstr(&oid, ref.name.c_str());
    git_odb* odb = nullptr;
    bool present = git_repository_odb(&odb, mirror) == 0 && git_odb_exists(odb, &oid) == 1;
    git_odb_free(odb);
    if (!present) specs.push_back(ref.name);
    tips[ref.name] = ref.name;
  }
  if (specs.empty()) return tips;

  std::string what = "workspace: fetch " + source.full_name;
  auto remote = anonymous_remote(mirror, source.credentials.clone_url);
  if (!remote) return tl::unexpected(remote.error());
  RemoteSession session(source.credentials, max_auth_attempts);
  auto listed = connect_and_list(remote->get(), session, GIT_DIRECTION_FETCH, what);
  if (!listed) return tl::unexpected(listed.error());
  const std::map<std::string, std::string>& advertised = *listed;
  for (const WantedRef& ref : wanted) {
    if (ref.commit) continue;
    auto it = advertised.find(ref.name);
    if (it == advertised.end()) {
      return fail(ErrorCode::not_found, what + ": " + ref.name + " is not on the remote");
    }
    tips[ref.name] = it->second;
  }

  std::vector<char*> pointers;
  git_strarray refspecs = strarray(pointers, specs);
  git_fetch_options options = GIT_FETCH_OPTIONS_INIT;
  options.callbacks = session.callbacks();
  options.follow_redirects = GIT_REMOTE_REDIRECT_NONE;
  options.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
  options.update_fetchhead = 0;
  if (int result = git_remote_download(remote->get(), &refspecs, &options); result < 0) {
    return tl::unexpected(session.failure(result, what));
  }
  if (int result = git_remote_update_tips(remote->get(), &options.callbacks, 0,
                                          GIT_REMOTE_DOWNLOAD_TAGS_NONE, "forgehand: fetch");
      result < 0) {
    return tl::unexpected(session.failure(result, what));
  }
  git_remote_disconnect(remote->get());

  std::set<std::string> keep;
  for (const WantedRef& ref : wanted) {
    if (!ref.commit) keep.insert(ref.name);
  }
  git_reference_iterator* iterator = nullptr;
  std::vector<std::string> stale;
  if (git_reference_iterator_new(&iterator, mirror) == 0) {
    const char* name = nullptr;
    while (git_reference_next_name(&name, iterator) == 0) {
      if (!keep.contains(name)) stale.emplace_back(name);
    }
    git_reference_iterator_free(iterator);
  }
  for (const std::string& name : stale) git_reference_remove(mirror, name.c_str());
  return tips;
}

// Copies the mirror into `dir`; the caller holds the mirror's lock. Objects are copied, not
// hard-linked: the checkout is handed to an agent, and a hard link would let it rewrite (after a
// chmod) an object every later job reads from the mirror.
Result<RepositoryPtr> clone_from_mirror(const fs::path& mirror, const fs::path& dir) {
  git_clone_options options = GIT_CLONE_OPTIONS_INIT;
  options.checkout_opts.checkout_strategy = GIT_CHECKOUT_NONE;
  options.local = GIT_CLONE_LOCAL_NO_LINKS;
  options.fetch_opts.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
  git_repository* repository = nullptr;
  if (int result = git_clone(&repository, mirror.c_str(), dir.c_str(), &options); result < 0) {
    return tl::unexpected(git_failure(result, "workspace: copy the mirror to " + dir.string()));
  }
  return RepositoryPtr(repository);
}

// Whether any directory of `commit`'s tree has a .gitattributes file. Only such a file can make
// checkout filters (eol conversion, ident) do anything here: the checkout's configuration is
// fresh, and libgit2 reads no system or global files (initialize_git). Looking attributes up for
// every file is about a sixth of a large checkout's time.
Result<bool> has_attributes(git_commit* commit) {
  git_tree* tree = nullptr;
  if (int result = git_commit_tree(&tree, commit); result < 0) {
    return tl::unexpected(git_failure(result, "workspace: read the base tree"));
  }
  TreePtr owned(tree);
  bool found = false;
  auto visit = [](const char*, const git_tree_entry* entry, void* payload) {
    if (std::strcmp(git_tree_entry_name(entry), ".gitattributes") != 0) return 0;
    *static_cast<bool*>(payload) = true;
    return -1;  // found: stop walking
  };
  int result = git_tree_walk(tree, GIT_TREEWALK_PRE, visit, &found);
  if (result < 0 && !found) {
    return tl::unexpected(git_failure(result, "workspace: walk the base tree"));
  }
  return found;
}

Result<void> start_branch(git_repository* repository, const std::string& branch,
                          const std::string& base_sha) {
  std::string what = "workspace: branch " + branch;
  git_oid oid;
  git_oid_fromstr(&oid, base_sha.c_str());
  git_commit* commit = nullptr;
  if (int result = git_commit_lookup(&commit, repository, &oid); result < 0) {
    return tl::unexpected(git_failure(result, what));
  }
  CommitPtr base(commit);
  git_reference* reference = nullptr;
  if (int result = git_branch_create(&reference, repository, branch.c_str(), base.get(), 0);
      result < 0) {
    return tl::unexpected(git_failure(result, what));
  }
  ReferencePtr owned(reference);
  if (int result = git_repository_set_head(repository, git_reference_name(reference)); result < 0) {
    return tl::unexpected(git_failure(result, what));
  }
  auto attributes = has_attributes(base.get());
  if (!attributes) return tl::unexpected(attributes.error());
  git_checkout_options checkout = GIT_CHECKOUT_OPTIONS_INIT;
  checkout.checkout_strategy = GIT_CHECKOUT_FORCE;
  checkout.disable_filters = *attributes ? 0 : 1;
  if (int result = git_checkout_head(repository, &checkout); result < 0) {
    return tl::unexpected(git_failure(result, what + ": check out"));
  }
  return {};
}

}  // namespace

std::string branch_slug(std::string_view task) {
  constexpr std::size_t kMaxSlug = 40;
  std::string slug;
  for (char raw : task) {
    auto c = static_cast<unsigned char>(raw);
    if (std::isalnum(c) && c < 128) {
      slug.push_back(static_cast<char>(std::tolower(c)));
    } else if (!slug.empty() && slug.back() != '-') {
      slug.push_back('-');
    }
    if (slug.size() > kMaxSlug) break;
  }
  if (slug.size() > kMaxSlug) {
    std::size_t cut = slug.rfind('-', kMaxSlug);
    slug.resize(cut != std::string::npos && cut > 0 ? cut : kMaxSlug);
  }
  while (!slug.empty() && slug.back() == '-') slug.pop_back();
  return slug.empty() ? "task" : slug;
}

Result<std::unique_ptr<Workspace>> Workspace::open(WorkspaceOptions options) {
  if (options.root.empty()) return fail(ErrorCode::config, "workspace: no root directory");
  if (options.max_auth_attempts < 1) {
    return fail(ErrorCode::config, "workspace: max_auth_attempts must be at least 1");
  }
  std::error_code error;
  fs::path root = fs::absolute(options.root, error).lexically_normal();
  for (const char* sub : {"mirrors", "jobs"}) {
    fs::create_directories(root / sub, error);
    if (error) {
      return fail(ErrorCode::io,
                  "workspace: create " + (root / sub).string() + ": " + error.message());
    }
  }
  // Checkouts hold code from private repositories: for the service's user only.
  fs::permissions(root, fs::perms::owner_all, error);
  if (error) {
    return fail(ErrorCode::io, "workspace: restrict " + root.string() + ": " + error.message());
  }
  if (auto ready = initialize_git(options.ca_bundle); !ready) {
    return tl::unexpected(ready.error());
  }
  options.root = root.string();
  return std::unique_ptr<Workspace>(new Workspace(std::move(options)));
}

std::string Workspace::mirror_path(std::string_view instance, std::string_view full_name) const {
  return (fs::path(options_.root) / "mirrors" / directory_name(instance) /
          (directory_name(full_name) + ".git"))
      .string();
}

std::shared_ptr<std::timed_mutex> Workspace::mirror_mutex(const std::string& mirror) {
  std::lock_guard lock(mutexes_mutex_);
  auto& mutex = mirror_mutexes_[mirror];
  if (!mutex) mutex = std::make_shared<std::timed_mutex>();
  return mutex;
}

Result<Checkout> Workspace::prepare(const RepoSource& source, const CheckoutRequest& request) {
  if (!valid_session_id(request.session_id)) {
    return fail(ErrorCode::invalid_argument,
                "workspace: session id must be 1-64 letters, digits, '-' or '_'");
  }
  if (source.instance.empty() || source.full_name.empty()) {
    return fail(ErrorCode::invalid_argument, "workspace: no instance or repository name");
  }
  if (auto url = check_remote_url(source.credentials.clone_url); !url) {
    return tl::unexpected(url.error());
  }
  auto wanted = wanted_refs(request.refs);
  if (!wanted) return tl::unexpected(wanted.error());
  if (!request.base_sha.empty() && !is_full_sha(request.base_sha)) {
    return fail(ErrorCode::invalid_argument, "workspace: base_sha must be a 40-hex commit id");
  }

  std::string name = request.session_id + "-" + branch_slug(request.task);
  Checkout checkout;
  checkout.branch = "forgehand/" + name;
  fs::path job_dir = fs::path(options_.root) / "jobs" / name;
  checkout.path = job_dir.string();

  auto job_lock = FileLock::acquire(lock_path_for(job_dir), std::chrono::steady_clock::now());
  if (!job_lock) return tl::unexpected(job_lock.error());
  if (!*job_lock) {
    return fail(ErrorCode::conflict,
                "workspace: the checkout for session " + request.session_id + " is in use");
  }
  std::error_code error;
  fs::remove_all(job_dir, error);
  if (error) {
    return fail(ErrorCode::io, "workspace: remove " + job_dir.string() + ": " + error.message());
  }
  auto remove_job = [&] {
    std::error_code ignored;
    fs::remove_all(job_dir, ignored);
  };

  fs::path mirror_dir = mirror_path(source.instance, source.full_name);
  RepositoryPtr repository;
  {
    SteadyTime deadline = std::chrono::steady_clock::now() + options_.lock_timeout;
    std::shared_ptr<std::timed_mutex> mutex = mirror_mutex(mirror_dir.string());
    std::unique_lock in_process(*mutex, std::defer_lock);
    if (!in_process.try_lock_until(deadline)) {
      return fail(ErrorCode::timeout, "workspace: the mirror of " + source.full_name +
                                          " stayed busy (another job is fetching it)");
    }
    fs::create_directories(mirror_dir.parent_path(), error);
    auto mirror_lock = FileLock::acquire(lock_path_for(mirror_dir), deadline);
    if (!mirror_lock) return tl::unexpected(mirror_lock.error());
    if (!*mirror_lock) {
      return fail(ErrorCode::timeout, "workspace: the mirror of " + source.full_name +
                                          " stayed busy (another process is fetching it)");
    }

    auto mirror = open_mirror(mirror_dir);
    if (!mirror) return tl::unexpected(mirror.error());
    if (!options_.git_program.empty()) {
      if (auto indexing = index_packs_with_git(mirror->get(), options_.git_program); !indexing) {
        return tl::unexpected(indexing.error());
      }
    }
    auto tips = fetch_into_mirror(mirror->get(), source, *wanted, options_.max_auth_attempts);
    if (!tips) return tl::unexpected(tips.error());
    checkout.base_sha =
        request.base_sha.empty() ? tips->at(wanted->front().name) : request.base_sha;
    checkout.base_objects = (mirror_dir / "objects").string();

    git_oid base;
    git_oid_fromstr(&base, checkout.base_sha.c_str());
    git_commit* commit = nullptr;
    if (git_commit_lookup(&commit, mirror->get(), &base) < 0) {
      return fail(ErrorCode::not_found, "workspace: commit " + checkout.base_sha +
                                            " is not in what was fetched from " + source.full_name);
    }
    git_commit_free(commit);
    // The copy's HEAD follows the mirror's: detached at the base, no branch to clean up after.
    if (int result = git_repository_set_head_detached(mirror->get(), &base); result < 0) {
      return tl::unexpected(git_failure(result, "workspace: mirror HEAD"));
    }
    (*mirror_lock)->mark_used(options_.clock->now());

    auto copy = clone_from_mirror(mirror_dir, job_dir);
    if (!copy) {
      remove_job();
      return tl::unexpected(copy.error());
    }
    repository = std::move(*copy);
  }

  if (auto started = start_branch(repository.get(), checkout.branch, checkout.base_sha); !started) {
    remove_job();
    return tl::unexpected(started.error());
  }
  (*job_lock)->mark_used(options_.clock->now());
  checkout.lease = std::shared_ptr<FileLock>(std::move(*job_lock));
  return checkout;
}

Result<EvictionReport> Workspace::evict() {
  struct Entry {
    fs::path dir;
    TimePoint last_used;
    std::uint64_t bytes = 0;
    bool mirror = false;
  };
  std::vector<Entry> entries;
  std::vector<fs::path> orphan_locks;
  fs::path root(options_.root);
  try {
    auto collect = [&](const fs::path& parent, bool mirror) {
      for (const fs::directory_entry& item : fs::directory_iterator(parent)) {
        const fs::path& path = item.path();
        if (item.is_directory() && !item.is_symlink()) {
          fs::path lock = lock_path_for(path);
          TimePoint used = fs::exists(lock) ? modified_time(lock) : modified_time(path);
          entries.push_back({path, used, disk_usage(path), mirror});
        } else if (path.extension() == ".lock") {
          fs::path guarded = path;
          guarded.replace_extension();
          if (!fs::exists(guarded)) orphan_locks.push_back(path);
        }
      }
    };
    for (const fs::directory_entry& instance : fs::directory_iterator(root / "mirrors")) {
      if (instance.is_directory() && !instance.is_symlink()) collect(instance.path(), true);
    }
    collect(root / "jobs", false);
  } catch (const fs::filesystem_error& e) {
    return fail(ErrorCode::io, std::string("workspace: evict: ") + e.what());
  }

  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.last_used < b.last_used; });
  EvictionReport report;
  std::uint64_t total = 0;
  for (const Entry& entry : entries) total += entry.bytes;
  TimePoint now = options_.clock->now();
  SteadyTime no_wait = std::chrono::steady_clock::now();
  for (const Entry& entry : entries) {
    bool too_old = now - entry.last_used > options_.max_age;
    if (!too_old && total <= options_.max_bytes) break;  // the rest are newer still
    std::shared_ptr<std::timed_mutex> mutex;
    std::unique_lock<std::timed_mutex> in_process;
    if (entry.mirror) {
      mutex = mirror_mutex(entry.dir.string());
      in_process = std::unique_lock(*mutex, std::try_to_lock);
      if (!in_process.owns_lock()) {
        report.busy.push_back(entry.dir.string());
        continue;
      }
    }
    auto lock = FileLock::acquire(lock_path_for(entry.dir), no_wait);
    if (!lock) return tl::unexpected(lock.error());
    if (!*lock) {
      report.busy.push_back(entry.dir.string());
      continue;
    }
    std::error_code error;
    fs::remove_all(entry.dir, error);
    if (error) {
      return fail(ErrorCode::io, "workspace: evict " + entry.dir.string() + ": " + error.message());
    }
    (*lock)->unlink();
    total -= entry.bytes;
    report.bytes_freed += entry.bytes;
    report.removed.push_back(entry.dir.string());
  }
  for (const fs::path& path : orphan_locks) {
    auto lock = FileLock::acquire(path, no_wait);
    if (lock && *lock) (*lock)->unlink();
  }
  report.bytes_kept = total;
  return report;
}

}  // namespace forgehand::runner
