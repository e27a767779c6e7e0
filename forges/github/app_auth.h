#pragma once
// GitHub App authentication (docs.github.com: "Generating a JSON Web Token (JWT) for a GitHub
// App", "Generating an installation access token for a GitHub App"): an RS256 JWT proves the App,
// and buys hour-long installation tokens, cached and refreshed five minutes before they expire.
// AppJwtSigner is immutable; InstallationTokens is thread-safe.

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "forgehand/clock.h"
#include "forgehand/error.h"
#include "util/api_caller.h"
#include "util/secret.h"

namespace forgehand::github {

class AppJwtSigner {
 public:
  // `private_key_pem` is the App's private key (PKCS#1 or PKCS#8 PEM); `issuer` its Client ID
  // (GitHub's recommendation) or App ID. Errors: `config` when the key does not load.
  static Result<AppJwtSigner> create(const Secret& private_key_pem, std::string issuer);

  // A JWT with iat 60 s in the past (clock drift) and exp 9 minutes ahead (GitHub's limit is 10).
  Result<std::string> sign(TimePoint now) const;

 private:
  struct KeyDeleter {
    void operator()(void* key) const;
  };
  AppJwtSigner(std::shared_ptr<void> key, std::string issuer)
      : key_(std::move(key)), issuer_(std::move(issuer)) {}

  std::shared_ptr<void> key_;  // EVP_PKEY, kept opaque so this header needs no OpenSSL
  std::string issuer_;
};

class InstallationTokens {
 public:
  InstallationTokens(const ApiCaller& api, std::string api_url, AppJwtSigner signer,
                     const Clock& clock);

  // The cached token for the installation, fetched anew when missing or within five minutes of
  // its expiry. Errors come from the token request (e.g. 404 for an uninstalled App).
  Result<Secret> token(std::string_view installation_id);

 private:
  struct Cached {
    Secret token;
    TimePoint expires_at;
  };
  const ApiCaller& api_;
  std::string api_url_;
  AppJwtSigner signer_;
  const Clock& clock_;
  std::mutex mutex_;
  std::map<std::string, Cached, std::less<>> cache_;
};

// "2016-07-11T22:14:10Z" → a time point; nullopt for anything else.
std::optional<TimePoint> parse_iso8601_utc(std::string_view text);

}  // namespace forgehand::github
