#pragma once
// The HTTP face of forgehand: POST /hooks/<instance> (the intake), GET /healthz and GET /metrics,
// with one JSON log line per request. cpp-httplib serves it from a fixed thread pool.
// start() and stop() from one thread; requests are served concurrently.

#include <memory>
#include <string>
#include <thread>

#include "forgehand/error.h"
#include "forgehand/store.h"
#include "server/intake.h"
#include "util/metrics.h"

namespace httplib {
class Server;
}

namespace forgehand {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0 picks a free port; see HttpServer::port()
  int threads = 64;
  std::size_t max_body_bytes = 25 * 1024 * 1024;
};

class HttpServer {
 public:
  // Registers its metrics (deliveries by instance, event and outcome; ack latency) in `registry`.
  HttpServer(const Intake& intake, Store& store, metrics::Registry& registry,
             HttpServerOptions options);
  ~HttpServer();

  // Binds and starts serving on a background thread. Errors: the address cannot be bound.
  Result<void> start();
  int port() const { return port_; }
  // Stops accepting, lets in-flight requests finish, and joins the serving threads.
  void stop();

 private:
  void install_routes();

  const Intake& intake_;
  Store& store_;
  metrics::Registry& registry_;
  metrics::Counter& deliveries_;
  metrics::Histogram& ack_seconds_;
  HttpServerOptions options_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  int listen_socket_ = -1;
};

}  // namespace forgehand
