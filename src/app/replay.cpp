#include "app/replay.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "app/dry_run_forge.h"
#include "app/service.h"
#include "dispatch/event_router.h"
#include "dispatch/session_records.h"
#include "forges/forge_registry.h"
#include "render/views.h"
#include "server/intake.h"
#include "store/sqlite_store.h"
#include "util/redact.h"
#include "util/text.h"

namespace fs = std::filesystem;

namespace forgehand {

namespace {

std::optional<std::string> read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// "Name: value" lines as a forge sends them (the fixtures' `.headers` files); names lower-cased
// as the intake expects. A request line or anything else without a colon is skipped.
HeaderMap parse_headers(const std::string& text) {
  HeaderMap headers;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    auto colon = line.find(':');
    if (colon == std::string::npos || colon == 0) continue;
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    headers[name] = value;
  }
  return headers;
}

std::string or_dash(const std::string& text) { return text.empty() ? "-" : text; }

std::string indented(std::string_view text, std::string_view prefix) {
  while (text.ends_with('\n')) text.remove_suffix(1);
  std::string out;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    out += line.empty() ? std::string(prefix.substr(0, prefix.find_last_not_of(' ') + 1))
                        : std::string(prefix) + std::string(line);
    out += "\n";
    if (end == text.size()) break;
    start = end + 1;
  }
  return out;
}

void print_event(const Event& event, const std::string& forge_event, std::ostream& out) {
  out << "Event     " << to_string(event.kind) << " (" << forge_event
      << (event.action.empty() ? "" : ", " + event.action) << "), delivery " << event.delivery_id
      << "\n";
  out << "Repo      " << event.repo.full_name;
  if (event.number != 0) {
    out << ", " << (event.is_pull_request ? "pull request" : "issue") << " #" << event.number;
  }
  out << "\n";
  out << "Actor     " << or_dash(event.actor.login)
      << (event.actor.is_self  ? " (forgehand itself)"
          : event.actor.is_bot ? " (a bot)"
                               : "")
      << "\n";
  out << "Head      " << or_dash(event.head_sha)
      << (event.head_ref.empty() ? "" : " (" + event.head_ref + ")")
      << (event.from_fork ? ", from a fork" : "") << "\n";
  if (event.kind == EventKind::comment) {
    out << "Comment   " << event.comment_id << "\n" << indented(event.comment_body, "  | ");
  }
  if (event.kind == EventKind::ci_failed) {
    out << "CI        " << or_dash(event.ci_name) << ": " << or_dash(event.ci_conclusion)
        << (event.ci_url.empty() ? "" : " " + event.ci_url) << "\n";
  }
}

void print_decision(const ServerConfig& config, const Event& event, const CommentOutcome& outcome,
                    std::ostream& out) {
  if (!outcome.decision) return;
  const policy::PolicyDecision& decision = *outcome.decision;
  // The view `explain` renders, printed plainly: a replay and a comment give the same reasons.
  render::ExplainView view =
      explain_view(config, decision, CommentHandler::bot_name(config.find_instance(event.instance)),
                   event.actor.login);
  out << "\nDecision: ";
  if (decision.allowed) {
    out << "allowed, route " << view.route << " (" << text::join(view.route_providers, " → ")
        << ")";
  } else {
    out << "denied (" << policy::to_string(decision.deny_reason)
        << (decision.notify ? "" : ", quietly") << ")";
  }
  out << ": " << view.task << "\n";
  for (const std::string& reason : view.reasons) out << "  - " << reason << "\n";
  for (const render::LimitView& limit : view.limits) {
    out << "  " << limit.name << ": " << limit.value << "\n";
  }
}

int print_outcome(const CommentOutcome& outcome, std::ostream& out) {
  using Kind = CommentOutcome::Kind;
  out << "\nOutcome: " << to_string(outcome.kind);
  if (!outcome.detail.empty()) out << ": " << redact(outcome.detail);
  out << "\n";
  return outcome.kind == Kind::ignored || outcome.kind == Kind::failed ? 1 : 0;
}

// The attempts and spending the policy weighs, from the store when there is one. A dry run opens
// it read-only, so it is safe beside a running server; without it, nothing counts as spent.
HistoryLookup dry_run_history(const ServerConfig& config, const DryRunForge& forge) {
  std::string missing;
  std::shared_ptr<SqliteStore> store;
  if (!fs::exists(config.store.path)) {
    missing = "no store at " + config.store.path;
  } else if (auto opened = SqliteStore::open(
                 SqliteStoreOptions{.path = config.store.path, .read_only = true});
             !opened) {
    missing = "the store could not be read (" + opened.error().message + ")";
  } else {
    store = std::move(*opened);
  }
  return [store, missing, &forge](const Event& event, std::int64_t pull_request,
                                  const std::string& head_sha) -> Result<policy::History> {
    if (!store) {
      forge.assume(missing + ": no earlier attempts or spending are counted");
      return policy::History{};
    }
    return session_history(*store, event, pull_request, head_sha, system_clock().now());
  };
}

int dry_run(const ServerConfig& config, const InstanceConfig& instance, const Forge& parser,
            const Event& event, bool read, std::ostream& out, std::ostream& err) {
  std::unique_ptr<Forge> reader;
  HttplibClient http(HttplibClientOptions{.ca_bundle = config.ca_bundle});
  ApiDependencies api{http, system_clock(), real_sleeper()};
  if (read) {
    auto made = make_instance_forge(instance, api);
    if (!made) {
      err << made.error().message << "\n";
      return 2;
    }
    reader = std::move(*made);
  }
  DryRunForge forge(read ? *reader : parser, event, read);
  auto templates = load_templates(config);
  if (!templates) {
    err << templates.error().message << "\n";
    return 2;
  }
  HistoryLookup history = dry_run_history(config, forge);
  auto stand_in = [](const Event&) -> Result<std::string> {
    return std::string("_(dry run: the server's sessions are not asked)_");
  };
  SessionControl control{
      [&](const SessionRequest& request) -> Result<void> {
        std::vector<std::string> providers = config.route_providers(request.decision.route);
        std::string body = request.run.instructions;
        if (!request.failure_excerpt.empty()) body = request.failure_excerpt;
        forge.record({"start session " + request.session_id + " (" +
                          std::string(to_string(request.decision.task)) + ") on route " +
                          request.decision.route + " (" + text::join(providers, " → ") + ")",
                      body});
        return {};
      },
      stand_in, stand_in, history};
  EventRouter router(config, *templates, std::move(control), nullptr);
  auto outcome = router.handle(event, forge);

  std::vector<std::string> assumptions = forge.assumptions();
  if (!assumptions.empty()) {
    out << "\nAssumed:\n";
    for (const std::string& assumption : assumptions) out << "  - " << assumption << "\n";
  }
  if (!outcome) {
    err << "replay: " << redact(outcome.error().message) << "\n";
    return 1;
  }
  print_decision(config, event, *outcome, out);
  std::vector<DryRunForge::Action> actions = forge.actions();
  out << "\nWould do (dry run: nothing was sent):\n";
  if (actions.empty()) out << "  nothing\n";
  for (std::size_t i = 0; i < actions.size(); ++i) {
    out << "  " << i + 1 << ". " << actions[i].what << "\n";
    if (!actions[i].body.empty()) out << indented(actions[i].body, "     | ");
  }
  return print_outcome(*outcome, out);
}

int real_run(const ServerConfig& config, const Event& event, std::ostream& out, std::ostream& err) {
  create_data_dirs(config);
  auto store = SqliteStore::open(SqliteStoreOptions{.path = config.store.path});
  if (!store) {
    err << store.error().message << "\n";
    return 2;
  }
  auto service = Service::create(config, **store);
  if (!service) {
    err << redact(service.error().message) << "\n";
    return 2;
  }
  const Forge& forge = *(*service)->forge(event.instance);
  auto outcome = (*service)->handle(event, forge);
  if (!outcome) {
    err << "replay: " << redact(outcome.error().message) << "\n";
    return 1;
  }
  print_decision(config, event, *outcome, out);
  int status = print_outcome(*outcome, out);
  if (outcome->kind != CommentOutcome::Kind::started) return status;

  out << "Waiting for session " << outcome->detail << " to finish\n" << std::flush;
  (*service)->jobs().drain();
  auto record = (*store)->find_session(outcome->detail);
  if (!record || !*record) {
    err << "replay: session " << outcome->detail << " is not in the store"
        << (record ? "" : ": " + record.error().message) << "\n";
    return 1;
  }
  const SessionRecord& session = **record;
  out << "Session   " << session.id << ": " << to_string(session.state) << "\n";
  if (!session.pull_request.url.empty()) {
    out << "Pull request  " << session.pull_request.url << "\n";
  }
  if (!session.error.empty()) out << "Error     " << session.error << "\n";
  return 0;
}

}  // namespace

int replay(const ServerConfig& config, const ReplayOptions& options, std::ostream& out,
           std::ostream& err) {
  const InstanceConfig* instance = config.find_instance(options.instance);
  if (instance == nullptr) {
    std::vector<std::string> names;
    for (const InstanceConfig& configured : config.instances) names.push_back(configured.name);
    err << "replay: no instance named \"" << options.instance << "\" in " << config.source
        << "; configured: " << (names.empty() ? "none" : text::join(names, ", ")) << "\n";
    return 2;
  }
  fs::path fixture(options.fixture);
  auto body = read_text(fixture);
  if (!body) {
    err << "replay: cannot read " << options.fixture << "\n";
    return 2;
  }
  fs::path headers_path = fs::path(fixture).replace_extension(".headers");
  HeaderMap headers;
  bool have_headers = fs::exists(headers_path);
  if (have_headers) {
    auto text = read_text(headers_path);
    if (!text) {
      err << "replay: cannot read " << headers_path.string() << "\n";
      return 2;
    }
    headers = parse_headers(*text);
  }
  std::string_view event_name_header = event_header(instance->kind);
  if (!options.event.empty()) {
    headers[std::string(event_name_header)] = options.event;
  } else if (!have_headers) {
    err << "replay: no " << headers_path.filename().string() << " beside " << options.fixture
        << ": name the event with --event (the " << event_name_header << " header "
        << to_string(instance->kind) << " sends, e.g. "
        << (instance->kind == ForgeKind::gitlab ? "\"Note Hook\"" : "issue_comment") << ")\n";
    return 2;
  }
  auto event_name = webhook_event(instance->kind, headers);
  if (!event_name) {
    err << "replay: " << headers_path.string() << ": " << event_name.error().message << " for a "
        << to_string(instance->kind) << " instance; name the event with --event\n";
    return 2;
  }

  out << "Replaying " << options.fixture << " on instance " << instance->name << " ("
      << to_string(instance->kind) << ")" << (options.dry_run ? ", dry run" : "")
      << "; signatures are not checked\n";
  if (!Intake::handles_event(instance->kind, *event_name)) {
    out << "\nIgnored: forgehand does not act on " << *event_name << " events\n";
    return 1;
  }
  auto delivery_id = webhook_delivery_id(instance->kind, *event_name, headers, *body);
  if (!delivery_id) {
    err << "replay: " << delivery_id.error().message << "\n";
    return 2;
  }
  auto delivery = make_delivery(instance->name, *event_name, *delivery_id, headers, *body,
                                system_clock().now());
  if (!delivery) {
    err << "replay: " << options.fixture << ": " << delivery.error().message << "\n";
    return 2;
  }

  // Parsing needs no credentials; an adapter without them reaches no network.
  HttplibClient http;
  ApiDependencies api{http, system_clock(), real_sleeper()};
  auto parser = make_forge(forge_settings(*instance), api);
  if (!parser) {
    err << parser.error().message << "\n";
    return 2;
  }
  auto parsed = (*parser)->parse(*delivery);
  if (!parsed) {
    err << "replay: " << parsed.error().message << "\n";
    return 2;
  }
  if (const auto* ignored = std::get_if<Ignored>(&*parsed)) {
    out << "\nIgnored: " << ignored->reason << "\n";
    return 1;
  }
  const Event& event = std::get<Event>(*parsed);
  out << "\n";
  print_event(event, *event_name, out);
  return options.dry_run ? dry_run(config, *instance, **parser, event, options.read, out, err)
                         : real_run(config, event, out, err);
}

}  // namespace forgehand
