#include "util/http_client.h"

#include <httplib.h>

#include <algorithm>
#include <cctype>

namespace forgehand {

Result<std::pair<std::string, std::string>> split_url(std::string_view url) {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos ||
      (url.substr(0, scheme_end) != "http" && url.substr(0, scheme_end) != "https")) {
    return fail(ErrorCode::invalid_argument, "not an http(s) URL: " + std::string(url));
  }
  auto path_start = url.find('/', scheme_end + 3);
  if (path_start == std::string_view::npos) {
    return std::pair{std::string(url), std::string("/")};
  }
  return std::pair{std::string(url.substr(0, path_start)), std::string(url.substr(path_start))};
}

std::string url_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0x0f]);
    }
  }
  return out;
}

std::string url_encode_path(std::string_view path) {
  std::string out;
  while (!path.empty()) {
    auto slash = path.find('/');
    out += url_encode(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    out += '/';
    path.remove_prefix(slash + 1);
  }
  return out;
}

Result<HttpResponse> HttplibClient::send(const HttpRequest& request) const {
  auto parts = split_url(request.url);
  if (!parts) return tl::unexpected(parts.error());
  const auto& [origin, path] = *parts;
  httplib::Client client(origin);
  client.set_connection_timeout(options_.connect_timeout);
  client.set_read_timeout(options_.read_timeout);
  client.set_write_timeout(options_.read_timeout);
  client.set_follow_location(false);
  if (!options_.ca_bundle.empty()) client.set_ca_cert_path(options_.ca_bundle.c_str());
  client.enable_server_certificate_verification(true);

  httplib::Headers headers(request.headers.begin(), request.headers.end());
  httplib::Result result = [&] {
    const std::string& method = request.method;
    const char* type =
        request.content_type.empty() ? "application/json" : request.content_type.c_str();
    if (method == "GET") return client.Get(path.c_str(), headers);
    if (method == "DELETE") return client.Delete(path.c_str(), headers, request.body, type);
    if (method == "POST") return client.Post(path.c_str(), headers, request.body, type);
    if (method == "PUT") return client.Put(path.c_str(), headers, request.body, type);
    return client.Patch(path.c_str(), headers, request.body, type);
  }();
  if (!result) {
    httplib::Error error = result.error();
    // httplib reports a read or write that timed out as Read or Write.
    bool timed_out = error == httplib::Error::ConnectionTimeout || error == httplib::Error::Read ||
                     error == httplib::Error::Write;
    ErrorCode code = timed_out ? ErrorCode::timeout : ErrorCode::unavailable;
    return fail(code, origin + ": " + httplib::to_string(error));
  }
  HttpResponse response;
  response.status = result->status;
  response.body = std::move(result->body);
  for (const auto& [name, value] : result->headers) {
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    response.headers.emplace(std::move(lower), value);
  }
  return response;
}

}  // namespace forgehand
