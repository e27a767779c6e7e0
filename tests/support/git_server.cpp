#include "support/git_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace forgehand::testing {

namespace {

namespace fs = std::filesystem;

constexpr const char* kLighttpd = "/usr/sbin/lighttpd";
constexpr const char* kHttpBackend = "/usr/lib/git-core/git-http-backend";

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// A port the kernel just handed out; lighttpd binds it a moment later (start retries if lost).
int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  ::close(fd);
  return port;
}

bool accepts_connections(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return ok;
}

int count_lines_containing(const std::string& path, std::string_view needle) {
  std::ifstream in(path);
  int count = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.find(needle) != std::string::npos) ++count;
  }
  return count;
}

void write_file(const fs::path& path, std::string_view content) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

}  // namespace

CommandResult run_command(const std::vector<std::string>& argv, const std::string& cwd,
                          const std::map<std::string, std::string>& env,
                          std::chrono::seconds timeout) {
  std::vector<std::string> args = argv;
  std::vector<std::string> environment = {"PATH=/usr/local/bin:/usr/bin:/bin",
                                          "HOME=/nonexistent",
                                          "LANG=C",
                                          "GIT_CONFIG_NOSYSTEM=1",
                                          "GIT_CONFIG_GLOBAL=/dev/null",
                                          "GIT_TERMINAL_PROMPT=0"};
  for (const auto& [name, value] : env) environment.push_back(name + "=" + value);
  std::vector<char*> arg_pointers = pointers(args);
  std::vector<char*> env_pointers = pointers(environment);

  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(out[1], STDERR_FILENO);
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ::_exit(126);
    ::execve(arg_pointers[0], arg_pointers.data(), env_pointers.data());
    ::execvpe(arg_pointers[0], arg_pointers.data(), env_pointers.data());
    ::_exit(127);
  }
  ::close(out[1]);
  CommandResult result;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buffer[4096];
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ::kill(pid, SIGKILL);
      result.output += "\n[killed after timeout]";
      break;
    }
    pollfd wait{out[0], POLLIN, 0};
    if (::poll(&wait, 1, static_cast<int>(left.count())) <= 0) continue;
    ssize_t n = ::read(out[0], buffer, sizeof buffer);
    if (n <= 0) break;
    result.output.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(out[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

GitServer::GitServer(std::chrono::milliseconds request_delay) : request_delay_(request_delay) {
  fs::path root = dir_.path();
  fs::create_directories(root / "repos");
  fs::create_directories(root / "www");
  write_file(root / "users", std::string(kUser) + ":" + std::string(kPassword) + "\n");
  // The CGI: notes whether another request is being served (a flock it cannot take at once),
  // holds the request for the delay, then hands over to git http-backend.
  std::ostringstream delay;
  delay << static_cast<double>(request_delay_.count()) / 1000.0;
  write_file(root / "git-backend.sh",
             "#!/bin/sh\n"
             "exec 9>'" +
                 (root / "serving.lock").string() +
                 "'\n"
                 "if ! flock -n 9; then echo overlap >> '" +
                 (root / "overlaps").string() +
                 "'; flock 9; fi\n"
                 "sleep " +
                 delay.str() + "\n" + kHttpBackend + "\n");
  fs::permissions(root / "git-backend.sh", fs::perms::owner_all);
  for (int attempt = 0; attempt < 10; ++attempt) {
    int port = free_port();
    if (port > 0 && start_on(port)) return;
  }
  throw std::runtime_error("lighttpd did not start: " + testing::read_file(root / "error.log"));
}

void GitServer::add_user(std::string_view user, std::string_view password) {
  // mod_auth's plain backend reads the file at each request and takes a user's first line.
  fs::path users = dir_.path() / "users";
  std::string kept;
  std::istringstream lines(read_file(users));
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with(std::string(user) + ":")) kept += line + "\n";
  }
  write_file(users, kept + std::string(user) + ":" + std::string(password) + "\n");
}

GitServer::~GitServer() { stop(); }

bool GitServer::start_on(int port) {
  fs::path root = dir_.path();
  std::string r = root.string();
  std::ofstream(root / "error.log", std::ios::trunc).close();
  write_file(
      root / "lighttpd.conf",
      "server.document-root = \"" + r +
          "/www\"\n"
          "server.bind = \"127.0.0.1\"\n"
          "server.port = " +
          std::to_string(port) +
          "\n"
          "server.errorlog = \"" +
          r +
          "/error.log\"\n"
          "server.modules = (\"mod_alias\", \"mod_setenv\", \"mod_auth\", \"mod_authn_file\", "
          "\"mod_cgi\", \"mod_accesslog\")\n"
          "accesslog.filename = \"" +
          r +
          "/access.log\"\n"
          "accesslog.format = \"%s %m %U %u\"\n"
          "alias.url = (\"/git/\" => \"" +
          r +
          "/git-backend.sh/\")\n"
          "$HTTP[\"url\"] =~ \"^/git/\" {\n"
          "  cgi.assign = (\"\" => \"\")\n"
          "  setenv.set-environment = (\"GIT_PROJECT_ROOT\" => \"" +
          r +
          "/repos\", "
          "\"GIT_HTTP_EXPORT_ALL\" => \"1\", \"GIT_CONFIG_NOSYSTEM\" => \"1\", "
          "\"HOME\" => \"/nonexistent\")\n"
          "}\n"
          "auth.backend = \"plain\"\n"
          "auth.backend.plain.userfile = \"" +
          r +
          "/users\"\n"
          "auth.require = (\"/\" => (\"method\" => \"basic\", \"realm\" => \"git\", "
          "\"require\" => \"valid-user\"))\n");

  std::vector<std::string> args = {kLighttpd, "-D", "-f", (root / "lighttpd.conf").string()};
  std::vector<char*> arg_pointers = pointers(args);
  std::string log = (root / "lighttpd.out").string();
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    // Its own process group, so stop() also ends CGIs still running; and it dies with the test.
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execv(arg_pointers[0], arg_pointers.data());
    ::_exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (accepts_connections(port)) {
      port_ = port;
      return true;
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;  // most likely the port was taken meanwhile
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  stop();
  return false;
}

void GitServer::stop() {
  if (pid_ <= 0) return;
  ::kill(-pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  int status = 0;
  while (::waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(-pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pid_ = -1;
}

std::string GitServer::url(std::string_view repo) const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/git/" + std::string(repo) + ".git";
}

GitCredentials GitServer::credentials(std::string_view repo, std::string_view password) const {
  return GitCredentials{url(repo), std::string(kUser), Secret(std::string(password))};
}

std::string GitServer::repo_path(std::string_view repo) const {
  return (dir_.path() / "repos" / (std::string(repo) + ".git")).string();
}

std::string GitServer::git(std::string_view repo, const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {"git", "--git-dir=" + repo_path(repo)};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandResult result = run_command(argv);
  if (result.exit_code != 0) {
    throw std::runtime_error("git " + args.front() + " failed: " + result.output);
  }
  return result.output;
}

void GitServer::create_repo(std::string_view repo) {
  fs::create_directories(repo_path(repo));
  CommandResult init =
      run_command({"git", "init", "--quiet", "--bare", "--initial-branch=main", repo_path(repo)});
  if (init.exit_code != 0) throw std::runtime_error("git init failed: " + init.output);
  git(repo, {"config", "http.receivepack", "true"});
  git(repo, {"config", "uploadpack.allowReachableSHA1InWant", "true"});
}

std::string GitServer::commit(std::string_view repo, std::string_view branch,
                              const std::map<std::string, std::optional<std::string>>& files,
                              std::string_view message, std::string_view from) {
  // Plumbing straight into the bare repository (no hooks run), through a private index.
  fs::path scratch = dir_.path() / "scratch";
  fs::remove_all(scratch);
  fs::create_directories(scratch / "tree");
  std::map<std::string, std::string> env = {
      {"GIT_INDEX_FILE", (scratch / "index").string()}, {"GIT_DIR", repo_path(repo)},
      {"GIT_WORK_TREE", (scratch / "tree").string()},   {"GIT_AUTHOR_NAME", "Test Maintainer"},
      {"GIT_AUTHOR_EMAIL", "maintainer@example.com"},   {"GIT_COMMITTER_NAME", "Test Maintainer"},
      {"GIT_COMMITTER_EMAIL", "maintainer@example.com"}};
  auto run = [&](const std::vector<std::string>& argv) {
    CommandResult result = run_command(argv, (scratch / "tree").string(), env);
    if (result.exit_code != 0) {
      throw std::runtime_error(argv[1] + " failed: " + result.output);
    }
    std::string out = result.output;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  };
  std::string parent = rev_parse(repo, "refs/heads/" + std::string(branch));
  if (parent.empty() && !from.empty()) parent = rev_parse(repo, from);
  run(parent.empty() ? std::vector<std::string>{"git", "read-tree", "--empty"}
                     : std::vector<std::string>{"git", "read-tree", parent});
  for (const auto& [path, content] : files) {
    if (content) {
      write_file(scratch / "tree" / path, *content);
      run({"git", "update-index", "--add", "--", path});
    } else {
      run({"git", "update-index", "--force-remove", "--", path});
    }
  }
  std::string tree = run({"git", "write-tree"});
  std::vector<std::string> commit_tree = {"git", "commit-tree", tree, "-m", std::string(message)};
  if (!parent.empty()) {
    commit_tree.push_back("-p");
    commit_tree.push_back(parent);
  }
  std::string sha = run(commit_tree);
  run({"git", "update-ref", "refs/heads/" + std::string(branch), sha});
  return sha;
}

std::string GitServer::rev_parse(std::string_view repo, std::string_view rev) const {
  CommandResult result = run_command({"git", "--git-dir=" + repo_path(repo), "rev-parse",
                                      "--verify", "--quiet", std::string(rev) + "^{commit}"});
  if (result.exit_code != 0) return "";
  std::string out = result.output;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::vector<std::string> GitServer::refs(std::string_view repo) const {
  std::istringstream in(git(repo, {"for-each-ref", "--format=%(refname)"}));
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

void GitServer::install_hook(std::string_view repo, std::string_view name,
                             std::string_view script) {
  fs::path hook = fs::path(repo_path(repo)) / "hooks" / std::string(name);
  write_file(hook, script);
  fs::permissions(hook, fs::perms::owner_all);
}

int GitServer::failed_logins() const {
  return count_lines_containing((dir_.path() / "error.log").string(), "password doesn't match");
}

int GitServer::overlapping_requests() const {
  return count_lines_containing((dir_.path() / "overlaps").string(), "overlap");
}

std::vector<std::string> GitServer::access_log() const {
  std::ifstream in(dir_.path() / "access.log");
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

}  // namespace forgehand::testing
