#include "audit/audit_commands.h"

#include <cstdio>
#include <filesystem>

#include "audit/reports.h"
#include "config/server_config.h"
#include "store/sqlite_store.h"

namespace forgehand::audit {

namespace {

struct Opened {
  ServerConfig config;
  std::unique_ptr<SqliteStore> store;
};

Result<Opened> open_store(const AuditOptions& options) {
  auto config = options.config_path.empty() ? embedded_default_config(options.data_dir)
                                            : load_server_config(options.config_path);
  if (!config) return tl::unexpected(config.error());
  // Opening read-only never creates a file; say plainly why there is nothing to read.
  if (!std::filesystem::exists(config->store.path)) {
    return fail(ErrorCode::not_found, "no store at " + config->store.path + " (config: " +
                                          config->source + "); has forgehand serve run with it?");
  }
  auto store = SqliteStore::open(SqliteStoreOptions{.path = config->store.path, .read_only = true});
  if (!store) return tl::unexpected(store.error());
  return Opened{std::move(*config), std::move(*store)};
}

int print(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  return std::fflush(stdout) == 0 ? 0 : 2;
}

int print(const nlohmann::json& value) {
  return print(value.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

int report_error(const Error& error) {
  std::fprintf(stderr, "%s\n", error.message.c_str());
  return 2;
}

}  // namespace

int list_sessions(const AuditOptions& options, const std::string& repo, const std::string& state) {
  SessionFilter filter;
  filter.repo = repo;
  if (!state.empty()) {
    filter.state = session_state_named(state);
    if (!filter.state) {
      std::string names;
      for (std::string_view name : kSessionStateNames) names += " " + std::string(name);
      std::fprintf(stderr, "--state %s: unknown; one of:%s\n", state.c_str(), names.c_str());
      return 2;
    }
  }
  auto opened = open_store(options);
  if (!opened) return report_error(opened.error());
  auto sessions = opened->store->list_sessions(filter);
  if (!sessions) return report_error(sessions.error());
  if (options.json) return print(sessions_json(*sessions));
  return print(sessions_table(*sessions, opened->config.currency));
}

int show_session(const AuditOptions& options, const std::string& id) {
  auto opened = open_store(options);
  if (!opened) return report_error(opened.error());
  auto session = opened->store->find_session(id);
  if (!session) return report_error(session.error());
  if (!*session) {
    std::fprintf(stderr, "no session %s in %s\n", id.c_str(), opened->config.store.path.c_str());
    return 1;
  }
  auto transcript = opened->store->find_transcript(id);
  if (!transcript) return report_error(transcript.error());
  if (options.json) return print(session_details_json(**session, *transcript));
  return print(session_details(**session, *transcript, opened->config.currency));
}

int usage(const AuditOptions& options, const std::string& by) {
  auto key = usage_key_named(by);
  if (!key) {
    std::fprintf(stderr, "--by %s: unknown; one of: repo model month\n", by.c_str());
    return 2;
  }
  auto opened = open_store(options);
  if (!opened) return report_error(opened.error());
  auto sessions = opened->store->list_sessions({});
  if (!sessions) return report_error(sessions.error());
  auto rows = usage_by(*sessions, *key);
  if (options.json) return print(usage_json(rows, *key));
  return print(usage_table(rows, *key, opened->config.currency));
}

int scoreboard(const AuditOptions& options) {
  auto opened = open_store(options);
  if (!opened) return report_error(opened.error());
  auto sessions = opened->store->list_sessions({});
  if (!sessions) return report_error(sessions.error());
  auto rows = audit::scoreboard(*sessions);
  if (options.json) return print(scoreboard_json(rows));
  return print(scoreboard_table(rows, opened->config.currency));
}

}  // namespace forgehand::audit
