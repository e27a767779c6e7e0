#include "runner/index_pack.h"

#include <git2/sys/odb_backend.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string_view>
#include <vector>

#include "runner/git_support.h"
#include "util/text.h"
#include "util/unique_fd.h"

namespace forgehand::runner {

namespace {

// git's own message is enough to explain a bad pack; past this it is noise.
constexpr std::size_t kMaxMessage = 2000;

struct IndexPackBackend {
  git_odb_backend parent;  // first: libgit2 hands back this address
  std::string git_program;
  std::string git_dir;
};

struct IndexPackStream {
  git_odb_writepack parent;  // first, as above
  const IndexPackBackend* owner = nullptr;
  pid_t child = -1;
  UniqueFd input;   // the pack goes in here
  UniqueFd output;  // what the child printed, stdout and stderr together
};

int report(const std::string& message) {
  git_error_set_str(GIT_ERROR_ODB, message.c_str());
  return -1;
}

std::string errno_text(int error) { return std::strerror(error); }

int start(IndexPackStream& stream) {
  int sockets[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets) != 0) {
    return report("index-pack: socketpair: " + errno_text(errno));
  }
  UniqueFd ours(sockets[0]);
  UniqueFd theirs(sockets[1]);
  UniqueFd output(memfd_create("forgehand-index-pack", MFD_CLOEXEC));
  if (!output) return report("index-pack: memfd_create: " + errno_text(errno));

  const IndexPackBackend& owner = *stream.owner;
  std::vector<std::string> arguments = {owner.git_program, "index-pack", "--stdin", "--fix-thin"};
  // No configuration but the mirror's own, which forgehand wrote.
  std::vector<std::string> environment = {"GIT_DIR=" + owner.git_dir,
                                          "GIT_CONFIG_NOSYSTEM=1",
                                          "GIT_CONFIG_GLOBAL=/dev/null",
                                          "HOME=/",
                                          "LC_ALL=C",
                                          "PATH=/usr/bin:/bin"};
  auto pointers = [](std::vector<std::string>& strings) {
    std::vector<char*> result;
    for (std::string& s : strings) result.push_back(s.data());
    result.push_back(nullptr);
    return result;
  };
  std::vector<char*> argv = pointers(arguments);
  std::vector<char*> envp = pointers(environment);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, theirs.get(), 0);
  posix_spawn_file_actions_adddup2(&actions, output.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, output.get(), 2);
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  // The service blocks its stop signals and ignores SIGPIPE; git starts with the defaults.
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t none;
  sigemptyset(&none);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t child = -1;
  int spawned = posix_spawn(&child, owner.git_program.c_str(), &actions, &attributes, argv.data(),
                            envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (spawned != 0) {
    return report("index-pack: run " + owner.git_program + ": " + errno_text(spawned));
  }
  stream.child = child;
  stream.input = std::move(ours);
  stream.output = std::move(output);
  return 0;
}

// Waits for the child and returns 0 when it indexed the pack.
int finish(IndexPackStream& stream) {
  stream.input.reset();
  int status = 0;
  while (waitpid(stream.child, &status, 0) < 0 && errno == EINTR) {
  }
  stream.child = -1;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;

  std::string printed(kMaxMessage, '\0');
  ssize_t length = pread(stream.output.get(), printed.data(), printed.size(), 0);
  printed.resize(length > 0 ? static_cast<std::size_t>(length) : 0);
  std::string how = WIFEXITED(status) ? "exited with " + std::to_string(WEXITSTATUS(status))
                                      : "was killed by signal " + std::to_string(WTERMSIG(status));
  std::string message = "git index-pack " + how;
  if (std::string_view said = text::trim(printed); !said.empty())
    message += ": " + std::string(said);
  return report(message);
}

int append(git_odb_writepack* base, const void* data, std::size_t size, git_indexer_progress*) {
  auto& stream = *reinterpret_cast<IndexPackStream*>(base);
  if (stream.child < 0 && start(stream) < 0) return -1;
  const char* bytes = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t sent = send(stream.input.get(), bytes, size, MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0) {
      int error = errno;
      // It stopped reading: its own exit status and message say why.
      if (finish(stream) < 0) return -1;
      return report("index-pack: send the pack: " + errno_text(error));
    }
    bytes += sent;
    size -= static_cast<std::size_t>(sent);
  }
  return 0;
}

int commit(git_odb_writepack* base, git_indexer_progress*) {
  auto& stream = *reinterpret_cast<IndexPackStream*>(base);
  if (stream.child < 0) return report("index-pack: the server sent no pack");
  return finish(stream);
}

// An abandoned fetch: index-pack would wait for the rest of the pack, so it is stopped. It may
// leave a tmp_pack_ file in the mirror, which is only a cache.
void free_stream(git_odb_writepack* base) {
  auto* stream = reinterpret_cast<IndexPackStream*>(base);
  if (stream->child > 0) {
    kill(stream->child, SIGKILL);
    while (waitpid(stream->child, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  delete stream;
}

int writepack(git_odb_writepack** out, git_odb_backend* base, git_odb*, git_indexer_progress_cb,
              void*) {
  auto* stream = new IndexPackStream{};
  stream->parent.backend = base;
  stream->parent.append = append;
  stream->parent.commit = commit;
  stream->parent.free = free_stream;
  stream->owner = reinterpret_cast<const IndexPackBackend*>(base);
  *out = &stream->parent;
  return 0;
}

void free_backend(git_odb_backend* base) { delete reinterpret_cast<IndexPackBackend*>(base); }

}  // namespace

std::string find_git_program() {
  const char* path = std::getenv("PATH");
  std::istringstream directories(path != nullptr ? path : "/usr/bin:/bin");
  std::string directory;
  while (std::getline(directories, directory, ':')) {
    if (directory.empty() || directory.front() != '/') continue;
    std::string candidate = directory + "/git";
    struct stat info {};
    if (stat(candidate.c_str(), &info) == 0 && S_ISREG(info.st_mode) &&
        access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return {};
}

Result<void> index_packs_with_git(git_repository* repository, const std::string& git_program) {
  if (git_program.empty() || git_program.front() != '/') {
    return fail(ErrorCode::invalid_argument, "index-pack: git must be named by an absolute path");
  }
  git_odb* odb = nullptr;
  if (int result = git_repository_odb(&odb, repository); result < 0) {
    return tl::unexpected(git_failure(result, "index-pack: open the object database"));
  }
  auto* backend = new IndexPackBackend{};
  git_odb_init_backend(&backend->parent, GIT_ODB_BACKEND_VERSION);
  backend->parent.writepack = writepack;
  backend->parent.free = free_backend;
  backend->git_program = git_program;
  backend->git_dir = git_repository_path(repository);
  // Above libgit2's own pack backend (priority 2), which would otherwise take the pack; with no
  // read callbacks, lookups still go to libgit2's backends, which find the new pack on refresh.
  constexpr int kPriority = 3;
  int result = git_odb_add_backend(odb, &backend->parent, kPriority);
  git_odb_free(odb);
  if (result < 0) {
    delete backend;
    return tl::unexpected(git_failure(result, "index-pack: add the backend"));
  }
  return {};
}

}  // namespace forgehand::runner
