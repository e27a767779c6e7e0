#include "forges/github/app_auth.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "forges/github/api_headers.h"
#include "util/crypto.h"

namespace forgehand::github {

namespace {
constexpr auto kRefreshBefore = std::chrono::minutes(5);

struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct DigestContextDeleter {
  void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
};
}  // namespace

void AppJwtSigner::KeyDeleter::operator()(void* key) const {
  EVP_PKEY_free(static_cast<EVP_PKEY*>(key));
}

std::optional<TimePoint> parse_iso8601_utc(std::string_view text) {
  std::tm parts{};
  char zone = 0;
  std::string copy(text);
  int read = std::sscanf(copy.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &parts.tm_year, &parts.tm_mon,
                         &parts.tm_mday, &parts.tm_hour, &parts.tm_min, &parts.tm_sec, &zone);
  if (read != 7 || zone != 'Z') return std::nullopt;
  parts.tm_year -= 1900;
  parts.tm_mon -= 1;
  std::time_t seconds = timegm(&parts);
  if (seconds == -1) return std::nullopt;
  return std::chrono::system_clock::from_time_t(seconds);
}

Result<AppJwtSigner> AppJwtSigner::create(const Secret& private_key_pem, std::string issuer) {
  const std::string& pem = private_key_pem.reveal();
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  EVP_PKEY* key = bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  if (key == nullptr) {
    return fail(ErrorCode::config, "github: the App private key is not a PEM private key");
  }
  std::shared_ptr<void> owned(key, KeyDeleter{});
  if (EVP_PKEY_base_id(key) != EVP_PKEY_RSA) {
    return fail(ErrorCode::config, "github: the App private key must be an RSA key");
  }
  if (issuer.empty())
    return fail(ErrorCode::config, "github: the App's client id or app id is empty");
  return AppJwtSigner(std::move(owned), std::move(issuer));
}

Result<std::string> AppJwtSigner::sign(TimePoint now) const {
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  nlohmann::json header = {{"alg", "RS256"}, {"typ", "JWT"}};
  nlohmann::json claims = {{"iat", seconds - 60}, {"exp", seconds + 540}, {"iss", issuer_}};
  std::string signing_input =
      crypto::base64url_encode(header.dump()) + "." + crypto::base64url_encode(claims.dump());

  std::unique_ptr<EVP_MD_CTX, DigestContextDeleter> context(EVP_MD_CTX_new());
  std::size_t length = 0;
  auto* key = static_cast<EVP_PKEY*>(key_.get());
  if (!context || EVP_DigestSignInit(context.get(), nullptr, EVP_sha256(), nullptr, key) != 1 ||
      EVP_DigestSignUpdate(context.get(), signing_input.data(), signing_input.size()) != 1 ||
      EVP_DigestSignFinal(context.get(), nullptr, &length) != 1) {
    return fail(ErrorCode::internal, "github: signing the App JWT failed");
  }
  std::string signature(length, '\0');
  if (EVP_DigestSignFinal(context.get(), reinterpret_cast<unsigned char*>(signature.data()),
                          &length) != 1) {
    return fail(ErrorCode::internal, "github: signing the App JWT failed");
  }
  signature.resize(length);
  return signing_input + "." + crypto::base64url_encode(signature);
}

InstallationTokens::InstallationTokens(const ApiCaller& api, std::string api_url,
                                       AppJwtSigner signer, const Clock& clock)
    : api_(api), api_url_(std::move(api_url)), signer_(std::move(signer)), clock_(clock) {}

Result<Secret> InstallationTokens::token(std::string_view installation_id) {
  // One lock for lookups and refreshes: a refresh happens once an hour per installation, and
  // callers waiting for it would otherwise all fetch a token of their own.
  std::lock_guard lock(mutex_);
  TimePoint now = clock_.now();
  auto cached = cache_.find(installation_id);
  if (cached != cache_.end() && now < cached->second.expires_at - kRefreshBefore) {
    return cached->second.token;
  }
  auto jwt = signer_.sign(now);
  if (!jwt) return tl::unexpected(jwt.error());
  HttpRequest request;
  request.method = "POST";
  request.url = api_url_ + "/app/installations/" + std::string(installation_id) + "/access_tokens";
  request.headers = api_headers("Bearer " + *jwt);
  auto response = api_.call("create installation token", request);
  if (!response) return tl::unexpected(response.error());
  auto json = nlohmann::json::parse(response->body, nullptr, false);
  if (!json.is_object() || !json.contains("token") || !json["token"].is_string() ||
      !json.contains("expires_at") || !json["expires_at"].is_string()) {
    return fail(ErrorCode::malformed, "github: create installation token: unexpected response");
  }
  auto expires = parse_iso8601_utc(json["expires_at"].get<std::string>());
  if (!expires) {
    return fail(ErrorCode::malformed, "github: create installation token: bad expires_at");
  }
  Secret token(json["token"].get<std::string>());
  cache_.insert_or_assign(std::string(installation_id), Cached{token, *expires});
  return token;
}

}  // namespace forgehand::github
