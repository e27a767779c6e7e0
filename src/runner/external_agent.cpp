#include "runner/external_agent.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>

#include "runner/model_bridge.h"
#include "util/redact.h"
#include "util/text.h"

namespace forgehand::runner {

namespace {

namespace fs = std::filesystem;

// The longest single argument Linux passes to a program (MAX_ARG_STRLEN).
constexpr std::size_t kMaxArgumentBytes = 32 * 4096 - 1;
constexpr std::chrono::seconds kFileCommandTimeout{30};

// A private directory below /tmp for one run, shared with the sandbox (see
// SandboxCommand::shared_dirs), removed with everything in it.
class SessionDir {
 public:
  SessionDir() = default;
  ~SessionDir() {
    std::error_code ignored;
    if (!path_.empty()) fs::remove_all(path_, ignored);
  }
  SessionDir(const SessionDir&) = delete;
  SessionDir& operator=(const SessionDir&) = delete;

  Result<void> create() {
    // Not $TMPDIR: only /tmp is private inside the sandbox, so only there can it be mounted.
    std::string pattern = "/tmp/forgehand-session.XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
      return fail(ErrorCode::io, "mkdtemp in /tmp: " + std::string(std::strerror(errno)));
    }
    path_ = pattern;
    return {};
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

Result<void> write_private_file(const std::string& path, std::string_view content) {
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) return fail(ErrorCode::io, "create " + path + ": " + std::strerror(errno));
  while (!content.empty()) {
    ssize_t n = write(fd.get(), content.data(), content.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(ErrorCode::io, "write " + path + ": " + std::strerror(errno));
    content.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

struct Address {
  std::string host;
  int port = 0;
  std::string path;  // "/v1"
};

// "http://127.0.0.1:PORT/v1" or "http://[::1]:PORT/v1", as ModelProxy::base_url() gives it.
std::optional<Address> parse_base_url(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (!url.starts_with(kScheme)) return std::nullopt;
  url.remove_prefix(kScheme.size());
  std::size_t slash = url.find('/');
  std::string_view authority = url.substr(0, slash);
  Address address;
  address.path = slash == std::string_view::npos ? "" : std::string(url.substr(slash));
  std::size_t colon = authority.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view host = authority.substr(0, colon);
  if (host.starts_with('[') && host.ends_with(']')) host = host.substr(1, host.size() - 2);
  address.host = std::string(host);
  try {
    address.port = std::stoi(std::string(authority.substr(colon + 1)));
  } catch (const std::exception&) {
    return std::nullopt;
  }
  return address;
}

std::string expand(std::string_view text, const std::map<std::string, std::string>& values) {
  std::string out;
  while (!text.empty()) {
    std::size_t open = text.find('{');
    out += text.substr(0, open);
    if (open == std::string_view::npos) break;
    text.remove_prefix(open);
    std::size_t close = text.find('}');
    auto it = close == std::string_view::npos ? values.end()
                                              : values.find(std::string(text.substr(0, close + 1)));
    if (it == values.end()) {
      out += '{';
      text.remove_prefix(1);
    } else {
      out += it->second;
      text.remove_prefix(close + 1);
    }
  }
  return out;
}

std::string own_executable() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : self.string();
}

std::string task_file_text(const AgentTask& task, const Guidance& guidance) {
  std::string text = task_message(task);
  std::string repository_guidance = guidance_text(guidance, task.base_branch);
  if (!repository_guidance.empty()) text += "\n" + repository_guidance;
  text += "\nWork in the current directory, a checkout of " + task.repository +
          ". Do not commit, push or create branches: forgehand does that afterwards, and refuses "
          "changes to CI workflows, .forgehand.yml, .forgehand/, AGENTS.md and CLAUDE.md. End with "
          "a short summary of what was wrong, what you changed and how you checked it; it becomes "
          "the pull request's description.\n";
  return text;
}

}  // namespace

std::string last_paragraph(std::string_view output, std::size_t limit) {
  std::string_view rest = text::trim(output);
  // Walk back over lines until one holds nothing but whitespace.
  std::size_t start = 0;
  for (std::size_t end = rest.size(); end > 0;) {
    std::size_t newline = rest.rfind('\n', end - 1);
    std::size_t line_start = newline == std::string_view::npos ? 0 : newline + 1;
    if (text::trim(rest.substr(line_start, end - line_start)).empty()) {
      start = line_start;
      break;
    }
    if (newline == std::string_view::npos) break;
    end = newline;
  }
  std::string_view paragraph = text::trim(rest.substr(start));
  if (paragraph.size() > limit) {
    paragraph.remove_prefix(paragraph.size() - limit);
    std::size_t newline = paragraph.find('\n');
    if (newline != std::string_view::npos && newline + 1 < paragraph.size()) {
      paragraph.remove_prefix(newline + 1);
    }
    while (!paragraph.empty() && (static_cast<unsigned char>(paragraph[0]) & 0xC0) == 0x80) {
      paragraph.remove_prefix(1);
    }
  }
  return std::string(paragraph);
}

ExternalAgent::ExternalAgent(RunnerConfig config, const Sandbox& sandbox, proxy::ModelProxy& proxy,
                             const providers::Router& router, const Clock& clock,
                             ExternalAgentOptions options)
    : config_(std::move(config)),
      sandbox_(sandbox),
      proxy_(proxy),
      router_(router),
      clock_(clock),
      options_(std::move(options)) {
  if (options_.bridge_executable.empty()) options_.bridge_executable = own_executable();
}

Result<AgentResult> ExternalAgent::run(const AgentRun& run, const std::string& session_id,
                                       std::shared_ptr<providers::SessionLedger> ledger) const {
  std::error_code ec;
  if (!fs::path(run.checkout).is_absolute() || !fs::is_directory(run.checkout, ec)) {
    return fail(ErrorCode::invalid_argument,
                "agent CLI: the checkout must be an existing absolute directory: " + run.checkout);
  }
  TimePoint started = clock_.now();
  AgentResult result;
  result.sandboxed = sandbox_.config().kind == SandboxKind::bubblewrap;
  Guidance guidance = load_guidance(run.instructions, options_.guidance);
  result.instructions = guidance.loaded;
  std::string task_text = task_file_text(run.task, guidance);
  result.transcript.push_back({clock_.now(), TranscriptKind::user, redact(task_text)});
  auto finish = [&] {
    result.calls = ledger->calls();
    result.usage = ledger->usage();
    result.cost = ledger->cost();
    for (const providers::ProviderCall& call : result.calls) {
      if (call.http_status == 200) ++result.turns;
    }
    if (auto changed = checkout_changed(sandbox_, run.checkout)) {
      result.changed = *changed;
    } else {
      result.transcript.push_back(
          {clock_.now(), TranscriptKind::note,
           redact("could not tell whether files changed: " + changed.error().message)});
    }
    result.wall_seconds = std::chrono::duration<double>(clock_.now() - started).count();
    return result;
  };
  auto stop = [&](AgentOutcome outcome, AgentStop why, std::string reason) {
    result.outcome = outcome;
    result.stop = why;
    result.reason = redact(reason);
    result.transcript.push_back({clock_.now(), TranscriptKind::note, result.reason});
  };

  const std::optional<TimePoint>& deadline = ledger->budget().deadline;
  auto timeout = std::chrono::milliseconds(0);
  if (deadline) {
    timeout = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - clock_.now());
    if (timeout.count() <= 0) {
      stop(AgentOutcome::stopped, AgentStop::wall_time,
           "the session's time ran out before the agent CLI started");
      return finish();
    }
  }

  SessionDir dir;
  if (auto created = dir.create(); !created) {
    return tl::unexpected(created.error().context("agent CLI"));
  }
  std::string task_file = dir.path() + "/task.md";
  if (auto written = write_private_file(task_file, task_text); !written) {
    return tl::unexpected(written.error().context("agent CLI"));
  }

  proxy::ProxyGrant grant = proxy_.grant(session_id, router_, ledger);
  auto proxy_address = parse_base_url(grant.base_url());
  if (!proxy_address) {
    return fail(ErrorCode::internal, "agent CLI: unexpected proxy URL " + grant.base_url());
  }
  // A sandbox sharing the host's network reaches the proxy as it is; one with a namespace of its
  // own (the default) needs the bridge. Either way the token is what the proxy checks.
  bool own_network = sandbox_.config().kind == SandboxKind::bubblewrap && !options_.network;
  std::unique_ptr<ModelBridge> bridge;
  std::string base_url = grant.base_url();
  std::string socket_path = dir.path() + "/model.sock";
  if (own_network) {
    auto started_bridge = ModelBridge::start(socket_path, proxy_address->host, proxy_address->port);
    if (!started_bridge) return tl::unexpected(started_bridge.error().context("agent CLI"));
    bridge = std::move(*started_bridge);
    base_url = "http://127.0.0.1:" + std::to_string(kBridgePort) + proxy_address->path;
  }

  std::string summary_path =
      config_.summary_file.empty() ? "" : (fs::path(run.checkout) / config_.summary_file).string();
  std::map<std::string, std::string> values = {
      {"{task_file}", task_file}, {"{model}", router_.route()}, {"{summary_file}", summary_path},
      {"{base_url}", base_url},   {"{api_key}", grant.token()},
  };
  std::vector<std::string> argv;
  CommandRecord record;
  for (const std::string& arg : config_.argv) {
    if (arg == "{task}") {
      if (task_text.size() > kMaxArgumentBytes) {
        return fail(ErrorCode::invalid_argument,
                    "agent CLI: the task is " + std::to_string(task_text.size()) +
                        " bytes, more than one argument can hold; use {task_file}");
      }
      argv.push_back(task_text);
      record.argv.push_back(arg);  // the transcript has the task already
    } else {
      argv.push_back(expand(arg, values));
      record.argv.push_back(redact(argv.back()));
    }
  }
  if (own_network) {
    argv.insert(argv.begin(), {options_.bridge_executable, "model-bridge", "--socket", socket_path,
                               "--listen", "127.0.0.1:" + std::to_string(kBridgePort), "--"});
  }

  std::vector<std::pair<std::string, std::string>> env = {
      {"OPENAI_BASE_URL", base_url},      {"OPENAI_API_BASE", base_url},
      {"OPENAI_API_KEY", grant.token()},  {"OPENAI_MODEL", router_.route()},
      {"FORGEHAND_TASK_FILE", task_file},
  };
  if (!summary_path.empty()) env.emplace_back("FORGEHAND_SUMMARY_FILE", summary_path);
  for (const auto& [name, value] : config_.env) env.emplace_back(name, expand(value, values));

  std::vector<std::string> read_only_files;
  if (bridge) read_only_files.push_back(options_.bridge_executable);
  auto ran = sandbox_.run(SandboxCommand{std::move(argv),
                                         run.checkout,
                                         options_.network,
                                         std::move(env),
                                         timeout,
                                         options_.output_bytes,
                                         {dir.path()},
                                         std::move(read_only_files),
                                         options_.cancel});
  // Revoked at once (under `sandbox: none` a process the CLI left behind could still use it),
  // but still redacted from what the CLI said and wrote.
  Redactor session_token;
  session_token.add(grant.token());
  bridge.reset();
  grant.revoke();
  auto scrub = [&session_token](std::string_view text) {
    return session_token.redact(redact(text));
  };
  if (!ran) return tl::unexpected(ran.error().context("agent CLI"));
  record.exit_code = ran->exit_code;
  record.signal = ran->signal;
  record.timed_out = ran->timed_out;
  record.duration = ran->duration;
  result.commands.push_back(std::move(record));
  result.transcript.push_back({clock_.now(), TranscriptKind::output, scrub(ran->output)});

  std::string summary;
  if (!config_.summary_file.empty()) {
    // Read and removed in the sandbox: the file is the CLI's, and may be a link to anywhere.
    auto read = sandbox_.run(SandboxCommand{{"cat", "--", config_.summary_file},
                                            run.checkout,
                                            false,
                                            {},
                                            kFileCommandTimeout,
                                            options_.summary_bytes});
    if (read && read->succeeded()) summary = read->output;
    // Left behind, it would be part of the diff; a failure shows there too.
    auto removed = sandbox_.run(SandboxCommand{
        {"rm", "-f", "--", config_.summary_file}, run.checkout, false, {}, kFileCommandTimeout});
    (void)removed;
  }
  if (text::trim(summary).empty()) summary = last_paragraph(ran->output, options_.summary_bytes);
  result.summary = scrub(text::trim(summary));

  if (ran->cancelled) {
    stop(AgentOutcome::stopped, AgentStop::cancelled, "the session was cancelled");
  } else if (ran->timed_out) {
    stop(AgentOutcome::stopped, AgentStop::wall_time,
         "the agent CLI ran out of time: " + describe(*ran));
  } else if (ran->exit_code == 0) {
    result.outcome = AgentOutcome::finished;
  } else if (auto allowed = ledger->check(clock_.now()); !allowed) {
    // The proxy refused the CLI's requests once the budget was spent: that is why it gave up.
    bool late = deadline && clock_.now() >= *deadline;
    stop(AgentOutcome::stopped, late ? AgentStop::wall_time : AgentStop::budget,
         allowed.error().message);
  } else {
    stop(AgentOutcome::failed, AgentStop::none, "the agent CLI failed: " + describe(*ran));
  }
  return finish();
}

}  // namespace forgehand::runner
