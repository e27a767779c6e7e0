// The outbound client over real TLS: a CA and a server certificate made at test time, an
// httplib SSL server on loopback, and certificate verification that trusts only what it should.
#include <doctest/doctest.h>
#include <httplib.h>

#include <cstdlib>
#include <fstream>
#include <thread>

#include "support/fixtures.h"
#include "util/http_client.h"

using namespace forgehand;

namespace {

// A throwaway CA, and a certificate for localhost and 127.0.0.1 signed by it.
void make_certificates(const testing::TempDir& dir) {
  std::ofstream(dir.file("san.cnf")) << "subjectAltName=DNS:localhost,IP:127.0.0.1\n";
  std::string d = dir.path().string();
  std::string script =
      "cd '" + d +
      "' && "
      "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 1 "
      "-subj '/CN=forgehand test CA' && "
      "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr "
      "-subj '/CN=localhost' && "
      "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
      "-out server.pem -days 1 -extfile san.cnf";
  REQUIRE(std::system((script + " >/dev/null 2>&1").c_str()) == 0);
}

}  // namespace

TEST_CASE("HTTPS to a forge: trusted through the configured CA bundle, refused without it") {
  testing::TempDir dir;
  make_certificates(dir);
  httplib::SSLServer server(dir.file("server.pem").c_str(), dir.file("server.key").c_str());
  REQUIRE(server.is_valid());
  server.Get("/api/v1/version", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"version":"1.24.0"})", "application/json");
  });
  int port = server.bind_to_any_port("127.0.0.1");
  std::thread thread([&] { server.listen_after_bind(); });
  while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));

  std::string url = "https://localhost:" + std::to_string(port) + "/api/v1/version";
  HttplibClient trusting(
      {std::chrono::milliseconds(2000), std::chrono::milliseconds(2000), dir.file("ca.pem")});
  auto response = trusting.send({"GET", url, {}, "", ""});
  REQUIRE_MESSAGE(response.has_value(), response.error().message);
  CHECK(response->status == 200);
  CHECK(response->body == R"({"version":"1.24.0"})");

  HttplibClient by_ip(
      {std::chrono::milliseconds(2000), std::chrono::milliseconds(2000), dir.file("ca.pem")});
  auto ip_response = by_ip.send(
      {"GET", "https://127.0.0.1:" + std::to_string(port) + "/api/v1/version", {}, "", ""});
  CHECK(ip_response.has_value());

  HttplibClient system_trust(
      {std::chrono::milliseconds(2000), std::chrono::milliseconds(2000), ""});
  auto refused = system_trust.send({"GET", url, {}, "", ""});
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().code == ErrorCode::unavailable);
  CHECK(refused.error().message.find("https://localhost:") != std::string::npos);

  server.stop();
  thread.join();
}
