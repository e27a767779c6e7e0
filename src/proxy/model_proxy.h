#pragma once
// The keyless model proxy: an OpenAI-compatible endpoint (`/v1/chat/completions`, `/v1/models`)
// on loopback for external agent CLIs. A session gets a random bearer token bound to its route
// and its ledger (budget, deadline, record of calls); requests go through the router, so
// failover, budgets and attribution apply as they do to the built-in agent, and provider keys
// never leave this process. The token stops working when the session's grant is destroyed.
// Thread-safe.

#include <httplib.h>

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <thread>

#include "forgehand/clock.h"
#include "forgehand/error.h"
#include "providers/router.h"
#include "providers/session_ledger.h"

namespace forgehand::proxy {

struct ModelProxyOptions {
  std::string host = "127.0.0.1";         // loopback only: the proxy spends the operator's money
  int port = 0;                           // 0: any free port
  std::size_t max_body_bytes = 32 << 20;  // agent CLIs send whole conversations
  // While a streamed answer is being produced, an SSE comment is sent this often so clients
  // with read timeouts keep waiting.
  std::chrono::milliseconds keepalive_interval{10'000};
  int threads = 16;
};

class ModelProxy;

// A session's access to the proxy. Move-only; destroying it (or revoke()) revokes the token. A
// request already running when the token is revoked finishes; the next one is refused.
class ProxyGrant {
 public:
  ProxyGrant() = default;
  ProxyGrant(ProxyGrant&& other) noexcept;
  ProxyGrant& operator=(ProxyGrant&& other) noexcept;
  ProxyGrant(const ProxyGrant&) = delete;
  ProxyGrant& operator=(const ProxyGrant&) = delete;
  ~ProxyGrant();

  // The bearer token to hand to the agent CLI (as OPENAI_API_KEY): never a provider key.
  const std::string& token() const { return token_; }
  // "http://127.0.0.1:PORT/v1", for OPENAI_BASE_URL.
  const std::string& base_url() const { return base_url_; }
  void revoke();

 private:
  friend class ModelProxy;
  ProxyGrant(ModelProxy* proxy, std::string token, std::string base_url)
      : proxy_(proxy), token_(std::move(token)), base_url_(std::move(base_url)) {}

  ModelProxy* proxy_ = nullptr;
  std::string token_;
  std::string base_url_;
};

class ModelProxy {
 public:
  ModelProxy(ModelProxyOptions options, const Clock& clock);
  ~ModelProxy();
  ModelProxy(const ModelProxy&) = delete;
  ModelProxy& operator=(const ModelProxy&) = delete;

  // Binds and starts serving. Errors: `io` when the address cannot be bound, `config` for a
  // host that is not a loopback address.
  Result<void> start();
  void stop();
  int port() const { return port_; }
  std::string base_url() const;

  // `router` must outlive the grant; the ledger is shared with the session's own agent.
  ProxyGrant grant(std::string session_id, const providers::Router& router,
                   std::shared_ptr<providers::SessionLedger> ledger);

  std::size_t active_grants() const;

 private:
  friend class ProxyGrant;
  struct Session {
    std::string id;
    const providers::Router* router = nullptr;
    std::shared_ptr<providers::SessionLedger> ledger;
  };

  void revoke(const std::string& token);
  std::shared_ptr<const Session> authenticate(const httplib::Request& request) const;
  void handle_models(const httplib::Request& request, httplib::Response& response) const;
  void handle_chat(const httplib::Request& request, httplib::Response& response) const;

  ModelProxyOptions options_;
  const Clock& clock_;
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  mutable std::shared_mutex mutex_;
  std::map<std::string, std::shared_ptr<const Session>> sessions_;  // by sha256 of the token
};

}  // namespace forgehand::proxy
