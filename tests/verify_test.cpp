#include "server/verify.h"

#include <doctest/doctest.h>

#include "support/fixtures.h"

using namespace forgehand;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view kSecret = "It's a Secret to Everybody";

WebhookSecrets secret_only() {
  WebhookSecrets secrets;
  secrets.secret = Secret(std::string(kSecret));
  return secrets;
}

struct Case {
  ForgeKind kind;
  const char* fixture;
  const char* signature_header;  // the header that must carry the signature
};

const Case kCases[] = {
    {ForgeKind::github, "github/issue_comment.created.issue", "x-hub-signature-256"},
    {ForgeKind::gitlab, "gitlab/note_hook.merge_request", "x-gitlab-token"},
    {ForgeKind::gitea, "gitea/issue_comment.created.on_pr.legacy", "x-gitea-signature"},
    {ForgeKind::forgejo, "forgejo/pull_request.closed.merged", "x-forgejo-signature"},
};

Result<void> verify(ForgeKind kind, const WebhookSecrets& secrets, const HeaderMap& headers,
                    std::string_view body) {
  return verify_webhook(kind, secrets, headers, body, testing::ManualClock().now());
}

}  // namespace

TEST_CASE("each forge's own signature verifies a real payload") {
  for (const Case& c : kCases) {
    CAPTURE(c.fixture);
    auto fixture = testing::load_fixture(c.fixture);
    testing::sign(c.kind, kSecret, fixture.body, fixture.headers);
    CHECK(verify(c.kind, secret_only(), fixture.headers, fixture.body).has_value());
  }
}

TEST_CASE("a wrong, empty or missing signature is rejected on every forge") {
  for (const Case& c : kCases) {
    CAPTURE(c.fixture);
    auto fixture = testing::load_fixture(c.fixture);

    HeaderMap wrong = fixture.headers;
    testing::sign(c.kind, "another secret", fixture.body, wrong);
    auto wrong_result = verify(c.kind, secret_only(), wrong, fixture.body);
    REQUIRE_FALSE(wrong_result.has_value());
    CHECK(wrong_result.error().code == ErrorCode::unauthorized);

    HeaderMap tampered = fixture.headers;
    testing::sign(c.kind, kSecret, fixture.body, tampered);
    if (c.kind != ForgeKind::gitlab) {  // GitLab's token does not cover the body
      CHECK_FALSE(verify(c.kind, secret_only(), tampered, fixture.body + " ").has_value());
    }

    HeaderMap empty = fixture.headers;
    testing::sign(c.kind, kSecret, fixture.body, empty);
    empty[c.signature_header] = "";
    if (c.kind == ForgeKind::forgejo) empty["x-gitea-signature"] = "";
    auto empty_result = verify(c.kind, secret_only(), empty, fixture.body);
    REQUIRE_FALSE(empty_result.has_value());
    CHECK(empty_result.error().message.find("missing or empty") != std::string::npos);

    auto missing_result = verify(c.kind, secret_only(), fixture.headers, fixture.body);
    CHECK_FALSE(missing_result.has_value());
  }
}

TEST_CASE("the instance's kind decides the scheme, never the headers it brings") {
  // Gitea sends X-Hub-Signature-256 too; a GitHub instance must still accept only its own header,
  // and a Gitea instance must not be satisfied by the GitHub-style header alone.
  auto fixture = testing::load_fixture("gitea/pull_request.closed.merged");
  testing::sign(ForgeKind::gitea, kSecret, fixture.body, fixture.headers);
  fixture.headers.erase("x-gitea-signature");
  CHECK_FALSE(verify(ForgeKind::gitea, secret_only(), fixture.headers, fixture.body).has_value());
  CHECK(verify(ForgeKind::github, secret_only(), fixture.headers, fixture.body).has_value());
}

TEST_CASE("GitHub signatures need the sha256= prefix and a full digest") {
  auto fixture = testing::load_fixture("github/issue_comment.created.issue");
  testing::sign(ForgeKind::github, kSecret, fixture.body, fixture.headers);
  std::string good = fixture.headers["x-hub-signature-256"];
  fixture.headers["x-hub-signature-256"] = good.substr(7);
  CHECK_FALSE(verify(ForgeKind::github, secret_only(), fixture.headers, fixture.body));
  fixture.headers["x-hub-signature-256"] = good.substr(0, good.size() - 2);
  CHECK_FALSE(verify(ForgeKind::github, secret_only(), fixture.headers, fixture.body));
  fixture.headers["x-hub-signature-256"] = "sha256=" + std::string(64, 'z');
  CHECK_FALSE(verify(ForgeKind::github, secret_only(), fixture.headers, fixture.body));
}

TEST_CASE("Forgejo releases that send only Gitea's signature header still verify") {
  auto fixture = testing::load_fixture("forgejo/pull_request.closed.unmerged");
  testing::sign(ForgeKind::gitea, kSecret, fixture.body, fixture.headers);
  REQUIRE(fixture.headers.count("x-forgejo-signature") == 0);
  CHECK(verify(ForgeKind::forgejo, secret_only(), fixture.headers, fixture.body).has_value());
}

TEST_CASE("GitLab signing tokens: Standard Webhooks signature within five minutes") {
  testing::ManualClock clock;
  auto now_s = std::chrono::duration_cast<std::chrono::seconds>(clock.now().time_since_epoch());
  auto fixture = testing::load_fixture("gitlab/pipeline_hook.mr_pipeline");
  WebhookSecrets secrets;
  secrets.signing_key = Secret("raw-signing-key-bytes");

  HeaderMap headers = fixture.headers;
  testing::sign_gitlab_standard("raw-signing-key-bytes", "msg_1", now_s.count(), fixture.body,
                                headers);
  CHECK(verify_webhook(ForgeKind::gitlab, secrets, headers, fixture.body, clock.now()));

  SUBCASE("stale or future timestamps are replays") {
    HeaderMap stale = fixture.headers;
    testing::sign_gitlab_standard("raw-signing-key-bytes", "msg_1", now_s.count() - 301,
                                  fixture.body, stale);
    auto result = verify_webhook(ForgeKind::gitlab, secrets, stale, fixture.body, clock.now());
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().message.find("5 minutes") != std::string::npos);
    HeaderMap future = fixture.headers;
    testing::sign_gitlab_standard("raw-signing-key-bytes", "msg_1", now_s.count() + 301,
                                  fixture.body, future);
    CHECK_FALSE(verify_webhook(ForgeKind::gitlab, secrets, future, fixture.body, clock.now()));
    HeaderMap edge = fixture.headers;
    testing::sign_gitlab_standard("raw-signing-key-bytes", "msg_1", now_s.count() - 299,
                                  fixture.body, edge);
    CHECK(verify_webhook(ForgeKind::gitlab, secrets, edge, fixture.body, clock.now()));
  }
  SUBCASE("any of several signatures may match (key rotation)") {
    HeaderMap rotated = headers;
    rotated["webhook-signature"] = "v1,AAAA v1a,ignored " + headers["webhook-signature"];
    CHECK(verify_webhook(ForgeKind::gitlab, secrets, rotated, fixture.body, clock.now()));
  }
  SUBCASE("the id and timestamp are signed too") {
    HeaderMap other_id = headers;
    other_id["webhook-id"] = "msg_2";
    CHECK_FALSE(verify_webhook(ForgeKind::gitlab, secrets, other_id, fixture.body, clock.now()));
  }
  SUBCASE("missing or empty signing headers fail") {
    HeaderMap missing = headers;
    missing.erase("webhook-signature");
    CHECK_FALSE(verify_webhook(ForgeKind::gitlab, secrets, missing, fixture.body, clock.now()));
    HeaderMap empty = headers;
    empty["webhook-timestamp"] = "";
    CHECK_FALSE(verify_webhook(ForgeKind::gitlab, secrets, empty, fixture.body, clock.now()));
    HeaderMap junk = headers;
    junk["webhook-timestamp"] = "12abc";
    CHECK_FALSE(verify_webhook(ForgeKind::gitlab, secrets, junk, fixture.body, clock.now()));
  }
  SUBCASE("with both a token and a signing key, both must check out") {
    WebhookSecrets both = secrets;
    both.secret = Secret("plain-token");
    CHECK_FALSE(verify_webhook(ForgeKind::gitlab, both, headers, fixture.body, clock.now()));
    HeaderMap with_token = headers;
    with_token["x-gitlab-token"] = "plain-token";
    CHECK(verify_webhook(ForgeKind::gitlab, both, with_token, fixture.body, clock.now()));
  }
}

TEST_CASE("insecure instances accept unsigned deliveries") {
  WebhookSecrets insecure;
  insecure.insecure_no_secret = true;
  auto fixture = testing::load_fixture("github/issue_comment.created.issue");
  CHECK(verify(ForgeKind::github, insecure, fixture.headers, fixture.body).has_value());
}
