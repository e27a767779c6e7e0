#include "runner/sandbox.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "util/unique_fd.h"

namespace forgehand::runner {

namespace {

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

constexpr std::string_view kDefaultPath =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
// Descriptors in the children: bubblewrap's --json-status-fd, and the report pipe to forgehand.
constexpr int kStatusFd = 3;
constexpr int kReportFd = 4;
constexpr int kFirstFreeFd = 5;
// After the command exits, what is left of its tree is killed and reaped for at most this long
// (under `sandbox: none` a process that left the process group survives it).
constexpr long kStragglerGraceMs = 2000;
// Output still arriving after the reaper exited is read for this long.
constexpr auto kDrainGrace = std::chrono::seconds(2);
// When the reaper has not exited this long after a timeout, it is killed too.
constexpr auto kReaperGrace = std::chrono::milliseconds(kStragglerGraceMs + 3000);
constexpr int kMaxWalkDepth = 256;

std::string errno_text(int error) { return std::strerror(error); }

UniqueFd move_above_targets(int fd) {
  // Every descriptor the child dup2()s from must not be one of the numbers it dup2()s onto.
  UniqueFd owned(fd);
  return UniqueFd(fcntl(owned.get(), F_DUPFD_CLOEXEC, kFirstFreeFd));
}

struct Pipe {
  UniqueFd read;
  UniqueFd write;
};

Result<Pipe> make_pipe() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return fail(ErrorCode::io, "pipe: " + errno_text(errno));
  Pipe pipe{move_above_targets(fds[0]), move_above_targets(fds[1])};
  if (!pipe.read || !pipe.write) return fail(ErrorCode::io, "fcntl: " + errno_text(errno));
  return pipe;
}

bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// The length of `text` without a multi-byte sequence cut off at its end.
std::size_t complete_utf8_prefix(std::string_view text) {
  std::size_t lead = text.size();
  std::size_t continuations = 0;
  while (lead > 0 && continuations < 3 && is_continuation(text[lead - 1])) {
    --lead;
    ++continuations;
  }
  if (lead == 0) return text.size();
  auto byte = static_cast<unsigned char>(text[lead - 1]);
  std::size_t length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1;
  return length > 1 && continuations + 1 < length ? lead - 1 : text.size();
}

// Keeps the first and last half of the limit and counts what was dropped in between, so a long
// build log still shows how it started and how it failed.
class OutputCapture {
 public:
  explicit OutputCapture(std::size_t limit)
      : head_limit_(limit / 2), tail_limit_(limit - limit / 2) {}

  void append(std::string_view data) {
    total_ += data.size();
    std::size_t to_head = std::min(data.size(), head_limit_ - head_.size());
    head_.append(data.substr(0, to_head));
    data.remove_prefix(to_head);
    if (data.empty()) return;
    tail_.append(data);
    if (tail_.size() > 2 * tail_limit_) tail_.erase(0, tail_.size() - tail_limit_);
  }

  std::size_t total() const { return total_; }
  bool truncated() const { return total_ > head_limit_ + tail_limit_; }

  std::string text() const {
    if (!truncated()) return head_ + tail_;
    // Cut on UTF-8 sequence boundaries so the text stays readable (and valid JSON later on).
    std::string_view head(head_.data(), complete_utf8_prefix(head_));
    std::string_view tail = std::string_view(tail_).substr(tail_.size() - tail_limit_);
    for (int i = 0; i < 3 && !tail.empty() && is_continuation(tail[0]); ++i) tail.remove_prefix(1);
    std::size_t omitted = total_ - head.size() - tail.size();
    std::string text(head);
    text += "\n[forgehand: " + std::to_string(omitted) + " bytes of output omitted]\n";
    text += tail;
    return text;
  }

 private:
  std::size_t head_limit_;
  std::size_t tail_limit_;
  std::string head_;
  std::string tail_;
  std::size_t total_ = 0;
};

bool is_executable_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

std::optional<std::string> find_executable(const std::string& name, std::string_view search_path) {
  if (name.find('/') != std::string::npos) {
    if (is_executable_file(name)) return name;
    return std::nullopt;
  }
  while (!search_path.empty()) {
    std::size_t colon = search_path.find(':');
    std::string_view dir = search_path.substr(0, colon);
    search_path =
        colon == std::string_view::npos ? std::string_view() : search_path.substr(colon + 1);
    if (dir.empty()) continue;
    std::string candidate = std::string(dir) + "/" + name;
    if (is_executable_file(candidate)) return candidate;
  }
  return std::nullopt;
}

// Gives the tree to the sandbox user without following a symlink anywhere (a command may have
// planted them to point at /etc). Regular files with several links are left alone: they are
// shared with something outside the workdir, such as a git mirror's objects, which a command
// must not be able to change.
Result<void> hand_over(int dirfd, uid_t uid, gid_t gid, int depth) {
  if (depth > kMaxWalkDepth) return fail(ErrorCode::io, "directories nested too deeply");
  struct stat st {};
  if (fstat(dirfd, &st) != 0) return fail(ErrorCode::io, "fstat: " + errno_text(errno));
  if ((st.st_uid != uid || st.st_gid != gid) && fchown(dirfd, uid, gid) != 0) {
    return fail(ErrorCode::io, "fchown: " + errno_text(errno));
  }
  int listing = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
  DIR* dir = listing < 0 ? nullptr : fdopendir(listing);
  if (dir == nullptr) {
    if (listing >= 0) ::close(listing);
    return fail(ErrorCode::io, "opendir: " + errno_text(errno));
  }
  std::unique_ptr<DIR, int (*)(DIR*)> closer(dir, closedir);
  while (dirent* entry = readdir(dir)) {
    std::string_view name = entry->d_name;
    if (name == "." || name == "..") continue;
    if (fstatat(dirfd, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      UniqueFd child(openat(dirfd, entry->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!child) return fail(ErrorCode::io, std::string(name) + ": " + errno_text(errno));
      if (auto done = hand_over(child.get(), uid, gid, depth + 1); !done) {
        return tl::unexpected(done.error().context(name));
      }
      continue;
    }
    if (S_ISREG(st.st_mode) && st.st_nlink > 1) continue;
    if ((st.st_uid != uid || st.st_gid != gid) &&
        fchownat(dirfd, entry->d_name, uid, gid, AT_SYMLINK_NOFOLLOW) != 0) {
      return fail(ErrorCode::io, std::string(name) + ": fchownat: " + errno_text(errno));
    }
  }
  return {};
}

// The first parent of `workdir` that `uid`/`gid` (without supplementary groups) cannot search.
std::optional<std::string> closed_parent(const std::string& workdir, uid_t uid, gid_t gid) {
  for (fs::path dir = fs::path(workdir).parent_path(); !dir.empty();
       dir = dir == dir.root_path() ? fs::path() : dir.parent_path()) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) return dir.string();
    bool searchable = st.st_uid == uid   ? (st.st_mode & S_IXUSR) != 0
                      : st.st_gid == gid ? (st.st_mode & S_IXGRP) != 0
                                         : (st.st_mode & S_IXOTH) != 0;
    if (!searchable) return dir.string();
  }
  return std::nullopt;
}

bool within(const std::string& path, const std::string& dir) {
  return path == dir || (path.starts_with(dir) && path[dir.size()] == '/');
}

std::optional<long> json_number(std::string_view text, std::string_view key) {
  std::string quoted = "\"" + std::string(key) + "\":";
  std::size_t at = text.find(quoted);
  if (at == std::string_view::npos) return std::nullopt;
  std::string rest(text.substr(at + quoted.size(), 24));
  char* end = nullptr;
  long value = std::strtol(rest.c_str(), &end, 10);
  if (end == rest.c_str()) return std::nullopt;
  return value;
}

// Everything the children need, prepared before fork() so that they only make
// async-signal-safe calls (forgehand has threads; another may hold malloc's lock).
struct ChildPlan {
  const char* executable = nullptr;
  std::vector<char*> argv;
  std::vector<char*> envp;
  const char* workdir = nullptr;
  std::array<std::pair<int, rlim_t>, 6> limits{};
  bool drop_privileges = false;
  uid_t uid = 0;
  gid_t gid = 0;
  pid_t parent = 0;
  int null_fd = -1;
  int output_fd = -1;
  int status_fd = -1;  // bubblewrap only
  int report_fd = -1;
  // bubblewrap as root: where the workdir is mounted for bubblewrap to find.
  const char* portal = nullptr;
};

enum class ChildStep : int {
  signals,
  session,
  descriptors,
  limits,
  mounts,
  directory,
  credentials,
  reaper,
  exec
};

// What the children tell forgehand on the report pipe: the command's pid once it is forked, or
// the step that failed.
struct ChildReport {
  pid_t command = 0;
  ChildStep step = ChildStep::exec;
  int error = 0;
};

[[noreturn]] void report_failure(ChildStep step) {
  ChildReport report{0, step, errno};
  ssize_t ignored = ::write(kReportFd, &report, sizeof report);
  (void)ignored;
  _exit(127);
}

long elapsed_ms(const timespec& since) {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (now.tv_sec - since.tv_sec) * 1000 + (now.tv_nsec - since.tv_nsec) / 1'000'000;
}

[[noreturn]] void command_main(const ChildPlan& plan, pid_t reaper) {
  // A process group of its own, which forgehand's timeout kills without killing the reaper.
  if (setpgid(0, 0) != 0) report_failure(ChildStep::session);
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) report_failure(ChildStep::credentials);
  if (getppid() != reaper) _exit(127);
  execve(plan.executable, plan.argv.data(), plan.envp.data());
  report_failure(ChildStep::exec);
}

// Waits for the command, kills what is left of its process group, then reaps every process that
// was re-parented here (as subreaper), so that nothing is left running or unreaped: the PID 1 of
// a container may never reap, and zombies count against the process limit. Exits the way the
// command did.
[[noreturn]] void reap(pid_t command) {
  while (true) {
    // WNOWAIT keeps the command a zombie, so its pid, which names its process group, cannot be
    // reused before the group is killed.
    siginfo_t info{};
    if (waitid(P_ALL, 0, &info, WEXITED | WNOWAIT) != 0) {
      if (errno == EINTR) continue;
      _exit(127);
    }
    if (info.si_pid == command) break;
    waitpid(info.si_pid, nullptr, 0);
  }
  kill(-command, SIGKILL);
  int status = 0;
  while (waitpid(command, &status, 0) < 0 && errno == EINTR) {
  }
  timespec since{};
  clock_gettime(CLOCK_MONOTONIC, &since);
  while (true) {
    pid_t pid = waitpid(-1, nullptr, WNOHANG);
    if (pid > 0) continue;
    // ECHILD: all reaped. Only a process that left the process group (possible under
    // `sandbox: none`) can make this wait run out.
    if ((pid < 0 && errno != EINTR) || elapsed_ms(since) > kStragglerGraceMs) break;
    timespec pause{0, 5'000'000};
    nanosleep(&pause, nullptr);
  }
  if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
  kill(getpid(), WTERMSIG(status));  // dispositions are the defaults: die the same way
  _exit(128 + WTERMSIG(status));
}

// The first child: sets the stage (session, descriptors, limits, mounts, credentials), forks the
// command and reaps everything it leaves behind.
[[noreturn]] void reaper_main(const ChildPlan& plan) {
  if (dup2(plan.report_fd, kReportFd) < 0) _exit(127);
  // forgehand blocks its stop signals and ignores SIGPIPE; a command must start with defaults.
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  sigemptyset(&default_action.sa_mask);
  for (int sig = 1; sig < NSIG; ++sig) sigaction(sig, &default_action, nullptr);
  sigset_t none;
  sigemptyset(&none);
  if (sigprocmask(SIG_SETMASK, &none, nullptr) != 0) report_failure(ChildStep::signals);

  // A session of its own: away from forgehand's terminal and process group.
  if (setsid() < 0) report_failure(ChildStep::session);

  if (dup2(plan.null_fd, STDIN_FILENO) < 0 || dup2(plan.output_fd, STDOUT_FILENO) < 0 ||
      dup2(plan.output_fd, STDERR_FILENO) < 0 ||
      (plan.status_fd >= 0 && dup2(plan.status_fd, kStatusFd) < 0)) {
    report_failure(ChildStep::descriptors);
  }
  if (plan.status_fd < 0) close(kStatusFd);  // whatever of forgehand's had that number
  // Nothing else of forgehand's (store, sockets, other jobs' pipes) stays open here or reaches
  // the command; a kept socket would hold a connection forgehand closed.
  if (fcntl(kReportFd, F_SETFD, FD_CLOEXEC) != 0 ||
      close_range(static_cast<unsigned>(kFirstFreeFd), ~0U, 0) != 0) {
    report_failure(ChildStep::descriptors);
  }

  for (const auto& [resource, value] : plan.limits) {
    rlimit limit{value, value};
    if (setrlimit(static_cast<__rlimit_resource_t>(resource), &limit) != 0) {
      report_failure(ChildStep::limits);
    }
  }

  // bubblewrap resolves a bind mount's source as the sandbox uid, which may not be allowed to
  // enter the workdir's parents (a data dir private to root). The workdir is mounted where it
  // can, in a mount namespace of this process only, so nothing shows on the host.
  if (plan.portal != nullptr &&
      (unshare(CLONE_NEWNS) != 0 ||
       mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
       mount(plan.workdir, plan.portal, nullptr, MS_BIND | MS_REC, nullptr) != 0)) {
    report_failure(ChildStep::mounts);
  }

  // Before giving up root, for the same reason.
  if (chdir(plan.workdir) != 0) report_failure(ChildStep::directory);

  if (plan.drop_privileges) {
    // Raw system calls: glibc's wrappers synchronise credentials across threads, machinery that
    // is not safe to use in a child forked from a threaded process.
    if (syscall(SYS_setgroups, 0, nullptr) != 0 ||
        syscall(SYS_setresgid, plan.gid, plan.gid, plan.gid) != 0 ||
        syscall(SYS_setresuid, plan.uid, plan.uid, plan.uid) != 0) {
      report_failure(ChildStep::credentials);
    }
  }
  // Set after the credential change, which clears the parent-death signal. No setuid program
  // may hand the command privileges back.
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
      prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) {
    report_failure(ChildStep::credentials);
  }
  if (getppid() != plan.parent) _exit(127);
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) report_failure(ChildStep::reaper);

  pid_t reaper = getpid();
  pid_t command = _Fork();
  if (command < 0) report_failure(ChildStep::reaper);
  if (command == 0) command_main(plan, reaper);
  // Also here, so the group exists before forgehand learns the pid (EACCES once it has exec'd).
  setpgid(command, command);
  ChildReport started{command, ChildStep::exec, 0};
  ssize_t ignored = ::write(kReportFd, &started, sizeof started);
  (void)ignored;
  // Only the command's tree holds the pipes now, so forgehand sees end-of-file when it is done.
  close(kReportFd);
  close(STDIN_FILENO);
  close(STDOUT_FILENO);
  close(STDERR_FILENO);
  close(kStatusFd);
  reap(command);
}

std::string_view step_name(ChildStep step) {
  switch (step) {
    case ChildStep::signals:
      return "reset signals";
    case ChildStep::session:
      return "setsid";
    case ChildStep::descriptors:
      return "set up descriptors";
    case ChildStep::limits:
      return "setrlimit";
    case ChildStep::mounts:
      return "mount the workdir";
    case ChildStep::directory:
      return "chdir to the workdir";
    case ChildStep::credentials:
      return "drop privileges";
    case ChildStep::reaper:
      return "start the command";
    case ChildStep::exec:
      return "exec";
  }
  return "start";
}

std::vector<std::string> bubblewrap_args(const std::string& bwrap, const std::string& source,
                                         const std::string& workdir,
                                         const std::vector<std::string>& hidden,
                                         const std::vector<std::string>& shared,
                                         const std::vector<std::string>& read_only, bool network,
                                         const std::vector<std::string>& argv) {
  std::vector<std::string> args = {bwrap, "--unshare-all"};
  if (network) args.push_back("--share-net");
  // An explicit user namespace, so that --disable-userns can stop the command from making
  // nested ones (each is new kernel attack surface, and root inside it).
  for (const char* arg :
       {"--unshare-user", "--disable-userns", "--die-with-parent", "--new-session", "--cap-drop",
        "ALL", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"}) {
    args.emplace_back(arg);
  }
  if (!network) args.insert(args.end(), {"--tmpfs", "/run"});
  for (const std::string& path : hidden) args.insert(args.end(), {"--tmpfs", path});
  for (const std::string& path : read_only) args.insert(args.end(), {"--ro-bind", path, path});
  // Mounted before the workdir, so a workdir below /tmp is not covered by one of them.
  for (const std::string& path : shared) args.insert(args.end(), {"--bind", path, path});
  args.insert(args.end(), {"--bind", source, workdir, "--chdir", workdir, "--json-status-fd",
                           std::to_string(kStatusFd), "--"});
  args.insert(args.end(), argv.begin(), argv.end());
  return args;
}

bool valid_env_name(std::string_view name) {
  return !name.empty() && name.find('=') == std::string_view::npos &&
         name.find('\0') == std::string_view::npos;
}

std::vector<std::string> command_environment(const SandboxCommand& command) {
  std::vector<std::pair<std::string, std::string>> env = {
      {"PATH", std::string(kDefaultPath)}, {"HOME", "/tmp"}, {"LANG", "C.UTF-8"}};
  for (const auto& [name, value] : command.env) {
    auto same = [&name](const auto& entry) { return entry.first == name; };
    if (auto it = std::find_if(env.begin(), env.end(), same); it != env.end()) {
      it->second = value;
    } else {
      env.emplace_back(name, value);
    }
  }
  std::vector<std::string> lines;
  for (const auto& [name, value] : env) lines.push_back(name + "=" + value);
  return lines;
}

std::string search_path_of(const std::vector<std::string>& environment) {
  for (const std::string& line : environment) {
    if (line.starts_with("PATH=")) return line.substr(5);
  }
  return std::string(kDefaultPath);
}

rlim_t capped(int resource, std::int64_t value, bool privileged) {
  auto wanted = static_cast<rlim_t>(value);
  rlimit current{};
  if (privileged || getrlimit(static_cast<__rlimit_resource_t>(resource), &current) != 0) {
    return wanted;
  }
  // Without privilege a hard limit can only be lowered.
  return std::min(wanted, current.rlim_max);
}

// An empty directory under /tmp, removed again when the run is over.
class Portal {
 public:
  Portal() = default;
  ~Portal() {
    if (!path_.empty()) rmdir(path_.c_str());
  }
  Portal(const Portal&) = delete;
  Portal& operator=(const Portal&) = delete;

  bool create() {
    std::string pattern = "/tmp/forgehand-portal.XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) return false;
    path_ = pattern;
    return true;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace

std::string describe(const SandboxResult& result) {
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.2f s",
                static_cast<double>(result.duration.count()) / 1000.0);
  std::string line;
  if (result.cancelled) {
    line = "cancelled after " + std::string(seconds) + " (process tree killed)";
  } else if (result.timed_out) {
    line = "timed out after " + std::string(seconds) + " (process tree killed)";
  } else if (result.signal != 0) {
    const char* name = sigabbrev_np(result.signal);
    line =
        "killed by " +
        (name != nullptr ? "SIG" + std::string(name) : "signal " + std::to_string(result.signal)) +
        " after " + seconds;
  } else {
    line = "exit " + std::to_string(result.exit_code) + " after " + seconds;
  }
  if (result.truncated) {
    line += ", output truncated (" + std::to_string(result.output_bytes) + " bytes)";
  }
  line += "; ";
  line += result.sandboxed ? "sandboxed (bubblewrap, " : "NOT sandboxed (sandbox: none, ";
  line += "uid " + std::to_string(result.uid) + ", ";
  line += result.network ? "network)" : "no network)";
  return line;
}

Result<SandboxResult> ProcessSandbox::run(const SandboxCommand& command) const {
  if (command.argv.empty()) return fail(ErrorCode::invalid_argument, "sandbox: no command given");
  for (const std::string& arg : command.argv) {
    if (arg.find('\0') != std::string::npos) {
      return fail(ErrorCode::invalid_argument, "sandbox: an argument contains a NUL byte");
    }
  }
  for (const auto& [name, value] : command.env) {
    if (!valid_env_name(name) || value.find('\0') != std::string::npos) {
      return fail(ErrorCode::invalid_argument,
                  "sandbox: invalid environment variable \"" + name + "\"");
    }
  }
  std::error_code ec;
  if (!fs::path(command.workdir).is_absolute() || !fs::is_directory(command.workdir, ec)) {
    return fail(ErrorCode::invalid_argument,
                "sandbox: workdir must be an existing absolute directory: " + command.workdir);
  }
  std::string workdir = fs::canonical(command.workdir, ec).string();
  if (ec || workdir == "/") {
    return fail(ErrorCode::invalid_argument, "sandbox: unusable workdir " + command.workdir);
  }

  std::vector<std::string> shared;
  for (const std::string& dir : command.shared_dirs) {
    // Only /tmp is private inside, so only there can bubblewrap create the mount point.
    std::string resolved = fs::canonical(dir, ec).string();
    if (ec || !fs::is_directory(resolved, ec) || resolved == "/tmp" || !within(resolved, "/tmp")) {
      return fail(ErrorCode::invalid_argument,
                  "sandbox: a shared directory must be an existing directory below /tmp: " + dir);
    }
    shared.push_back(std::move(resolved));
  }
  std::vector<std::string> read_only;
  for (const std::string& file : command.read_only_files) {
    std::string resolved = fs::canonical(file, ec).string();
    if (ec || !fs::is_regular_file(resolved, ec)) {
      return fail(ErrorCode::invalid_argument, "sandbox: not an existing file: " + file);
    }
    read_only.push_back(std::move(resolved));
  }

  bool isolate = config_.kind == SandboxKind::bubblewrap;
  bool privileged = geteuid() == 0;
  Portal portal;
  if (isolate && privileged && !portal.create()) {
    return fail(ErrorCode::io, "sandbox: mkdtemp in /tmp: " + errno_text(errno));
  }
  std::vector<std::string> environment = command_environment(command);
  std::vector<std::string> args;
  std::string executable;
  if (isolate) {
    const char* host_path = std::getenv("PATH");
    auto bwrap = find_executable(config_.bwrap_path, host_path != nullptr && *host_path != '\0'
                                                         ? std::string_view(host_path)
                                                         : kDefaultPath);
    if (!bwrap) {
      return fail(ErrorCode::config,
                  "sandbox: bubblewrap (" + config_.bwrap_path +
                      ") is not installed, so commands are refused; install it (Debian: apt-get "
                      "install bubblewrap, or scripts/install-deps), or set `sandbox: none` in "
                      "the server config to run commands without isolation");
    }
    executable = *bwrap;
    std::vector<std::string> hidden;
    for (const std::string& path : config_.hide_paths) {
      std::string resolved = fs::canonical(path, ec).string();
      if (ec || !fs::is_directory(resolved, ec) || within(resolved, workdir)) continue;
      hidden.push_back(resolved);
    }
    args = bubblewrap_args(executable, privileged ? portal.path() : workdir, workdir, hidden,
                           shared, read_only, command.network, command.argv);
  } else {
    // Nothing remounts the workdir here, so the sandbox uid must be able to reach it.
    if (privileged) {
      if (auto closed = closed_parent(workdir, config_.uid, config_.gid)) {
        return fail(ErrorCode::config, "sandbox: under `sandbox: none` uid " +
                                           std::to_string(config_.uid) + " must reach " + workdir +
                                           ", but " + *closed +
                                           " is closed to it (allow search: chmod o+x)");
      }
    }
    auto found = find_executable(command.argv[0], search_path_of(environment));
    if (!found) {
      return fail(ErrorCode::config, "sandbox: " + command.argv[0] + ": command not found");
    }
    executable = *found;
    args = command.argv;
  }

  UniqueFd workdir_fd(open(workdir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!workdir_fd)
    return fail(ErrorCode::io, "sandbox: open " + workdir + ": " + errno_text(errno));
  if (privileged) {
    if (auto handed = hand_over(workdir_fd.get(), config_.uid, config_.gid, 0); !handed) {
      return tl::unexpected(handed.error().context("sandbox: hand " + workdir + " to uid " +
                                                   std::to_string(config_.uid)));
    }
    for (const std::string& dir : shared) {
      UniqueFd dir_fd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!dir_fd) return fail(ErrorCode::io, "sandbox: open " + dir + ": " + errno_text(errno));
      if (auto handed = hand_over(dir_fd.get(), config_.uid, config_.gid, 0); !handed) {
        return tl::unexpected(handed.error().context("sandbox: hand " + dir + " to uid " +
                                                     std::to_string(config_.uid)));
      }
    }
  }

  auto output = make_pipe();
  auto status = make_pipe();
  auto reports = make_pipe();
  if (!output || !status || !reports) {
    return fail(ErrorCode::io, "sandbox: cannot create pipes: " + errno_text(errno));
  }
  UniqueFd null_fd = move_above_targets(open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!null_fd) return fail(ErrorCode::io, "sandbox: /dev/null: " + errno_text(errno));

  ChildPlan plan;
  plan.executable = executable.c_str();
  for (std::string& arg : args) plan.argv.push_back(arg.data());
  plan.argv.push_back(nullptr);
  for (std::string& line : environment) plan.envp.push_back(line.data());
  plan.envp.push_back(nullptr);
  plan.workdir = workdir.c_str();
  plan.limits = {{{RLIMIT_CPU, capped(RLIMIT_CPU, config_.cpu_seconds, privileged)},
                  {RLIMIT_AS, capped(RLIMIT_AS, config_.address_space_bytes, privileged)},
                  {RLIMIT_FSIZE, capped(RLIMIT_FSIZE, config_.file_size_bytes, privileged)},
                  {RLIMIT_NOFILE, capped(RLIMIT_NOFILE, config_.open_files, privileged)},
                  {RLIMIT_NPROC, capped(RLIMIT_NPROC, config_.processes, privileged)},
                  // A crashing test would otherwise leave core files in the diff.
                  {RLIMIT_CORE, 0}}};
  plan.drop_privileges = privileged;
  plan.uid = config_.uid;
  plan.gid = config_.gid;
  plan.parent = getpid();
  plan.null_fd = null_fd.get();
  plan.output_fd = output->write.get();
  plan.status_fd = isolate ? status->write.get() : -1;
  if (!portal.path().empty()) plan.portal = portal.path().c_str();
  plan.report_fd = reports->write.get();

  auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(config_.timeout);
  if (command.timeout.count() > 0) timeout = std::min(timeout, command.timeout);
  std::size_t limit = command.output_limit > 0 ? command.output_limit : config_.output_limit_bytes;

  SandboxResult result;
  result.sandboxed = isolate;
  result.network = isolate ? command.network : true;
  result.uid = privileged ? config_.uid : geteuid();

  auto started = SteadyClock::now();
  pid_t reaper = fork();
  if (reaper < 0) return fail(ErrorCode::io, "sandbox: fork: " + errno_text(errno));
  if (reaper == 0) reaper_main(plan);

  output->write.reset();
  status->write.reset();
  reports->write.reset();
  null_fd.reset();

  // End of file once the command has exec'd (close-on-exec) and the reaper closed its end.
  pid_t command_pid = 0;
  std::optional<ChildReport> failure;
  while (true) {
    ChildReport report{};
    ssize_t got = ::read(reports->read.get(), &report, sizeof report);
    if (got < 0 && errno == EINTR) continue;
    if (got != static_cast<ssize_t>(sizeof report)) break;
    if (report.command > 0) {
      command_pid = report.command;
    } else {
      failure = report;
    }
  }
  if (failure || command_pid == 0) {
    waitpid(reaper, nullptr, 0);
    if (!failure) return fail(ErrorCode::io, "sandbox: the command could not be started");
    std::string message = "sandbox: " + std::string(step_name(failure->step)) + " " +
                          (failure->step == ChildStep::exec ? executable + " " : "") +
                          "failed: " + errno_text(failure->error);
    return fail(failure->step == ChildStep::exec ? ErrorCode::config : ErrorCode::io, message);
  }

  UniqueFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, reaper, 0)));
  if (!pidfd) {
    kill(-command_pid, SIGKILL);
    kill(reaper, SIGKILL);
    waitpid(reaper, nullptr, 0);
    return fail(ErrorCode::io, "sandbox: pidfd_open: " + errno_text(errno));
  }

  OutputCapture capture(limit);
  std::string status_text;
  UniqueFd output_read = std::move(output->read);
  UniqueFd status_read = std::move(status->read);
  // Until the deadline the command runs; after it, the reaper gets kReaperGrace to clean up.
  auto deadline = started + timeout;
  bool exited = false;
  SteadyClock::time_point drain_until;
  char buffer[65536];

  auto read_into = [&buffer](UniqueFd& fd, auto&& sink) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n > 0) {
      sink(std::string_view(buffer, static_cast<std::size_t>(n)));
    } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
      fd.reset();
    }
  };

  while (!exited || ((output_read || status_read) && SteadyClock::now() < drain_until)) {
    std::array<pollfd, 3> fds{};
    nfds_t count = 0;
    int output_slot = -1, status_slot = -1, reaper_slot = -1;
    if (output_read) {
      output_slot = static_cast<int>(count);
      fds[count++] = {output_read.get(), POLLIN, 0};
    }
    if (status_read) {
      status_slot = static_cast<int>(count);
      fds[count++] = {status_read.get(), POLLIN, 0};
    }
    if (!exited) {
      reaper_slot = static_cast<int>(count);
      fds[count++] = {pidfd.get(), POLLIN, 0};
    }
    auto until = exited ? drain_until : deadline;
    auto wait_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(until - SteadyClock::now()).count();
    long long longest_wait = command.cancel != nullptr ? 200 : 1000;
    int ready =
        poll(fds.data(), count, static_cast<int>(std::clamp<long long>(wait_ms, 0, longest_wait)));
    if (ready < 0 && errno != EINTR) break;
    if (output_slot >= 0 && fds[output_slot].revents != 0) {
      read_into(output_read, [&capture](std::string_view data) { capture.append(data); });
    }
    if (status_slot >= 0 && fds[status_slot].revents != 0) {
      read_into(status_read, [&status_text](std::string_view data) { status_text += data; });
    }
    if (reaper_slot >= 0 && fds[reaper_slot].revents != 0) {
      exited = true;
      drain_until = SteadyClock::now() + kDrainGrace;
    } else if (!exited && !result.timed_out && !result.cancelled && command.cancel != nullptr &&
               command.cancel->load()) {
      result.cancelled = true;
      kill(-command_pid, SIGKILL);
      deadline = SteadyClock::now() + kReaperGrace;
    } else if (!exited && SteadyClock::now() >= deadline) {
      if (!result.timed_out && !result.cancelled) {
        // The reaper stays alive to reap the tree; it is killed only if it does not finish.
        result.timed_out = true;
        kill(-command_pid, SIGKILL);
        deadline += kReaperGrace;
      } else {
        kill(reaper, SIGKILL);
      }
    }
  }

  int wait_status = 0;
  while (waitpid(reaper, &wait_status, 0) < 0 && errno == EINTR) {
  }
  result.duration =
      std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - started);
  result.output = capture.text();
  result.output_bytes = capture.total();
  result.truncated = capture.truncated();

  if (WIFSIGNALED(wait_status)) {
    result.signal = WTERMSIG(wait_status);
    result.exit_code = 128 + result.signal;
  } else if (isolate) {
    auto code = json_number(status_text, "exit-code");
    if (!code) {
      // bubblewrap reports an exit code only for a command it started.
      std::string message = result.output;
      while (!message.empty() && std::isspace(static_cast<unsigned char>(message.back()))) {
        message.pop_back();
      }
      return fail(ErrorCode::config, "sandbox: bubblewrap could not run the command: " + message);
    }
    result.exit_code = static_cast<int>(*code);
    if (result.exit_code > 128 && result.exit_code < 128 + NSIG) {
      result.signal = result.exit_code - 128;
    }
  } else {
    result.exit_code = WEXITSTATUS(wait_status);
  }
  return result;
}

namespace {

struct ProcessInfo {
  int parent = 0;
  std::string name;  // comm: the executable's (or forking thread's) name, at most 15 bytes
  std::vector<std::string> args;
};

std::map<int, ProcessInfo> list_processes() {
  std::map<int, ProcessInfo> processes;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator("/proc", error)) {
    std::string pid = entry.path().filename().string();
    if (pid.empty() || !std::all_of(pid.begin(), pid.end(), ::isdigit)) continue;
    auto read = [&](const char* name) {
      std::ifstream file(entry.path() / name, std::ios::binary);
      return std::string(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
    };
    // "PID (NAME) STATE PPID ...": NAME may itself hold spaces and parentheses.
    std::string stat = read("stat");
    auto open = stat.find('(');
    auto close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos || close < open) continue;
    ProcessInfo info;
    info.name = stat.substr(open + 1, close - open - 1);
    std::istringstream fields(stat.substr(close + 1));
    std::string state;
    fields >> state >> info.parent;
    std::string cmdline = read("cmdline");
    for (std::size_t start = 0; start < cmdline.size();) {
      std::size_t end = cmdline.find('\0', start);
      if (end == std::string::npos) end = cmdline.size();
      info.args.push_back(cmdline.substr(start, end - start));
      start = end + 1;
    }
    processes[std::stoi(pid)] = std::move(info);
  }
  return processes;
}

}  // namespace

std::size_t kill_orphaned_sandboxes(const std::string& jobs_root) {
  std::string prefix = fs::path(jobs_root).lexically_normal().string();
  if (!prefix.ends_with('/')) prefix += '/';
  std::map<int, ProcessInfo> processes = list_processes();
  auto is_bwrap = [&](int pid) {
    auto found = processes.find(pid);
    return found != processes.end() && found->second.name == "bwrap";
  };

  std::set<int> orphans;  // the top bubblewrap of each orphaned sandbox
  for (const auto& [pid, info] : processes) {
    if (info.name != "bwrap") continue;
    auto chdir = std::find(info.args.begin(), info.args.end(), "--chdir");
    if (chdir == info.args.end() || chdir + 1 == info.args.end() ||
        !(chdir + 1)->starts_with(prefix)) {
      continue;
    }
    int top = pid;
    // Bounded: the table is read process by process, so a reused pid could make a loop of it.
    for (int depth = 0; depth < 16 && is_bwrap(processes[top].parent); ++depth) {
      top = processes[top].parent;
    }
    // A live sandbox's bubblewrap is the child of its reaper, a fork of forgehand (whose name a
    // fork keeps: "forgehand", or a thread's "fh-…"). An orphan's parent is init or a subreaper.
    int parent = processes[top].parent;
    auto found = processes.find(parent);
    bool ours = parent > 1 && found != processes.end() &&
                (found->second.name.starts_with("forgehand") ||
                 found->second.name.starts_with("fh-"));
    if (!ours) orphans.insert(top);
  }

  // The whole tree of each: bubblewrap's own processes die with their parent only once they
  // have set that up, which is the window that left them.
  std::map<int, std::vector<int>> children;
  for (const auto& [pid, info] : processes) children[info.parent].push_back(pid);
  for (int top : orphans) {
    std::vector<int> tree = {top};
    for (std::size_t i = 0; i < tree.size(); ++i) {
      for (int child : children[tree[i]]) tree.push_back(child);
    }
    for (int pid : tree) ::kill(pid, SIGKILL);
  }
  return orphans.size();
}

}  // namespace forgehand::runner
