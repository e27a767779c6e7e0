// The model bridge's byte relays, alone: the host half in process, the sandbox half as the real
// `forgehand model-bridge` subcommand, against an echo server and an HTTP server on loopback.
#include "runner/model_bridge.h"

#include <doctest/doctest.h>
#include <httplib.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "support/fixtures.h"
#include "support/process.h"

using namespace forgehand;
using namespace forgehand::runner;
namespace fs = std::filesystem;

namespace {

void bound_waits(int fd) {
  timeval timeout{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
}

// Echoes what each connection sends and closes it once the client has finished sending.
class EchoServer {
 public:
  EchoServer() {
    auto listener = listen_tcp("127.0.0.1", 0, &port_);
    REQUIRE(listener.has_value());
    listener_ = std::move(*listener);
    stop_.reset(eventfd(0, EFD_CLOEXEC));
    accepter_ = std::thread([this] { accept_loop(); });
  }
  ~EchoServer() {
    std::uint64_t one = 1;
    CHECK(write(stop_.get(), &one, sizeof one) == sizeof one);
    accepter_.join();
    for (std::thread& worker : workers_) worker.join();
  }
  int port() const { return port_; }
  int connections() const { return connections_; }

 private:
  void accept_loop() {
    while (true) {
      pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {stop_.get(), POLLIN, 0}};
      if (poll(fds, 2, -1) < 0) continue;
      if (fds[1].revents != 0) return;
      int client = accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      ++connections_;
      workers_.emplace_back([client] {
        UniqueFd fd(client);
        bound_waits(fd.get());
        char buffer[8192];
        while (true) {
          ssize_t n = recv(fd.get(), buffer, sizeof buffer, 0);
          if (n <= 0) break;
          for (ssize_t sent = 0; sent < n;) {
            ssize_t m =
                send(fd.get(), buffer + sent, static_cast<std::size_t>(n - sent), MSG_NOSIGNAL);
            if (m <= 0) return;
            sent += m;
          }
        }
      });
    }
  }

  UniqueFd listener_;
  UniqueFd stop_;
  int port_ = 0;
  std::atomic<int> connections_{0};
  std::thread accepter_;
  std::vector<std::thread> workers_;
};

// Sends `payload` (then half-closes) while reading everything that comes back.
std::string round_trip(UniqueFd fd, const std::string& payload) {
  bound_waits(fd.get());
  std::thread sender([&] {
    for (std::size_t sent = 0; sent < payload.size();) {
      ssize_t n = send(fd.get(), payload.data() + sent, payload.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += static_cast<std::size_t>(n);
    }
    shutdown(fd.get(), SHUT_WR);
  });
  std::string received;
  char buffer[8192];
  while (true) {
    ssize_t n = recv(fd.get(), buffer, sizeof buffer, 0);
    if (n <= 0) break;
    received.append(buffer, static_cast<std::size_t>(n));
  }
  sender.join();
  return received;
}

std::string payload_for(int i) {
  std::string payload;
  std::size_t size = static_cast<std::size_t>(i % 5 == 0 ? 300'000 : 1 + i * 997);
  for (std::size_t j = 0; j < size; ++j) payload.push_back(static_cast<char>('a' + (i + j) % 26));
  return payload;
}

}  // namespace

TEST_CASE("bridge: relays bytes both ways for many concurrent connections, then closes") {
  testing::TempDir temp;
  EchoServer echo;
  std::string socket = temp.file("model.sock");
  {
    auto bridge = ModelBridge::start(socket, "127.0.0.1", echo.port(), RelayLimits{8, 16 * 1024});
    REQUIRE_MESSAGE(bridge.has_value(), bridge.error().message);
    CHECK(fs::exists(socket));

    constexpr int kClients = 40;  // more than the relay takes at once: the rest wait their turn
    std::vector<std::thread> clients;
    std::atomic<int> matched{0};
    for (int i = 0; i < kClients; ++i) {
      clients.emplace_back([&, i] {
        auto fd = connect_unix(socket);
        if (!fd) return;
        std::string payload = payload_for(i);
        if (round_trip(std::move(*fd), payload) == payload) ++matched;
      });
    }
    for (std::thread& client : clients) client.join();
    CHECK(matched == kClients);
    CHECK(echo.connections() == kClients);
  }
  CHECK_FALSE(fs::exists(socket));
  CHECK_FALSE(connect_unix(socket).has_value());
}

TEST_CASE("bridge: a client that resets its connection does not disturb the others") {
  testing::TempDir temp;
  EchoServer echo;
  std::string socket = temp.file("model.sock");
  auto bridge = ModelBridge::start(socket, "127.0.0.1", echo.port());
  REQUIRE(bridge.has_value());
  for (int i = 0; i < 5; ++i) {
    auto rude = connect_unix(socket);
    REQUIRE(rude.has_value());
    std::string half(100'000, 'r');
    CHECK(send(rude->get(), half.data(), half.size(), MSG_NOSIGNAL) > 0);
    linger reset{1, 0};
    setsockopt(rude->get(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  }
  auto polite = connect_unix(socket);
  REQUIRE(polite.has_value());
  CHECK(round_trip(std::move(*polite), "still here") == "still here");
}

TEST_CASE("bridge: an upstream that cannot be reached closes the client at once") {
  testing::TempDir temp;
  int port = 0;
  { auto probe = listen_tcp("127.0.0.1", 0, &port); }  // free again: nothing listens there
  std::string socket = temp.file("model.sock");
  auto bridge = ModelBridge::start(socket, "127.0.0.1", port);
  REQUIRE(bridge.has_value());
  auto client = connect_unix(socket);
  REQUIRE(client.has_value());
  CHECK(round_trip(std::move(*client), "hello").empty());
}

TEST_CASE("bridge: forgehand model-bridge relays loopback TCP to the socket and stops on SIGTERM") {
  testing::TempDir temp;
  EchoServer echo;
  std::string socket = temp.file("model.sock");
  auto bridge = ModelBridge::start(socket, "127.0.0.1", echo.port());
  REQUIRE(bridge.has_value());
  fs::create_directory(temp.file("logs"));
  testing::ChildProcess relay({"model-bridge", "--socket", socket, "--listen", "127.0.0.1:0"},
                              temp.file("logs"));
  int port = relay.wait_for_port();
  REQUIRE(port > 0);
  std::vector<std::thread> clients;
  std::atomic<int> matched{0};
  for (int i = 0; i < 12; ++i) {
    clients.emplace_back([&, i] {
      auto fd = connect_tcp("127.0.0.1", port);
      if (!fd) return;
      std::string payload = payload_for(i);
      if (round_trip(std::move(*fd), payload) == payload) ++matched;
    });
  }
  for (std::thread& client : clients) client.join();
  CHECK(matched == 12);
  relay.signal(SIGTERM);
  CHECK(relay.wait() == 0);
}

TEST_CASE("bridge: with a command, forgehand model-bridge listens first and dies with it") {
  testing::TempDir temp;
  httplib::Server upstream;
  upstream.Get("/v1/ping", [](const httplib::Request& request, httplib::Response& response) {
    response.set_content("pong " + request.get_header_value("Authorization"), "text/plain");
  });
  int upstream_port = upstream.bind_to_any_port("127.0.0.1");
  std::thread serving([&] { upstream.listen_after_bind(); });
  while (!upstream.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));

  std::string socket = temp.file("model.sock");
  {
    auto bridge = ModelBridge::start(socket, "127.0.0.1", upstream_port);
    REQUIRE(bridge.has_value());
    int port = 0;
    { auto probe = listen_tcp("127.0.0.1", 0, &port); }
    std::string url = "http://127.0.0.1:" + std::to_string(port) + "/v1/ping";
    fs::create_directory(temp.file("logs"));
    testing::ChildProcess bridged(
        {"model-bridge", "--socket", socket, "--listen", "127.0.0.1:" + std::to_string(port), "--",
         "curl", "-sS", "--max-time", "10", "-H", "Authorization: Bearer fh_proxy_x", url},
        temp.file("logs"));
    CHECK(bridged.wait() == 0);
    CHECK(bridged.stdout_text() == "pong Bearer fh_proxy_x");
    int left = testing::living_processes_with(socket);
    for (int i = 0; i < 100 && left > 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      left = testing::living_processes_with(socket);
    }
    CHECK(left == 0);
  }
  upstream.stop();
  serving.join();
}
