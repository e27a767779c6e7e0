#include "proxy/model_proxy.h"

#include <future>
#include <nlohmann/json.hpp>

#include "providers/openai_wire.h"
#include "util/crypto.h"
#include "util/log.h"
#include "util/redact.h"

namespace forgehand::proxy {

namespace {

using nlohmann::json;
namespace wire = providers::openai_wire;

constexpr std::string_view kTokenPrefix = "fh_proxy_";

std::string token_key(std::string_view token) { return crypto::sha256(token); }

// The error body OpenAI's API and SDKs use (platform.openai.com/docs/guides/error-codes), so an
// agent CLI shows our message as it would show OpenAI's.
void send_error(httplib::Response& response, int status, std::string_view type,
                std::string_view code, std::string_view message) {
  json body = {
      {"error",
       {{"message", redact(message)}, {"type", type}, {"param", nullptr}, {"code", code}}}};
  response.status = status;
  response.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace),
                       "application/json");
}

struct ErrorAnswer {
  int status;
  std::string_view type;
  std::string_view code;
};

// What a client sees when the route gave no answer. A provider refusing forgehand's key is a
// 502, not a 401: the client's own token was fine and it should not go looking for a new one.
ErrorAnswer answer_for(const Error& error) {
  switch (error.code) {
    case ErrorCode::budget_exhausted:
      return {429, "insufficient_quota", "insufficient_quota"};
    case ErrorCode::invalid_argument:
      return {400, "invalid_request_error", "invalid_request"};
    case ErrorCode::rate_limited:
      return {429, "rate_limit_error", "rate_limit_exceeded"};
    case ErrorCode::timeout:
      return {504, "upstream_error", "upstream_timeout"};
    default:
      return {502, "upstream_error", "upstream_failed"};
  }
}

json error_event(const Error& error) {
  ErrorAnswer answer = answer_for(error);
  return {{"error",
           {{"message", redact(error.message)},
            {"type", answer.type},
            {"param", nullptr},
            {"code", answer.code}}}};
}

std::string sse_data(const json& payload) {
  return "data: " + payload.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
}

bool write_text(httplib::DataSink& sink, const std::string& text) {
  return sink.is_writable() && sink.write(text.data(), text.size());
}

bool is_loopback(std::string_view host) {
  return host == "127.0.0.1" || host == "::1" || host == "localhost" || host.starts_with("127.");
}

}  // namespace

ProxyGrant::ProxyGrant(ProxyGrant&& other) noexcept
    : proxy_(std::exchange(other.proxy_, nullptr)),
      token_(std::move(other.token_)),
      base_url_(std::move(other.base_url_)) {}

ProxyGrant& ProxyGrant::operator=(ProxyGrant&& other) noexcept {
  if (this != &other) {
    revoke();
    proxy_ = std::exchange(other.proxy_, nullptr);
    token_ = std::move(other.token_);
    base_url_ = std::move(other.base_url_);
  }
  return *this;
}

ProxyGrant::~ProxyGrant() { revoke(); }

void ProxyGrant::revoke() {
  if (proxy_ != nullptr) std::exchange(proxy_, nullptr)->revoke(token_);
}

ModelProxy::ModelProxy(ModelProxyOptions options, const Clock& clock)
    : options_(std::move(options)), clock_(clock) {
  int threads = options_.threads;
  server_.new_task_queue = [threads] {
    return new httplib::ThreadPool(static_cast<std::size_t>(threads));
  };
  server_.set_payload_max_length(options_.max_body_bytes);
  server_.Get("/v1/models", [this](const httplib::Request& request, httplib::Response& response) {
    handle_models(request, response);
  });
  server_.Get(R"(/v1/models/([^/]+))",
              [this](const httplib::Request& request, httplib::Response& response) {
                handle_models(request, response);
              });
  server_.Post("/v1/chat/completions",
               [this](const httplib::Request& request, httplib::Response& response) {
                 handle_chat(request, response);
               });
  server_.set_error_handler([](const httplib::Request& request, httplib::Response& response) {
    if (!response.body.empty()) return;
    if (response.status == 413) {
      send_error(response, 413, "invalid_request_error", "request_too_large",
                 "the request body is larger than the proxy accepts");
    } else if (response.status == 404) {
      send_error(response, 404, "invalid_request_error", "unknown_url",
                 "forgehand's model proxy serves POST /v1/chat/completions and GET /v1/models, "
                 "not " +
                     request.method + " " + request.path);
    }
  });
}

ModelProxy::~ModelProxy() { stop(); }

Result<void> ModelProxy::start() {
  if (!is_loopback(options_.host)) {
    return fail(ErrorCode::config,
                "the model proxy listens on loopback only, not " + options_.host);
  }
  port_ = options_.port == 0
              ? server_.bind_to_any_port(options_.host)
              : (server_.bind_to_port(options_.host, options_.port) ? options_.port : -1);
  if (port_ <= 0) {
    return fail(ErrorCode::io, "model proxy: cannot listen on " + options_.host + ":" +
                                   std::to_string(options_.port));
  }
  thread_ = std::thread([this] { server_.listen_after_bind(); });
  while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  log::info("model proxy listening", {{"url", base_url()}});
  return {};
}

void ModelProxy::stop() {
  if (!thread_.joinable()) return;
  server_.stop();
  thread_.join();
}

std::string ModelProxy::base_url() const {
  std::string host =
      options_.host.find(':') != std::string::npos ? "[" + options_.host + "]" : options_.host;
  return "http://" + host + ":" + std::to_string(port_) + "/v1";
}

ProxyGrant ModelProxy::grant(std::string session_id, const providers::Router& router,
                             std::shared_ptr<providers::SessionLedger> ledger) {
  std::string token =
      std::string(kTokenPrefix) + crypto::base64url_encode(crypto::random_bytes(32));
  process_redactor().add(token);
  auto session =
      std::make_shared<const Session>(Session{std::move(session_id), &router, std::move(ledger)});
  {
    std::unique_lock lock(mutex_);
    sessions_[token_key(token)] = std::move(session);
  }
  return ProxyGrant(this, std::move(token), base_url());
}

void ModelProxy::revoke(const std::string& token) {
  {
    std::unique_lock lock(mutex_);
    sessions_.erase(token_key(token));
  }
  process_redactor().remove(token);
}

std::size_t ModelProxy::active_grants() const {
  std::shared_lock lock(mutex_);
  return sessions_.size();
}

std::shared_ptr<const ModelProxy::Session> ModelProxy::authenticate(
    const httplib::Request& request) const {
  constexpr std::string_view kBearer = "Bearer ";
  std::string authorization = request.get_header_value("Authorization");
  if (!std::string_view(authorization).starts_with(kBearer)) return nullptr;
  std::string key = token_key(std::string_view(authorization).substr(kBearer.size()));
  std::shared_lock lock(mutex_);
  auto it = sessions_.find(key);
  return it == sessions_.end() ? nullptr : it->second;
}

namespace {
void send_unauthorized(httplib::Response& response) {
  send_error(response, 401, "invalid_request_error", "invalid_api_key",
             "the bearer token is not a live forgehand session token (it is revoked when its "
             "session ends)");
}
}  // namespace

void ModelProxy::handle_models(const httplib::Request& request, httplib::Response& response) const {
  auto session = authenticate(request);
  if (!session) return send_unauthorized(response);
  // Any model name routes through the session's route; listing the route and its providers'
  // models lets a client that validates its configured model name find one.
  auto model = [](const std::string& id) {
    return json{{"id", id}, {"object", "model"}, {"created", 0}, {"owned_by", "forgehand"}};
  };
  json models = json::array({model(session->router->route())});
  for (const providers::RouteStep& step : session->router->steps()) {
    models.push_back(model(step.provider->model()));
  }
  if (request.matches.size() > 1) {
    std::string wanted = request.matches[1];
    for (const json& entry : models) {
      if (entry["id"] == wanted) return response.set_content(entry.dump(), "application/json");
    }
    return send_error(response, 404, "invalid_request_error", "model_not_found",
                      "no model " + wanted + " on route " + session->router->route());
  }
  response.set_content(json{{"object", "list"}, {"data", std::move(models)}}.dump(),
                       "application/json");
}

void ModelProxy::handle_chat(const httplib::Request& request, httplib::Response& response) const {
  auto started = std::chrono::steady_clock::now();
  auto session = authenticate(request);
  if (!session) return send_unauthorized(response);
  auto body = json::parse(request.body, nullptr, false);
  if (body.is_discarded()) {
    return send_error(response, 400, "invalid_request_error", "invalid_json",
                      "the request body is not JSON");
  }
  auto chat = wire::request_from_body(body);
  if (!chat) {
    return send_error(response, 400, "invalid_request_error", "invalid_request",
                      chat.error().message);
  }
  if (auto allowed = session->ledger->check(clock_.now()); !allowed) {
    log::info("model proxy refused a request",
              {{"session", session->id}, {"reason", allowed.error().message}});
    return send_error(response, 429, "insufficient_quota", "insufficient_quota",
                      "forgehand: " + allowed.error().message);
  }
  bool stream = body.value("stream", false);
  bool include_usage = stream && body.contains("stream_options") &&
                       body["stream_options"].is_object() &&
                       body["stream_options"].value("include_usage", false);
  wire::ResponseIdentity identity{
      "chatcmpl-" + crypto::hex_encode(crypto::random_bytes(12)), "",
      std::chrono::duration_cast<std::chrono::seconds>(clock_.now().time_since_epoch()).count()};

  auto finished = [session, started](const providers::RouteOutcome& outcome) {
    auto latency = std::chrono::duration<double>(std::chrono::steady_clock::now() - started);
    log::info("model proxy request", {{"session", session->id},
                                      {"route", session->router->route()},
                                      {"ok", outcome.result.has_value()},
                                      {"calls", outcome.calls.size()},
                                      {"latency_seconds", latency.count()}});
  };

  if (!stream) {
    auto outcome = session->router->complete(*chat, *session->ledger);
    finished(outcome);
    if (!outcome.result) {
      ErrorAnswer answer = answer_for(outcome.result.error());
      return send_error(response, answer.status, answer.type, answer.code,
                        outcome.result.error().message);
    }
    identity.model = outcome.calls.back().model;
    response.set_content(wire::response_body(*outcome.result, identity)
                             .dump(-1, ' ', false, json::error_handler_t::replace),
                         "application/json");
    return;
  }

  // The answer is produced whole by the router (it may fail over mid-way, which a token stream
  // could not take back), then sent as the chunks a streaming client expects. Keep-alive
  // comments cover the wait.
  auto pending = std::make_shared<std::future<providers::RouteOutcome>>(
      std::async(std::launch::async, [session, request = std::move(*chat), finished] {
        auto outcome = session->router->complete(request, *session->ledger);
        finished(outcome);
        return outcome;
      }));
  auto interval = options_.keepalive_interval;
  response.set_header("Cache-Control", "no-cache");
  response.set_chunked_content_provider(
      "text/event-stream",
      [pending, identity, include_usage, interval](std::size_t, httplib::DataSink& sink) mutable {
        if (pending->wait_for(interval) != std::future_status::ready) {
          return write_text(sink, ": waiting for the model\n\n");
        }
        auto outcome = pending->get();
        std::string events;
        if (!outcome.result) {
          events = sse_data(error_event(outcome.result.error()));
        } else {
          identity.model = outcome.calls.back().model;
          for (const json& chunk :
               wire::response_chunks(*outcome.result, identity, include_usage)) {
            events += sse_data(chunk);
          }
        }
        events += "data: [DONE]\n\n";
        bool written = write_text(sink, events);
        sink.done();
        return written;
      });
}

}  // namespace forgehand::proxy
