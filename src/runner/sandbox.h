#pragma once
// Runs one command the way the runner runs every command it did not write itself: under
// bubblewrap (read-only system, the workdir writable, private /tmp, no network unless asked, a
// cleared environment, no capabilities, its own uid), with rlimits, a wall-clock timeout that
// kills the whole process tree, and capped output. Thread-safe: run() keeps no state between
// calls, so one sandbox serves concurrent jobs.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "config/server_config.h"
#include "forgehand/error.h"

namespace forgehand::runner {

struct SandboxCommand {
  std::vector<std::string> argv;  // argv[0] is looked up on the sandbox's PATH
  // An existing absolute directory, writable inside at the same path. When forgehand runs as
  // root it is handed to the sandbox uid first (see ProcessSandbox).
  std::string workdir;
  bool network = false;  // share the host's network; otherwise only a private loopback exists
  // Added to the minimal PATH, HOME (/tmp) and LANG, e.g. a model proxy's URL and token. They
  // reach the command through its environment, never through a command line others can read.
  std::vector<std::pair<std::string, std::string>> env;
  std::chrono::milliseconds timeout{0};  // 0 or more than configured: the configured timeout
  // 0: the configured limit. The tool layer asks for more when it parses a whole listing itself.
  std::size_t output_limit = 0;
  // Existing directories below /tmp that the command also sees, writable and at the same path
  // (the model bridge's socket, an agent CLI's task file). Under bubblewrap they are mounted into
  // the private /tmp; under `sandbox: none` they are simply there. Like the workdir, they are
  // handed to the sandbox uid first when forgehand runs as root.
  std::vector<std::string> shared_dirs;
  // Files that must be visible, read-only, at their own path even where the sandbox replaces a
  // parent (the forgehand binary that runs the model bridge, built below /tmp in a CI checkout).
  std::vector<std::string> read_only_files;
  // When set, the command's whole tree is killed as on a timeout once it turns true (a `cancel`
  // or a newer command on the same thread); checked at least every 200 ms.
  const std::atomic<bool>* cancel = nullptr;
};

struct SandboxResult {
  // The shell's convention: 128+N when signal N ended the command. Under bubblewrap a command
  // that itself exits with 128+N cannot be told apart from one killed by signal N.
  int exit_code = -1;
  int signal = 0;  // the signal that ended it, 0 when it exited
  bool timed_out = false;
  bool cancelled = false;  // stopped through SandboxCommand::cancel
  bool sandboxed = true;   // false under `sandbox: none`: nothing was isolated
  bool network = false;
  std::uint32_t uid = 0;  // the uid the command ran as
  // stdout and stderr interleaved as written. Past the limit the head and tail are kept around a
  // line saying how many bytes were left out.
  std::string output;
  std::size_t output_bytes = 0;  // everything the command wrote
  bool truncated = false;
  std::chrono::milliseconds duration{0};

  bool succeeded() const { return exit_code == 0 && !timed_out && !cancelled; }
};

// "exit 0 after 1.20 s; sandboxed (bubblewrap, uid 65534, no network)": the result line shown to
// operators and models.
std::string describe(const SandboxResult& result);

class Sandbox {
 public:
  virtual ~Sandbox() = default;

  // Runs `command` to completion or timeout. A command that fails, crashes or times out is a
  // result, not an error. Errors: `config` when bubblewrap is not installed (and the config does
  // not say `sandbox: none`) or cannot set the sandbox up (its message is included), when argv[0]
  // is not found, or when under `sandbox: none` the sandbox uid cannot reach the workdir;
  // `invalid_argument` for an empty argv, a workdir that is not an absolute directory or a shared
  // directory that is not an existing directory below /tmp; `io`
  // when the process cannot be started.
  virtual Result<SandboxResult> run(const SandboxCommand& command) const = 0;

  virtual const SandboxConfig& config() const = 0;
};

// The real sandbox. When forgehand runs as root, commands run as the configured uid and gid:
// only then does the kernel enforce the process limit, and a command cannot read root's files.
// The workdir is handed to that uid before each command (files hard-linked elsewhere, such as
// objects shared with a git mirror, stay root's and read-only). The configured hide_paths look
// empty inside (a workdir within one is still mounted there); without network, so does /run,
// which puts host services' Unix sockets there out of reach.
class ProcessSandbox final : public Sandbox {
 public:
  explicit ProcessSandbox(SandboxConfig config) : config_(std::move(config)) {}

  Result<SandboxResult> run(const SandboxCommand& command) const override;
  const SandboxConfig& config() const override { return config_; }

 private:
  SandboxConfig config_;
};

// bubblewrap's --die-with-parent leaves a window: its sandbox process sets the parent-death signal
// only after it was cloned, so a forgehand killed at that moment leaves the sandbox running with
// nobody to time it out. Kills every bubblewrap process working in a directory under `jobs_root`
// whose parent is neither a forgehand process nor bubblewrap (orphaned), which takes its whole
// PID namespace with it. `serve` calls it at start, before any session runs. Returns how many.
std::size_t kill_orphaned_sandboxes(const std::string& jobs_root);

}  // namespace forgehand::runner
