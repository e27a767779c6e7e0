#pragma once
// Outbound HTTP as a dependency: forge and model clients speak through HttpClient, so tests swap
// in fakes and count calls. HttplibClient is the real one (TLS via OpenSSL, timeouts, no
// redirects followed unless asked). Implementations must be thread-safe.

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "forgehand/delivery.h"
#include "forgehand/error.h"

namespace forgehand {

struct HttpRequest {
  std::string method = "GET";
  std::string url;  // absolute: scheme://host[:port]/path?query
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string content_type;  // with a body
};

struct HttpResponse {
  int status = 0;
  HeaderMap headers;  // lower-cased names
  std::string body;

  std::string_view header(std::string_view lower_case_name) const {
    auto it = headers.find(lower_case_name);
    return it == headers.end() ? std::string_view{} : std::string_view{it->second};
  }
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // Any HTTP status is a response; only transport failures are errors: `timeout`, or
  // `unavailable` (refused, reset, TLS failure), with the host in the message.
  virtual Result<HttpResponse> send(const HttpRequest& request) const = 0;
};

struct HttplibClientOptions {
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds read_timeout{30000};
  std::string ca_bundle;  // extra trust (a test CA, an internal forge); empty: system store
};

class HttplibClient final : public HttpClient {
 public:
  explicit HttplibClient(HttplibClientOptions options = {}) : options_(std::move(options)) {}
  Result<HttpResponse> send(const HttpRequest& request) const override;

 private:
  HttplibClientOptions options_;
};

// Splits "https://host:8443/api/v3/x?y" into "https://host:8443" and "/api/v3/x?y".
Result<std::pair<std::string, std::string>> split_url(std::string_view url);

// Percent-encodes everything outside RFC 3986's unreserved set (GitLab wants "group%2Fproject").
std::string url_encode(std::string_view text);

// Each path segment percent-encoded, the slashes kept: "docs/a b.md" → "docs/a%20b.md".
std::string url_encode_path(std::string_view path);

}  // namespace forgehand
