#pragma once
// `forgehand sessions`, `sessions show`, `usage` and `scoreboard`: open the configured store
// read-only (beside a running server is fine) and print a report to stdout. Each returns the exit
// status: 0, 1 when the session asked for does not exist, 2 for a configuration or store error
// (said on stderr).

#include <string>

namespace forgehand::audit {

struct AuditOptions {
  std::string config_path;  // empty: the embedded defaults over `data_dir`
  std::string data_dir = "data";
  bool json = false;
};

int list_sessions(const AuditOptions& options, const std::string& repo, const std::string& state);
int show_session(const AuditOptions& options, const std::string& id);
int usage(const AuditOptions& options, const std::string& by);
int scoreboard(const AuditOptions& options);

}  // namespace forgehand::audit
