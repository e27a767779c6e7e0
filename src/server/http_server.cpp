#include "server/http_server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>

#include "util/log.h"

namespace forgehand {

namespace {

constexpr const char* kOutcomeHeader = "X-Forgehand-Outcome";
// The kernel caps this at net.core.somaxconn.
constexpr int kListenBacklog = 1024;

HeaderMap lower_case_headers(const httplib::Headers& headers) {
  HeaderMap out;
  for (const auto& [name, value] : headers) {
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    out.emplace(std::move(lower), value);  // the first of repeated headers wins
  }
  return out;
}

std::size_t declared_length(const httplib::Request& req) {
  std::string value = req.get_header_value("Content-Length");
  std::size_t length = 0;
  std::from_chars(value.data(), value.data() + value.size(), length);
  return length;
}

// What httplib answered by itself on a hook route, before our handler could run.
std::string_view outcome_for_status(int status) {
  switch (status) {
    case 413:
      return "too_large";
    case 400:
      return "malformed";
    default:
      return "error";
  }
}

}  // namespace

HttpServer::HttpServer(const Intake& intake, Store& store, metrics::Registry& registry,
                       HttpServerOptions options)
    : intake_(intake),
      store_(store),
      registry_(registry),
      deliveries_(registry.counter("forgehand_deliveries_total",
                                   "Webhook deliveries received, by instance, event and outcome.",
                                   {"instance", "event", "outcome"})),
      ack_seconds_(registry.histogram(
          "forgehand_ack_seconds",
          "Time from a webhook's body being read to its answer being ready (verify, record).",
          metrics::latency_buckets())),
      options_(std::move(options)),
      server_(std::make_unique<httplib::Server>()) {
  int threads = options_.threads;
  server_->new_task_queue = [threads] {
    return new httplib::ThreadPool(static_cast<std::size_t>(threads));
  };
  // Defaults that would cap throughput: 5 requests per connection and Nagle's delay on replies.
  server_->set_keep_alive_max_count(100000);
  server_->set_tcp_nodelay(true);
  server_->set_payload_max_length(options_.max_body_bytes);
  // httplib 0.11 listens with a backlog of 5 (CPPHTTPLIB_LISTEN_BACKLOG, compiled into Debian's
  // library): a burst of new connections overflows it and the kernel's retransmission timers add
  // hundreds of milliseconds. Remember the socket so start() can listen again with a real one.
  // Its default options also set SO_REUSEPORT, which would let a second forgehand share this port
  // silently instead of failing; SO_REUSEADDR alone still allows a quick restart.
  server_->set_socket_options([this](int socket) {
    int yes = 1;
    ::setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    listen_socket_ = socket;
  });
  install_routes();
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::install_routes() {
  // A content reader keeps httplib from parsing form-encoded bodies itself (it would answer 413
  // to any form body over 8 KB); the intake explains instead that hooks must send JSON.
  server_->Post(R"(/hooks/([^/]+))", [this](const httplib::Request& req, httplib::Response& res,
                                            const httplib::ContentReader& read_content) {
    // Past the limit the rest is read and dropped, so the client gets to read our 413 instead of
    // a reset; only a body over twice the limit is cut off mid-stream.
    std::string body;
    std::size_t received = 0;
    bool read = read_content([&](const char* data, std::size_t length) {
      received += length;
      if (received <= options_.max_body_bytes) body.append(data, length);
      return received <= 2 * options_.max_body_bytes;
    });
    auto started = std::chrono::steady_clock::now();
    IntakeResponse answer;
    std::size_t size = std::max(received, declared_length(req));
    if (size > options_.max_body_bytes) {
      answer = intake_.too_large(req.matches[1].str(), size);
    } else if (read) {
      answer = intake_.receive(req.matches[1].str(), lower_case_headers(req.headers), body);
    } else {
      answer.status = http_status(ErrorCode::malformed);
      answer.outcome = IntakeOutcome::malformed;
      answer.reason = "the request body could not be read";
      answer.body = R"({"error":"the request body could not be read"})";
    }
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    ack_seconds_.observe(seconds);
    std::string_view outcome = to_string(answer.outcome);
    deliveries_.inc({answer.instance, answer.event, outcome});
    res.status = answer.status;
    // httplib 0.11 keeps the connection open after a body it did not finish reading; asking the
    // client to close keeps the unread bytes from being parsed as further requests.
    if (!read) res.set_header("Connection", "close");
    res.set_header(kOutcomeHeader, std::string(outcome));
    res.set_content(answer.body, "application/json");
    log::write(answer.status >= 400 ? log::Level::warn : log::Level::info, "webhook",
               {{"instance", answer.instance.empty() ? req.matches[1].str() : answer.instance},
                {"delivery", answer.delivery_id},
                {"event", answer.event},
                {"status", answer.status},
                {"outcome", outcome},
                {"reason", answer.reason},
                {"bytes", received},
                {"ack_ms", seconds * 1000},
                {"remote", req.remote_addr}});
  });

  server_->Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
    auto depth = store_.queue_depth();
    if (!depth) {
      res.status = 503;
      res.set_content(R"({"status":"unhealthy","reason":"store unavailable"})", "application/json");
      return;
    }
    res.set_content(R"({"status":"ok","queue_depth":)" + std::to_string(*depth) + "}",
                    "application/json");
  });

  server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(registry_.render(), "text/plain; version=0.0.4");
  });

  server_->set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    if (res.has_header(kOutcomeHeader)) return;  // the hook handler logged it already
    bool hook = req.path.starts_with("/hooks/");
    if (hook) deliveries_.inc({"", "", outcome_for_status(res.status)});
    log::write(res.status >= 400 ? log::Level::warn : log::Level::info, "request",
               {{"method", req.method},
                {"path", req.path},
                {"status", res.status},
                {"remote", req.remote_addr}});
  });
}

Result<void> HttpServer::start() {
  if (options_.port == 0) {
    port_ = server_->bind_to_any_port(options_.host);
  } else {
    port_ = server_->bind_to_port(options_.host, options_.port) ? options_.port : -1;
  }
  if (port_ <= 0) {
    return fail(ErrorCode::unavailable, "cannot listen on " + options_.host + ":" +
                                            std::to_string(options_.port) +
                                            " (in use, or not an address of this machine)");
  }
  ::listen(listen_socket_, kListenBacklog);
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // httplib 0.11's stop() does nothing until the serving thread has marked itself running, so a
  // stop right after start (a test, an early SIGTERM) would leave that thread in accept() for
  // good. 0.11 has no wait_until_ready(); poll, bounded.
  for (int i = 0; i < 5000 && !server_->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return {};
}

void HttpServer::stop() {
  if (!thread_.joinable()) return;
  server_->stop();
  thread_.join();
}

}  // namespace forgehand
