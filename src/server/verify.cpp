#include "server/verify.h"

#include <charconv>

#include "util/crypto.h"

namespace forgehand {

namespace {

std::string_view header(const HeaderMap& headers, std::string_view name) {
  auto it = headers.find(name);
  return it == headers.end() ? std::string_view{} : std::string_view{it->second};
}

tl::unexpected<Error> unauthorized(std::string message) {
  return fail(ErrorCode::unauthorized, std::move(message));
}

// GitHub, Gitea and Forgejo: lowercase hex HMAC-SHA256 of the raw body.
Result<void> check_hex_hmac(const Secret& secret, std::string_view header_name,
                            std::string_view presented, std::string_view prefix,
                            std::string_view body) {
  if (presented.empty()) return unauthorized(std::string(header_name) + " is missing or empty");
  if (!presented.starts_with(prefix)) {
    return unauthorized(std::string(header_name) + " must start with \"" + std::string(prefix) +
                        "\"");
  }
  auto digest = crypto::hex_decode(presented.substr(prefix.size()));
  if (!digest || digest->size() != 32) {
    return unauthorized(std::string(header_name) + " is not a hex SHA-256 digest");
  }
  if (!crypto::constant_time_equals(*digest, crypto::hmac_sha256(secret.reveal(), body))) {
    return unauthorized(std::string(header_name) + " does not match the body");
  }
  return {};
}

// GitLab signing tokens follow Standard Webhooks: `webhook-signature` holds space-separated
// `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` entries, any of which may match (key rotation).
// Source: gitlab-org/gitlab MR !230944 and the Standard Webhooks spec (standardwebhooks.com).
Result<void> check_gitlab_signature(const Secret& key, const HeaderMap& headers,
                                    std::string_view body, TimePoint now) {
  std::string_view id = header(headers, "webhook-id");
  std::string_view timestamp = header(headers, "webhook-timestamp");
  std::string_view signatures = header(headers, "webhook-signature");
  if (id.empty() || timestamp.empty() || signatures.empty()) {
    return unauthorized("webhook-id, webhook-timestamp and webhook-signature are required");
  }
  long long seconds = 0;
  auto [end, ec] = std::from_chars(timestamp.data(), timestamp.data() + timestamp.size(), seconds);
  if (ec != std::errc{} || end != timestamp.data() + timestamp.size()) {
    return unauthorized("webhook-timestamp is not a Unix time in seconds");
  }
  auto sent = TimePoint(std::chrono::seconds(seconds));
  auto skew = now > sent ? now - sent : sent - now;
  if (skew > kSignatureTolerance) {
    return unauthorized("webhook-timestamp is more than 5 minutes from now (replay or clock skew)");
  }
  std::string signed_content;
  signed_content.reserve(id.size() + timestamp.size() + body.size() + 2);
  signed_content.append(id).append(".").append(timestamp).append(".").append(body);
  std::string expected = crypto::hmac_sha256(key.reveal(), signed_content);

  bool matched = false;
  std::string_view rest = signatures;
  while (!rest.empty()) {
    auto space = rest.find(' ');
    std::string_view entry = rest.substr(0, space);
    rest = space == std::string_view::npos ? std::string_view{} : rest.substr(space + 1);
    if (!entry.starts_with("v1,")) continue;
    auto digest = crypto::base64_decode(entry.substr(3));
    // Keep comparing after a match so timing does not reveal which entry matched.
    if (digest && crypto::constant_time_equals(*digest, expected)) matched = true;
  }
  if (!matched) return unauthorized("webhook-signature does not match");
  return {};
}

Result<void> verify_gitlab(const WebhookSecrets& secrets, const HeaderMap& headers,
                           std::string_view body, TimePoint now) {
  if (secrets.secret) {
    std::string_view token = header(headers, "x-gitlab-token");
    if (token.empty()) return unauthorized("X-Gitlab-Token is missing or empty");
    if (!crypto::constant_time_equals(token, secrets.secret->reveal())) {
      return unauthorized("X-Gitlab-Token does not match");
    }
  }
  if (secrets.signing_key) return check_gitlab_signature(*secrets.signing_key, headers, body, now);
  return {};
}

}  // namespace

Result<WebhookSecrets> resolve_webhook_secrets(const InstanceConfig& instance) {
  WebhookSecrets secrets;
  secrets.insecure_no_secret = instance.insecure_no_secret;
  if (instance.webhook_secret.configured()) {
    auto secret = resolve_secret(instance.webhook_secret.reference);
    if (!secret) return tl::unexpected(secret.error().context(instance.webhook_secret.location));
    secrets.secret = std::move(*secret);
  }
  if (instance.signing_token.configured()) {
    auto token = resolve_secret(instance.signing_token.reference);
    if (!token) return tl::unexpected(token.error().context(instance.signing_token.location));
    std::string_view encoded = token->reveal();
    if (encoded.starts_with("whsec_")) encoded.remove_prefix(6);
    auto key = crypto::base64_decode(encoded);
    if (!key || key->empty()) {
      return fail(ErrorCode::config, instance.signing_token.location +
                                         ": must be GitLab's signing token, whsec_<base64>");
    }
    secrets.signing_key = Secret(std::move(*key));
  }
  if (!secrets.secret && !secrets.signing_key && !secrets.insecure_no_secret) {
    return fail(ErrorCode::config, "instance " + instance.name + " has no webhook secret");
  }
  return secrets;
}

Result<void> verify_webhook(ForgeKind kind, const WebhookSecrets& secrets, const HeaderMap& headers,
                            std::string_view body, TimePoint now) {
  if (secrets.insecure_no_secret) return {};
  if (kind != ForgeKind::gitlab && !secrets.secret) {
    return fail(ErrorCode::config, "no webhook secret is configured for this instance");
  }
  switch (kind) {
    case ForgeKind::github:
      return check_hex_hmac(*secrets.secret, "X-Hub-Signature-256",
                            header(headers, "x-hub-signature-256"), "sha256=", body);
    case ForgeKind::gitlab:
      return verify_gitlab(secrets, headers, body, now);
    case ForgeKind::gitea:
      return check_hex_hmac(*secrets.secret, "X-Gitea-Signature",
                            header(headers, "x-gitea-signature"), "", body);
    case ForgeKind::forgejo: {
      // Forgejo signs with X-Forgejo-Signature; releases before the X-Forgejo-* headers sent only
      // Gitea's set (same HMAC, same secret), so fall back to it rather than reject them.
      // Source: Forgejo services/webhook/default.go (AddDefaultHeaders).
      std::string_view forgejo = header(headers, "x-forgejo-signature");
      if (!forgejo.empty() || header(headers, "x-gitea-signature").empty()) {
        return check_hex_hmac(*secrets.secret, "X-Forgejo-Signature", forgejo, "", body);
      }
      return check_hex_hmac(*secrets.secret, "X-Gitea-Signature",
                            header(headers, "x-gitea-signature"), "", body);
    }
  }
  return fail(ErrorCode::internal, "unknown forge kind");
}

}  // namespace forgehand
