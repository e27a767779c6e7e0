#include "runner/sandbox.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "config/server_config.h"
#include "support/fixtures.h"
#include "support/process.h"
#include "util/unique_fd.h"

using namespace forgehand;
using namespace forgehand::runner;
namespace fs = std::filesystem;

namespace {

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

SandboxConfig test_config(SandboxKind kind = SandboxKind::bubblewrap) {
  SandboxConfig config;
  config.kind = kind;
  config.timeout = std::chrono::seconds(20);
  return config;
}

// A workdir inside a fresh temporary directory, which is private to root like a data dir.
struct Workdir {
  testing::TempDir temp;
  std::string path = temp.file("work");
  Workdir() { fs::create_directory(path); }
  // Under `sandbox: none` nothing remounts the workdir, so the sandbox uid must get through.
  void open_parent() const {
    fs::permissions(temp.path(), fs::perms::others_exec, fs::perm_options::add);
  }
};

SandboxResult run(const SandboxConfig& config, const std::string& workdir, std::string script,
                  bool network = false, std::vector<std::pair<std::string, std::string>> env = {}) {
  ProcessSandbox sandbox(config);
  auto result = sandbox.run(SandboxCommand{{"sh", "-c", std::move(script)}, workdir, network, env});
  REQUIRE_MESSAGE(result.has_value(), result.error().message);
  return *result;
}

std::uint32_t expected_uid() { return geteuid() == 0 ? 65534 : geteuid(); }

// Processes killed by SIGKILL vanish asynchronously; give them a bounded moment.
int survivors_after_grace(std::string_view marker) {
  for (int i = 0; i < 100 && testing::living_processes_with(marker) > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return testing::living_processes_with(marker);
}

class Listener {
 public:
  Listener() : fd_(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(listen(fd_.get(), 8) == 0);
    socklen_t length = sizeof address;
    getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
  }
  int port() const { return port_; }

 private:
  UniqueFd fd_;
  int port_ = 0;
};

// A directory outside /tmp (which the sandbox replaces anyway), removed afterwards.
struct HostDir {
  std::string path;
  HostDir() {
    std::string pattern = "/var/tmp/forgehand-test.XXXXXX";
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~HostDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

}  // namespace

TEST_CASE("sandbox: output, exit code and duration are reported") {
  Workdir work;
  SandboxResult result = run(test_config(), work.path, "echo out; echo err >&2; exit 3");
  CHECK(result.exit_code == 3);
  CHECK(result.signal == 0);
  CHECK_FALSE(result.timed_out);
  CHECK(result.sandboxed);
  CHECK(result.output == "out\nerr\n");
  CHECK(result.output_bytes == 8);
  CHECK(result.uid == expected_uid());
  CHECK(result.duration < std::chrono::seconds(10));
  CHECK(contains(describe(result), "exit 3 after"));
  CHECK(contains(describe(result),
                 "sandboxed (bubblewrap, uid " + std::to_string(result.uid) + ", no network)"));
}

TEST_CASE("sandbox: a command runs in the workdir, and its files reach the host") {
  Workdir work;
  SandboxResult result = run(test_config(), work.path, "pwd; echo made > made.txt");
  CHECK(result.succeeded());
  CHECK(result.output == work.path + "\n");
  CHECK(testing::read_file(work.path + "/made.txt") == "made\n");
}

TEST_CASE("sandbox: without network a host loopback port is unreachable, with it, reachable") {
  Workdir work;
  Listener listener;
  std::string script =
      "exec 3<>/dev/tcp/127.0.0.1/" + std::to_string(listener.port()) + " && echo connected";
  SandboxResult closed = run(test_config(), work.path, "bash -c '" + script + "'");
  CHECK(closed.exit_code != 0);
  CHECK_FALSE(contains(closed.output, "connected"));

  SandboxResult open = run(test_config(), work.path, "bash -c '" + script + "'", true);
  CHECK(open.exit_code == 0);
  CHECK(contains(open.output, "connected"));
  CHECK(contains(describe(open), ", network)"));
}

TEST_CASE("sandbox: the system is read-only and writes outside the workdir never reach the host") {
  Workdir work;
  HostDir host;
  chmod(host.path.c_str(), 0777);
  std::string outside = host.path + "/escaped";
  SandboxResult result =
      run(test_config(), work.path,
          "touch /etc/forgehand-escape; echo x > " + outside + "; echo x > ../escaped; echo done");
  CHECK(contains(result.output, "done"));
  CHECK_FALSE(fs::exists("/etc/forgehand-escape"));
  CHECK_FALSE(fs::exists(outside));
  CHECK_FALSE(fs::exists(work.temp.file("escaped")));
}

TEST_CASE("sandbox: /tmp is private") {
  Workdir work;
  std::string marker = "forgehand-sandbox-marker-" + std::to_string(getpid());
  std::ofstream(fs::temp_directory_path() / marker) << "host";
  SandboxResult result =
      run(test_config(), work.path, "ls -A /tmp; echo inside > /tmp/" + marker + "-inside");
  CHECK(result.succeeded());
  CHECK_FALSE(contains(result.output, marker));
  CHECK_FALSE(fs::exists(fs::temp_directory_path() / (marker + "-inside")));
  fs::remove(fs::temp_directory_path() / marker);
}

TEST_CASE("sandbox: a shared directory below /tmp is writable inside at its own path") {
  Workdir work;
  work.open_parent();  // for `none`
  // Directly in /tmp, as the runner makes them, so the sandbox uid can reach it when it is handed
  // over.
  std::string dir = "/tmp/forgehand-shared.XXXXXX";
  REQUIRE(mkdtemp(dir.data()) != nullptr);
  std::ofstream(dir + "/task.md") << "the task";
  for (SandboxKind kind : {SandboxKind::bubblewrap, SandboxKind::none}) {
    CAPTURE(static_cast<int>(kind));
    ProcessSandbox sandbox(test_config(kind));
    SandboxCommand command{{"sh", "-c", "cat " + dir + "/task.md; echo ' done' > " + dir + "/out"},
                           work.path};
    command.shared_dirs = {dir};
    auto result = sandbox.run(command);
    REQUIRE_MESSAGE(result.has_value(), result.error().message);
    CHECK(result->output == "the task");
    CHECK(testing::read_file(dir + "/out") == " done\n");
  }
  fs::remove_all(dir);

  ProcessSandbox sandbox(test_config());
  for (std::string outside : {std::string("/tmp"), std::string("/var/tmp"), work.path + "/nope"}) {
    SandboxCommand command{{"true"}, work.path};
    command.shared_dirs = {outside};
    auto refused = sandbox.run(command);
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error().code == ErrorCode::invalid_argument);
    CHECK(contains(refused.error().message, "below /tmp"));
  }
}

TEST_CASE("sandbox: the environment is cleared, passed variables arrive but stay off argv") {
  Workdir work;
  setenv("FORGEHAND_PLANTED_SECRET", "planted-secret-value-1234", 1);
  SandboxResult result =
      run(test_config(), work.path, "env; tr '\\0' ' ' < /proc/1/cmdline", false,
          {{"OPENAI_BASE_URL", "http://127.0.0.1:9/v1"}, {"OPENAI_API_KEY", "proxy-token-5678"}});
  unsetenv("FORGEHAND_PLANTED_SECRET");
  CHECK(result.succeeded());
  CHECK_FALSE(contains(result.output, "planted-secret-value-1234"));
  CHECK_FALSE(contains(result.output, "FORGEHAND_PLANTED_SECRET"));
  CHECK(
      contains(result.output, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
  CHECK(contains(result.output, "HOME=/tmp"));
  CHECK(contains(result.output, "LANG=C.UTF-8"));
  CHECK(contains(result.output, "OPENAI_BASE_URL=http://127.0.0.1:9/v1"));
  // Once in the environment listing, never in bubblewrap's command line.
  auto first = result.output.find("proxy-token-5678");
  REQUIRE(first != std::string::npos);
  CHECK(result.output.find("proxy-token-5678", first + 1) == std::string::npos);
  CHECK(contains(result.output, "--unshare-all"));
}

TEST_CASE("sandbox: commands run as their own uid, without capabilities, away from root's files") {
  Workdir work;
  SandboxResult result =
      run(test_config(), work.path,
          "id -u; grep -E '^Cap(Eff|Prm|Bnd):' /proc/self/status; ls /root >/dev/null 2>&1 || "
          "echo no-root-access");
  CHECK(contains(result.output, std::to_string(expected_uid()) + "\n"));
  CHECK(contains(result.output, "CapEff:\t0000000000000000"));
  CHECK(contains(result.output, "CapPrm:\t0000000000000000"));
  CHECK(contains(result.output, "CapBnd:\t0000000000000000"));
  if (geteuid() == 0) CHECK(contains(result.output, "no-root-access"));
}

TEST_CASE("sandbox: hidden paths and /run look empty inside") {
  Workdir work;
  HostDir hidden;
  std::ofstream(hidden.path + "/secret.txt") << "do not read";
  chmod(hidden.path.c_str(), 0755);
  SandboxConfig config = test_config();
  config.hide_paths = {hidden.path};
  SandboxResult result = run(config, work.path,
                             "ls -A " + hidden.path + "; ls -A /run; cat " + hidden.path +
                                 "/secret.txt 2>/dev/null; echo end");
  CHECK(result.output == "end\n");
}

TEST_CASE("sandbox: the workdir is handed over, but hard-linked files stay out of reach") {
  if (geteuid() != 0) return;  // handing over needs root
  Workdir work;
  std::string shared = work.temp.file("shared-object");
  std::ofstream(shared) << "mirror object\n";
  chmod(shared.c_str(), 0444);
  fs::create_hard_link(shared, work.path + "/object");
  std::ofstream(work.path + "/root-file") << "root\n";
  SandboxResult result = run(test_config(), work.path,
                             "echo more >> root-file && echo appended; chmod 644 object || echo "
                             "locked; echo changed >> object || echo refused");
  CHECK(contains(result.output, "appended"));
  CHECK(contains(result.output, "locked"));
  CHECK(contains(result.output, "refused"));
  CHECK(testing::read_file(shared) == "mirror object\n");
  struct stat st {};
  REQUIRE(stat((work.path + "/root-file").c_str(), &st) == 0);
  CHECK(st.st_uid == 65534);
}

TEST_CASE("sandbox: the file size limit bites") {
  Workdir work;
  SandboxConfig config = test_config();
  config.file_size_bytes = 1 << 20;
  SandboxResult result = run(config, work.path, "head -c 2097152 /dev/zero > big; echo rc=$?");
  CHECK(contains(result.output, "rc=153"));  // 128 + SIGXFSZ
  CHECK(fs::file_size(work.path + "/big") <= (1u << 20));
}

TEST_CASE("sandbox: the address space limit bites") {
  Workdir work;
  SandboxConfig config = test_config();
  config.address_space_bytes = 128LL << 20;
  SandboxResult result = run(config, work.path, "dd if=/dev/zero of=/dev/null bs=512M count=1");
  CHECK(result.exit_code != 0);
  CHECK(contains(result.output, "memory exhausted"));
}

TEST_CASE("sandbox: the process limit stops a fork bomb") {
  if (geteuid() != 0) return;  // the limit counts every process of the uid; ours has more
  Workdir work;
  SandboxConfig config = test_config();
  config.processes = 16;
  // A uid of its own: the limit counts every process of the uid, other tests' sandboxes too.
  config.uid = config.gid = 64123;
  config.timeout = std::chrono::seconds(10);
  SandboxResult result =
      run(config, work.path, "i=0; while [ $i -lt 64 ]; do sleep 30 & i=$((i+1)); done; wait");
  CHECK_FALSE(result.timed_out);
  CHECK(contains(result.output, "Cannot fork"));
  CHECK(result.duration < std::chrono::seconds(10));
}

TEST_CASE("sandbox: the CPU limit bites") {
  Workdir work;
  SandboxConfig config = test_config();
  config.cpu_seconds = 1;
  SandboxResult result = run(config, work.path, "while :; do :; done");
  CHECK_FALSE(result.timed_out);
  CHECK((result.signal == SIGXCPU || result.signal == SIGKILL));
}

TEST_CASE("sandbox: a timeout kills the whole tree, background and re-sessioned children too") {
  Workdir work;
  SandboxConfig config = test_config();
  config.timeout = std::chrono::seconds(1);
  SandboxResult result =
      run(config, work.path, "sleep 4242.1 & setsid sleep 4242.2 & echo started; sleep 4242.3");
  CHECK(result.timed_out);
  CHECK(result.signal == SIGKILL);
  CHECK(result.output == "started\n");
  CHECK(result.duration < std::chrono::seconds(5));
  CHECK(contains(describe(result), "timed out after"));
  // The pid namespace is empty by the time run() returns.
  CHECK(testing::living_processes_with("4242.") == 0);
}

TEST_CASE("sandbox: cancelling kills the whole tree at once") {
  Workdir work;
  ProcessSandbox sandbox(test_config());
  std::atomic<bool> cancel{false};
  std::thread canceller([&cancel] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    cancel = true;
  });
  auto result =
      sandbox.run(SandboxCommand{{"sh", "-c", "sleep 4545.1 & echo started; sleep 4545.2"},
                                 work.path,
                                 false,
                                 {},
                                 std::chrono::seconds(30),
                                 0,
                                 {},
                                 {},
                                 &cancel});
  canceller.join();
  REQUIRE(result.has_value());
  CHECK(result->cancelled);
  CHECK_FALSE(result->timed_out);
  CHECK_FALSE(result->succeeded());
  CHECK(result->duration < std::chrono::seconds(5));
  CHECK(contains(describe(*result), "cancelled after"));
  CHECK(testing::living_processes_with("4545.") == 0);
}

TEST_CASE("sandbox: a background process does not outlive its command") {
  Workdir work;
  SandboxResult result = run(test_config(), work.path, "sleep 4343.1 & echo started");
  CHECK(result.succeeded());
  CHECK(result.duration < std::chrono::seconds(5));
  CHECK(testing::living_processes_with("4343.") == 0);
}

TEST_CASE("sandbox: output past the limit keeps head and tail around a marker") {
  Workdir work;
  SandboxConfig config = test_config();
  config.output_limit_bytes = 4096;
  SandboxResult result = run(config, work.path, "seq 1 100000");
  CHECK(result.succeeded());
  CHECK(result.truncated);
  CHECK(result.output_bytes == 588895);
  CHECK(result.output.starts_with("1\n2\n3\n"));
  CHECK(result.output.ends_with("99999\n100000\n"));
  CHECK(contains(result.output, "bytes of output omitted]"));
  CHECK(result.output.size() < 4200);
  CHECK(contains(describe(result), "output truncated (588895 bytes)"));
}

TEST_CASE("sandbox: a command may bring its own output limit and a shorter timeout") {
  Workdir work;
  ProcessSandbox sandbox(test_config());
  auto result = sandbox.run(SandboxCommand{
      {"sh", "-c", "seq 1 1000; sleep 30"}, work.path, false, {}, std::chrono::seconds(1), 100});
  REQUIRE(result.has_value());
  CHECK(result->timed_out);
  CHECK(result->output.size() < 200);
}

TEST_CASE("sandbox: death by signal is reported as such") {
  Workdir work;
  SandboxResult result = run(test_config(), work.path, "kill -SEGV $$");
  CHECK(result.signal == SIGSEGV);
  CHECK(result.exit_code == 128 + SIGSEGV);
  CHECK(contains(describe(result), "killed by SIGSEGV"));
}

TEST_CASE("sandbox: `none` runs with the same bounds but says it is not sandboxed") {
  Workdir work;
  work.open_parent();
  SandboxConfig config = test_config(SandboxKind::none);
  config.bwrap_path = "/nonexistent/bwrap";
  setenv("FORGEHAND_PLANTED_SECRET", "planted-secret-value-1234", 1);
  SandboxResult result = run(config, work.path, "id -u; env; echo made > made.txt");
  unsetenv("FORGEHAND_PLANTED_SECRET");
  CHECK(result.succeeded());
  CHECK_FALSE(result.sandboxed);
  CHECK(contains(result.output, std::to_string(expected_uid()) + "\n"));
  CHECK_FALSE(contains(result.output, "planted-secret-value-1234"));
  CHECK(testing::read_file(work.path + "/made.txt") == "made\n");
  CHECK(contains(describe(result), "NOT sandboxed (sandbox: none"));

  SandboxResult killed = run(config, work.path, "kill -TERM $$");
  CHECK(killed.signal == SIGTERM);
  CHECK(killed.exit_code == 128 + SIGTERM);
}

TEST_CASE("sandbox: `none` still kills the process group on timeout and after exit") {
  Workdir work;
  work.open_parent();
  SandboxConfig config = test_config(SandboxKind::none);
  config.timeout = std::chrono::seconds(1);
  SandboxResult timed_out = run(config, work.path, "sleep 4444.1 & sleep 4444.2");
  CHECK(timed_out.timed_out);
  CHECK(survivors_after_grace("4444.") == 0);

  SandboxResult finished = run(config, work.path, "sleep 4545.1 & echo started");
  CHECK(finished.succeeded());
  CHECK(finished.duration < std::chrono::seconds(1));
  CHECK(survivors_after_grace("4545.") == 0);
}

TEST_CASE("sandbox: under `none` the sandbox uid must be able to reach the workdir") {
  if (geteuid() != 0) return;  // without root, commands run as forgehand's own uid
  Workdir work;
  ProcessSandbox sandbox(test_config(SandboxKind::none));
  auto result = sandbox.run(SandboxCommand{{"true"}, work.path});
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().code == ErrorCode::config);
  CHECK(contains(result.error().message, work.temp.path().string() + " is closed to it"));
}

TEST_CASE("sandbox: without bubblewrap commands are refused with a clear error") {
  Workdir work;
  SandboxConfig config = test_config();
  config.bwrap_path = "/nonexistent/bwrap";
  ProcessSandbox sandbox(config);
  auto result = sandbox.run(SandboxCommand{{"true"}, work.path});
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().code == ErrorCode::config);
  CHECK(contains(result.error().message, "/nonexistent/bwrap) is not installed"));
  CHECK(contains(result.error().message, "sandbox: none"));
}

TEST_CASE("sandbox: a command that cannot be started is an error, not a result") {
  Workdir work;
  work.open_parent();
  for (SandboxKind kind : {SandboxKind::bubblewrap, SandboxKind::none}) {
    ProcessSandbox sandbox(test_config(kind));
    auto result = sandbox.run(SandboxCommand{{"forgehand-no-such-command"}, work.path});
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().code == ErrorCode::config);
    CHECK(contains(result.error().message, "forgehand-no-such-command"));
  }
  ProcessSandbox sandbox(test_config());
  CHECK(sandbox.run(SandboxCommand{{}, work.path}).error().code == ErrorCode::invalid_argument);
  CHECK(sandbox.run(SandboxCommand{{"true"}, "relative"}).error().code ==
        ErrorCode::invalid_argument);
  CHECK(sandbox.run(SandboxCommand{{"true"}, work.temp.file("missing")}).error().code ==
        ErrorCode::invalid_argument);
}

TEST_CASE("sandbox: config keys are read, defaulted and checked with their position") {
  auto example =
      load_server_config(std::string(FORGEHAND_SOURCE_DIR) + "/config/forgehand.example.yaml");
  REQUIRE_MESSAGE(example.has_value(), example.error().message);
  CHECK(example->sandbox.kind == SandboxKind::bubblewrap);
  CHECK(example->sandbox.timeout == std::chrono::seconds(600));
  CHECK(example->sandbox.output_limit_bytes == 65536);
  CHECK(example->sandbox.processes == 256);
  CHECK(example->sandbox.hide_paths ==
        std::vector<std::string>{"/etc/forgehand", "/var/lib/forgehand"});

  std::string instance = "instances: [{name: gh, type: github, webhook_secret: env:X}]\n";
  auto shorthand = parse_server_config(instance + "sandbox: none\n", "t.yaml", "/srv/fh");
  REQUIRE(shorthand.has_value());
  CHECK(shorthand->sandbox.kind == SandboxKind::none);
  CHECK(shorthand->sandbox.hide_paths == std::vector<std::string>{"/srv/fh/data"});

  auto custom = parse_server_config(instance +
                                        "sandbox:\n"
                                        "  uid: 64000\n"
                                        "  gid: 64001\n"
                                        "  bwrap_path: bin/bwrap\n"
                                        "  hide_paths: [secrets]\n"
                                        "  address_space_bytes: 1073741824\n",
                                    "t.yaml", "/srv/fh");
  REQUIRE_MESSAGE(custom.has_value(), custom.error().message);
  CHECK(custom->sandbox.uid == 64000);
  CHECK(custom->sandbox.gid == 64001);
  CHECK(custom->sandbox.bwrap_path == "/srv/fh/bin/bwrap");
  CHECK(custom->sandbox.address_space_bytes == 1LL << 30);
  CHECK(custom->sandbox.hide_paths == std::vector<std::string>{"/srv/fh/secrets", "/srv/fh/data"});

  auto bad = parse_server_config(instance +
                                     "sandbox:\n"
                                     "  kind: docker\n"
                                     "  uid: 0\n"
                                     "  timeout_seconds: 0\n"
                                     "  procesess: 10\n"
                                     "  hide_paths: [/]\n",
                                 "t.yaml", "/srv/fh");
  REQUIRE_FALSE(bad.has_value());
  const std::string& errors = bad.error().message;
  CHECK(contains(errors, "t.yaml:3:9: sandbox.kind: must be bubblewrap or none"));
  CHECK(contains(errors, "t.yaml:4:8: sandbox.uid: must not be 0"));
  CHECK(contains(errors, "t.yaml:5:20: sandbox.timeout_seconds: must be between 1 and 86400"));
  CHECK(contains(errors, "t.yaml:6:3: sandbox.procesess: unknown key (did you mean processes?)"));
  CHECK(contains(errors, "t.yaml:7:16: sandbox.hide_paths[0]: must not be /"));
  CHECK(contains(
      parse_server_config(instance + "sandbox: chroot\n", "t.yaml", "/srv/fh").error().message,
      "t.yaml:2:10: sandbox: must be bubblewrap or none"));
}

TEST_CASE("sandbox: an orphaned bubblewrap working in a job directory is killed, no other") {
  testing::TempDir temp;
  std::string jobs = temp.file("jobs");
  fs::create_directories(fs::path(jobs) / "fh-1-task");
  fs::create_directories(temp.file("elsewhere"));
  // As a crash in bubblewrap's window leaves them: running, their parent gone.
  auto orphan = [](const std::string& dir, std::string_view seconds) {
    std::string command =
        "setsid sh -c '/usr/bin/bwrap --ro-bind / / --dev /dev --proc /proc "
        "--unshare-pid --chdir " +
        dir + " -- sleep " + std::string(seconds) + " >/dev/null 2>&1 &'";
    REQUIRE(std::system(command.c_str()) == 0);
  };
  // The sleep itself (pgrep matches the arguments joined by spaces; sh's script holds them too).
  auto running = [](std::string_view seconds) {
    std::string pattern = "^sleep " + std::string(seconds);
    return std::system(("pgrep -f '" + pattern + "' >/dev/null").c_str()) == 0;
  };
  auto gone = [&](std::string_view seconds) {
    for (int i = 0; i < 100 && running(seconds); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return !running(seconds);
  };
  orphan(jobs + "/fh-1-task", "65.25");
  orphan(temp.file("elsewhere"), "65.5");
  for (int i = 0; i < 250 && !(running("65.25") && running("65.5")); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  REQUIRE(running("65.25"));
  REQUIRE(running("65.5"));

  CHECK(kill_orphaned_sandboxes(jobs) >= 1);
  CHECK(gone("65.25"));
  CHECK(running("65.5"));
  CHECK(kill_orphaned_sandboxes(temp.path().string()) >= 1);
  CHECK(gone("65.5"));
}
