#include <doctest/doctest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <nlohmann/json.hpp>

#include "forges/github/app_auth.h"
#include "support/fake_github.h"
#include "support/fixtures.h"
#include "support/keys.h"
#include "util/crypto.h"

using namespace forgehand;
using namespace std::chrono_literals;

namespace {

std::string base64url_decode(std::string text) {
  for (char& c : text) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  while (text.size() % 4 != 0) text.push_back('=');
  return *crypto::base64_decode(text);
}

bool verify_rs256(const std::string& public_pem, const std::string& input,
                  const std::string& signature) {
  BIO* bio = BIO_new_mem_buf(public_pem.data(), static_cast<int>(public_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  bool ok = EVP_DigestVerifyInit(context, nullptr, EVP_sha256(), nullptr, key) == 1 &&
            EVP_DigestVerify(context, reinterpret_cast<const unsigned char*>(signature.data()),
                             signature.size(), reinterpret_cast<const unsigned char*>(input.data()),
                             input.size()) == 1;
  EVP_MD_CTX_free(context);
  EVP_PKEY_free(key);
  return ok;
}

}  // namespace

TEST_CASE("the App JWT is RS256 over the documented claims and verifies with the public key") {
  testing::RsaKeyPair key = testing::generate_rsa_key();
  auto signer = github::AppJwtSigner::create(Secret(key.private_pem), "Iv1.8a61f9b3a7aba766");
  REQUIRE(signer.has_value());
  testing::ManualClock clock;
  auto jwt = signer->sign(clock.now());
  REQUIRE(jwt.has_value());

  auto first_dot = jwt->find('.');
  auto second_dot = jwt->find('.', first_dot + 1);
  std::string header = base64url_decode(jwt->substr(0, first_dot));
  std::string claims = base64url_decode(jwt->substr(first_dot + 1, second_dot - first_dot - 1));
  std::string signature = base64url_decode(jwt->substr(second_dot + 1));
  CHECK(nlohmann::json::parse(header) == nlohmann::json({{"alg", "RS256"}, {"typ", "JWT"}}));
  auto now =
      std::chrono::duration_cast<std::chrono::seconds>(clock.now().time_since_epoch()).count();
  auto parsed = nlohmann::json::parse(claims);
  CHECK(parsed["iat"] == now - 60);
  CHECK(parsed["exp"] == now + 540);
  CHECK(parsed["exp"].get<long long>() - now <= 600);
  CHECK(parsed["iss"] == "Iv1.8a61f9b3a7aba766");
  CHECK(verify_rs256(key.public_pem, jwt->substr(0, second_dot), signature));
  CHECK_FALSE(
      verify_rs256(testing::generate_rsa_key().public_pem, jwt->substr(0, second_dot), signature));
  CHECK(jwt->find('=') == std::string::npos);
}

TEST_CASE("keys that are not RSA private keys are configuration errors") {
  auto garbage = github::AppJwtSigner::create(Secret("-----BEGIN NONSENSE-----"), "1");
  REQUIRE_FALSE(garbage.has_value());
  CHECK(garbage.error().code == ErrorCode::config);
  CHECK(garbage.error().message.find("BEGIN") == std::string::npos);  // never echo the key
}

TEST_CASE("installation tokens are fetched once, cached, and refreshed 5 minutes early") {
  testing::FakeGithub github;
  testing::ManualClock clock;
  github.set_now(clock.now());
  HttplibClient http;
  ApiCaller api(http, clock, real_sleeper(), "github");
  testing::RsaKeyPair key = testing::generate_rsa_key();
  github::InstallationTokens tokens(
      api, github.url(), *github::AppJwtSigner::create(Secret(key.private_pem), "42"), clock);

  auto first = tokens.token("7");
  REQUIRE_MESSAGE(first.has_value(), first.error().message);
  CHECK(first->reveal() == "ghs_token1");
  CHECK(tokens.token("7")->reveal() == "ghs_token1");
  auto requests = github.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].method == "POST");
  CHECK(requests[0].path == "/app/installations/7/access_tokens");
  CHECK(requests[0].header("Authorization").starts_with("Bearer ey"));
  CHECK(requests[0].header("X-GitHub-Api-Version") == "2022-11-28");
  CHECK(requests[0].header("Accept") == "application/vnd.github+json");
  CHECK(requests[0].header("User-Agent") == "forgehand");

  clock.advance(54min);
  CHECK(tokens.token("7")->reveal() == "ghs_token1");  // 6 minutes left: still good
  clock.advance(1min + 1s);
  CHECK(tokens.token("7")->reveal() == "ghs_token2");  // under 5 minutes left: refreshed
  CHECK(tokens.token("8")->reveal() == "ghs_token3");  // each installation has its own
  CHECK(github.requests().size() == 3);

  auto missing = tokens.token("404");
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().code == ErrorCode::not_found);
  CHECK(missing.error().message == "github: create installation token: HTTP 404: Not Found");
}

TEST_CASE("ISO 8601 UTC timestamps") {
  auto parsed = github::parse_iso8601_utc("2016-07-11T22:14:10Z");
  REQUIRE(parsed.has_value());
  CHECK(std::chrono::system_clock::to_time_t(*parsed) == 1468275250);
  CHECK_FALSE(github::parse_iso8601_utc("2016-07-11 22:14:10").has_value());
  CHECK_FALSE(github::parse_iso8601_utc("2016-07-11T22:14:10+02:00").has_value());
}
