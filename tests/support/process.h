#pragma once
// Runs the real forgehand binary as a child process, for tests that crash it or stop it by signal.

#include <sys/types.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace forgehand::testing {

// Processes (not zombies) on this machine whose command line contains `marker`: how a test checks
// that a killed process tree left nothing behind.
int living_processes_with(std::string_view marker);

class ChildProcess {
 public:
  // Starts FORGEHAND_BINARY with `args`; stdout and stderr go to files in `log_dir`.
  ChildProcess(std::vector<std::string> args, const std::string& log_dir);
  ~ChildProcess();  // kills the child if it still runs
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Waits until the server logs its address; returns the port, or -1 after `timeout`.
  int wait_for_port(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  void signal(int number);
  // Waits for the exit and returns the exit status, or 128+signal when a signal ended it.
  int wait();
  std::string stdout_text() const;
  std::string stderr_text() const;

 private:
  pid_t pid_ = -1;
  std::string stdout_path_;
  std::string stderr_path_;
};

}  // namespace forgehand::testing
