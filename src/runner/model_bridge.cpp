#include "runner/model_bridge.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <list>

#include "util/log.h"

namespace forgehand::runner {

namespace {

std::string errno_text(int error) { return std::strerror(error); }

Result<sockaddr_un> unix_address(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof address.sun_path) {
    return fail(ErrorCode::invalid_argument, "unix socket path must be 1 to " +
                                                 std::to_string(sizeof address.sun_path - 1) +
                                                 " bytes: " + path);
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  return address;
}

// A numeric address only: the bridge runs where name resolution may be unavailable.
Result<std::pair<sockaddr_storage, socklen_t>> tcp_address(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  std::string service = std::to_string(port);
  if (port < 0 || port > 65535 || getaddrinfo(host.c_str(), service.c_str(), &hints, &found) != 0) {
    return fail(ErrorCode::invalid_argument, "not a numeric address: " + host + ":" + service);
  }
  std::pair<sockaddr_storage, socklen_t> address{};
  std::memcpy(&address.first, found->ai_addr, found->ai_addrlen);
  address.second = found->ai_addrlen;
  freeaddrinfo(found);
  return address;
}

bool set_nonblocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

// One direction of a connection: bytes read from `from` wait in `buffer` to be written to `to`.
struct Flow {
  std::string buffer;
  bool eof = false;   // `from` will send nothing more
  bool shut = false;  // and `to` has been told so
};

struct Connection {
  UniqueFd client;
  UniqueFd upstream;
  Flow up;    // client → upstream
  Flow down;  // upstream → client
  bool broken = false;

  bool done() const { return broken || (up.shut && down.shut); }
};

// Reads what fits into `flow`; false when the socket failed.
bool pull(int fd, Flow& flow, std::size_t capacity) {
  char chunk[16 * 1024];
  while (!flow.eof && flow.buffer.size() < capacity) {
    std::size_t room = std::min(sizeof chunk, capacity - flow.buffer.size());
    ssize_t n = recv(fd, chunk, room, 0);
    if (n > 0) {
      flow.buffer.append(chunk, static_cast<std::size_t>(n));
    } else if (n == 0) {
      flow.eof = true;
    } else if (errno == EINTR) {
      continue;
    } else {
      return errno == EAGAIN || errno == EWOULDBLOCK;
    }
  }
  return true;
}

// Writes what `to` takes, then passes a finished direction's end on; false when it failed.
bool push(int fd, Flow& flow) {
  while (!flow.buffer.empty()) {
    ssize_t n = send(fd, flow.buffer.data(), flow.buffer.size(), MSG_NOSIGNAL);
    if (n > 0) {
      flow.buffer.erase(0, static_cast<std::size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
      return false;
    }
  }
  if (flow.eof && !flow.shut) {
    flow.shut = true;
    // The peer may have closed already; that ends the connection once the other way is done.
    shutdown(fd, SHUT_WR);
  }
  return true;
}

short wanted(const Flow& in, const Flow& out, std::size_t capacity) {
  short events = 0;
  if (!in.eof && in.buffer.size() < capacity) events |= POLLIN;
  if (!out.buffer.empty()) events |= POLLOUT;
  return events;
}

Result<UniqueFd> stream_socket(int family) {
  UniqueFd fd(socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return fail(ErrorCode::io, std::string("socket: ") + errno_text(errno));
  return fd;
}

}  // namespace

Result<void> relay(int listener, const RelayConnector& connect, int stop_fd, RelayLimits limits) {
  if (!set_nonblocking(listener)) {
    return fail(ErrorCode::io, "relay: listener: " + errno_text(errno));
  }
  std::size_t capacity = std::max<std::size_t>(limits.buffer_bytes, 1);
  std::list<Connection> connections;
  std::vector<pollfd> fds;
  std::vector<Connection*> owners;  // two slots per connection: its client, then its upstream
  while (true) {
    fds.clear();
    owners.clear();
    if (stop_fd >= 0) fds.push_back({stop_fd, POLLIN, 0});
    // At the limit the listener is left alone; the kernel's backlog holds further clients.
    bool accepting = connections.size() < limits.max_connections;
    if (accepting) fds.push_back({listener, POLLIN, 0});
    std::size_t first_connection = fds.size();
    for (Connection& connection : connections) {
      // A socket with nothing to do is left out: a hung-up one would wake poll at once forever.
      short client = wanted(connection.up, connection.down, capacity);
      short upstream = wanted(connection.down, connection.up, capacity);
      fds.push_back({client != 0 ? connection.client.get() : -1, client, 0});
      fds.push_back({upstream != 0 ? connection.upstream.get() : -1, upstream, 0});
      owners.push_back(&connection);
    }
    if (poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      return fail(ErrorCode::io, "relay: poll: " + errno_text(errno));
    }
    if (stop_fd >= 0 && fds[0].revents != 0) return {};

    for (std::size_t i = 0; i < owners.size(); ++i) {
      Connection& connection = *owners[i];
      const pollfd& client = fds[first_connection + 2 * i];
      const pollfd& upstream = fds[first_connection + 2 * i + 1];
      bool ok = !(client.revents & POLLERR) && !(upstream.revents & POLLERR);
      if (ok && client.revents != 0) ok = pull(client.fd, connection.up, capacity);
      if (ok && upstream.revents != 0) ok = pull(upstream.fd, connection.down, capacity);
      if (ok) ok = push(connection.upstream.get(), connection.up);
      if (ok) ok = push(connection.client.get(), connection.down);
      connection.broken = !ok;
    }
    connections.remove_if([](const Connection& connection) { return connection.done(); });

    if (accepting && fds[first_connection - 1].revents != 0) {
      UniqueFd client(accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
      if (!client) {
        // The client gave up before it was accepted, or descriptors ran out for a moment.
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED ||
            errno == EMFILE || errno == ENFILE) {
          continue;
        }
        return fail(ErrorCode::io, "relay: accept: " + errno_text(errno));
      }
      auto upstream = connect();
      if (!upstream) {
        // Closing the client tells it at once; it may try again.
        log::warn("model bridge: cannot connect", {{"error", upstream.error().message}});
        continue;
      }
      if (!set_nonblocking(upstream->get())) continue;
      connections.push_back(Connection{std::move(client), std::move(*upstream), {}, {}, false});
    }
  }
}

Result<UniqueFd> listen_unix(const std::string& path) {
  auto address = unix_address(path);
  if (!address) return tl::unexpected(address.error());
  auto fd = stream_socket(AF_UNIX);
  if (!fd) return fd;
  if (bind(fd->get(), reinterpret_cast<const sockaddr*>(&*address), sizeof *address) != 0 ||
      listen(fd->get(), 64) != 0) {
    return fail(ErrorCode::io, "listen on " + path + ": " + errno_text(errno));
  }
  return fd;
}

Result<UniqueFd> listen_tcp(const std::string& host, int port, int* bound_port) {
  auto address = tcp_address(host, port);
  if (!address) return tl::unexpected(address.error());
  auto fd = stream_socket(address->first.ss_family);
  if (!fd) return fd;
  int yes = 1;
  setsockopt(fd->get(), SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  if (bind(fd->get(), reinterpret_cast<const sockaddr*>(&address->first), address->second) != 0 ||
      listen(fd->get(), 64) != 0) {
    return fail(ErrorCode::io,
                "listen on " + host + ":" + std::to_string(port) + ": " + errno_text(errno));
  }
  if (bound_port != nullptr) {
    sockaddr_storage bound{};
    socklen_t length = sizeof bound;
    getsockname(fd->get(), reinterpret_cast<sockaddr*>(&bound), &length);
    *bound_port =
        ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<const sockaddr_in6*>(&bound)->sin6_port
                                          : reinterpret_cast<const sockaddr_in*>(&bound)->sin_port);
  }
  return fd;
}

Result<UniqueFd> connect_unix(const std::string& path) {
  auto address = unix_address(path);
  if (!address) return tl::unexpected(address.error());
  auto fd = stream_socket(AF_UNIX);
  if (!fd) return fd;
  if (connect(fd->get(), reinterpret_cast<const sockaddr*>(&*address), sizeof *address) != 0) {
    return fail(ErrorCode::unavailable, "connect to " + path + ": " + errno_text(errno));
  }
  return fd;
}

Result<UniqueFd> connect_tcp(const std::string& host, int port) {
  auto address = tcp_address(host, port);
  if (!address) return tl::unexpected(address.error());
  auto fd = stream_socket(address->first.ss_family);
  if (!fd) return fd;
  if (connect(fd->get(), reinterpret_cast<const sockaddr*>(&address->first), address->second) !=
      0) {
    return fail(ErrorCode::unavailable,
                "connect to " + host + ":" + std::to_string(port) + ": " + errno_text(errno));
  }
  return fd;
}

ModelBridge::ModelBridge(std::string socket_path, UniqueFd listener, UniqueFd stop)
    : socket_path_(std::move(socket_path)),
      listener_(std::move(listener)),
      stop_(std::move(stop)) {}

Result<std::unique_ptr<ModelBridge>> ModelBridge::start(const std::string& socket_path,
                                                        std::string host, int port,
                                                        RelayLimits limits) {
  auto listener = listen_unix(socket_path);
  if (!listener) return tl::unexpected(listener.error().context("model bridge"));
  UniqueFd stop(eventfd(0, EFD_CLOEXEC));
  if (!stop) {
    unlink(socket_path.c_str());
    return fail(ErrorCode::io, "model bridge: eventfd: " + errno_text(errno));
  }
  std::unique_ptr<ModelBridge> bridge(
      new ModelBridge(socket_path, std::move(*listener), std::move(stop)));
  bridge->thread_ = std::thread([listener = bridge->listener_.get(), stop_fd = bridge->stop_.get(),
                                 host = std::move(host), port, limits] {
    auto relayed = relay(
        listener, [&host, port] { return connect_tcp(host, port); }, stop_fd, limits);
    if (!relayed) log::error("model bridge stopped", {{"error", relayed.error().message}});
  });
  return bridge;
}

ModelBridge::~ModelBridge() {
  std::uint64_t one = 1;
  ssize_t ignored = write(stop_.get(), &one, sizeof one);
  (void)ignored;
  if (thread_.joinable()) thread_.join();
  unlink(socket_path_.c_str());
}

int run_bridge(const BridgeCommand& bridge) {
  auto report = [](const std::string& message) {
    std::fprintf(stderr, "forgehand model-bridge: %s\n", message.c_str());
    return 127;
  };
  int port = 0;
  auto listener = listen_tcp(bridge.listen_host, bridge.listen_port, &port);
  if (!listener) return report(listener.error().message);
  std::string socket_path = bridge.socket_path;
  auto connect = [&socket_path] { return connect_unix(socket_path); };

  if (bridge.command.empty()) {
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    sigprocmask(SIG_BLOCK, &stop_signals, nullptr);
    UniqueFd stop(signalfd(-1, &stop_signals, SFD_CLOEXEC));
    if (!stop) return report("signalfd: " + errno_text(errno));
    log::info("model bridge listening",
              {{"url", "http://" + bridge.listen_host + ":" + std::to_string(port)},
               {"socket", socket_path}});
    auto relayed = relay(listener->get(), connect, stop.get());
    if (!relayed) {
      report(relayed.error().message);
      return 1;
    }
    return 0;
  }

  std::vector<char*> argv;
  std::vector<std::string> command = bridge.command;
  for (std::string& arg : command) argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_t parent = getpid();
  pid_t child = fork();
  if (child < 0) return report("fork: " + errno_text(errno));
  if (child == 0) {
    // The relay lives exactly as long as the command: the parent becomes the command.
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 || getppid() != parent) _exit(0);
    // Its output is the command's; the relay keeps quiet there unless it fails.
    int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null_fd >= 0) {
      dup2(null_fd, STDIN_FILENO);
      dup2(null_fd, STDOUT_FILENO);
    }
    auto relayed = relay(listener->get(), connect, -1);
    if (!relayed) report(relayed.error().message);
    _exit(1);
  }
  listener->reset();
  execvp(argv[0], argv.data());
  return report(bridge.command[0] + ": " + errno_text(errno));
}

}  // namespace forgehand::runner
