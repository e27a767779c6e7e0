#pragma once
// The model bridge carries an agent CLI's HTTP connections out of a sandbox that has a network
// namespace of its own (and so cannot reach the host's loopback) to the model proxy. Two byte
// relays meet at a Unix socket in a directory shared with the sandbox: on the host, ModelBridge
// accepts on the socket and connects to the proxy's TCP port; inside, `forgehand model-bridge`
// listens on the sandbox's loopback and connects to the socket. Bytes pass unchanged, so the
// proxy still checks every request's session token. A ModelBridge is used from one thread.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "forgehand/error.h"
#include "util/unique_fd.h"

namespace forgehand::runner {

struct RelayLimits {
  std::size_t max_connections = 32;      // further clients wait in the listen backlog
  std::size_t buffer_bytes = 64 * 1024;  // per direction of each connection
};

// Opens the other end for one accepted client. Errors close that client only.
using RelayConnector = std::function<Result<UniqueFd>()>;

// Accepts clients on `listener` and copies bytes both ways between each and the connection
// `connect` opens for it, passing a half-close on, until both directions are closed or either
// side fails. Returns when `stop_fd` becomes readable (never when it is -1), closing every
// connection. Errors: `io` when polling or accepting fails for good.
Result<void> relay(int listener, const RelayConnector& connect, int stop_fd,
                   RelayLimits limits = {});

// Listening and connected stream sockets, close-on-exec. Errors: `io` with the address.
Result<UniqueFd> listen_unix(const std::string& path);
// `port` 0 picks a free port; `bound_port`, when given, receives the port.
Result<UniqueFd> listen_tcp(const std::string& host, int port, int* bound_port = nullptr);
Result<UniqueFd> connect_unix(const std::string& path);
Result<UniqueFd> connect_tcp(const std::string& host, int port);

// The host's half: relays connections on a Unix socket to the model proxy's TCP address, on a
// thread of its own, until destroyed.
class ModelBridge {
 public:
  // Listens on `socket_path` (which must not exist) and relays to `host`:`port`.
  // Errors: `io` when the socket cannot be created.
  static Result<std::unique_ptr<ModelBridge>> start(const std::string& socket_path,
                                                    std::string host, int port,
                                                    RelayLimits limits = {});
  ~ModelBridge();  // stops relaying, closes every connection and removes the socket
  ModelBridge(const ModelBridge&) = delete;
  ModelBridge& operator=(const ModelBridge&) = delete;

 private:
  ModelBridge(std::string socket_path, UniqueFd listener, UniqueFd stop);

  std::string socket_path_;
  UniqueFd listener_;
  UniqueFd stop_;  // an eventfd the relay polls
  std::thread thread_;
};

// The sandbox's half, `forgehand model-bridge --socket PATH --listen HOST:PORT [-- COMMAND...]`.
struct BridgeCommand {
  std::string socket_path;
  std::string listen_host = "127.0.0.1";
  int listen_port = 0;
  // Empty: relay until SIGTERM or SIGINT. Otherwise the listener is bound first, then the relay
  // continues in a child that dies with this process, and this process becomes the command, so
  // the command's first request cannot come before the bridge listens and its exit status is the
  // bridge's.
  std::vector<std::string> command;
};

// Returns the exit status for the process (0 after a signal asked it to stop). With a command it
// returns only when the command cannot be run (127). Reports problems on stderr.
int run_bridge(const BridgeCommand& bridge);

}  // namespace forgehand::runner
