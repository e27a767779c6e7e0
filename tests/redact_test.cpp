#include "util/redact.h"

#include <doctest/doctest.h>

#include <fstream>
#include <string>

#include "forges/common/comment_text.h"
#include "support/fixtures.h"
#include "util/log.h"
#include "util/secret.h"

namespace forgehand {
namespace {

TEST_CASE("a registered value is redacted wherever it appears, also JSON-escaped") {
  Redactor redactor;
  redactor.add("hunter2-correct-horse");
  redactor.add("line one\"quoted\"-secret");
  CHECK(redactor.redact("a hunter2-correct-horse b hunter2-correct-horse") ==
        "a [redacted] b [redacted]");
  CHECK(redactor.redact(R"({"k":"line one\"quoted\"-secret"})") == R"({"k":"[redacted]"})");
  CHECK(redactor.redact("nothing here") == "nothing here");
}

TEST_CASE("values shorter than the minimum are not registered") {
  Redactor redactor;
  redactor.add("abc");
  CHECK(redactor.redact("abc abc") == "abc abc");
}

TEST_CASE("a multi-line key is redacted whole and line by line") {
  Redactor redactor;
  std::string pem =
      "-----BEGIN RSA PRIVATE KEY-----\n"
      "MIIEowIBAAKCAQEAq1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6q7r8s9t0u1v2w3x4\n"
      "-----END RSA PRIVATE KEY-----";
  redactor.add(pem);
  CHECK(redactor.redact("line: MIIEowIBAAKCAQEAq1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6q7r8s9t0u1v2w3x4") ==
        "line: [redacted]");
}

TEST_CASE("a removed value is no longer redacted") {
  Redactor redactor;
  redactor.add("session-token-1234");
  redactor.remove("session-token-1234");
  CHECK(redactor.redact("session-token-1234") == "session-token-1234");
}

TEST_CASE("credential shapes are redacted without knowing the value") {
  struct Case {
    std::string input;
    std::string expected;
  };
  const Case cases[] = {
      {"token ghp_abcdefghijklmnopqrstuvwxyz0123456789 used", "token [redacted] used"},
      {"ghs_16C7e42F292c6912E7710c838347Ae178B4a", "[redacted]"},
      {"github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", "[redacted]"},
      {"glpat-xxxxxxxxxxxxxxxxxxxx.", "[redacted]."},
      {"key=sk-proj-abcdefghijklmnopqrstuvwxyz012345", "key=[redacted]"},
      {"sk-ant-api03-abcdefghijklmnopqrstuvwxyz", "[redacted]"},
      {"AIzaSyA1234567890abcdefghijklmnopqrstuv", "[redacted]"},
      {"AKIAIOSFODNN7EXAMPLE", "[redacted]"},
      {"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "[redacted]"},
      {"Authorization: Bearer abc.def-ghi_jkl+mno/pqr=", "Authorization: Bearer [redacted]"},
      {"authorization: token 0123456789abcdef0123", "authorization: token [redacted]"},
      {"\"Authorization\":\"Basic dXNlcjpwYXNz\"", "\"Authorization\":\"Basic [redacted]\""},
      {"https://x-access-token:s3cr3tvalue@github.com/o/r.git",
       "https://x-access-token:[redacted]@github.com/o/r.git"},
      {"jwt eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiIxMjM0NTYifQ.c2lnbmF0dXJlLWJ5dGVz end",
       "jwt [redacted] end"},
      {"-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\nafter", "[redacted]\nafter"},
      {"-----BEGIN OPENSSH PRIVATE KEY-----\ncut short", "[redacted]"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.input);
    CHECK(Redactor().redact(c.input) == c.expected);
  }
}

TEST_CASE("ordinary text that merely resembles a credential is left alone") {
  const char* texts[] = {
      "disk-usage-is-fine-here-and-there",                // "sk-" inside a word
      "sk-short",                                         // too short to be a key
      "The Bearer of bad news",                           // scheme word followed by prose
      "see https://github.com/o/r/pull/1",                // URL without user info
      "commit 0123456789abcdef0123456789abcdef01234567",  // a sha is not a secret
      "a token should be rotated every month",
  };
  for (const char* text : texts) {
    CAPTURE(text);
    CHECK(Redactor().redact(text) == text);
  }
}

TEST_CASE("resolving a secret makes log lines and outgoing comments redact it") {
  testing::TempDir dir;
  std::string path = dir.file("token");
  std::ofstream(path) << "glsecret-value-never-shown\n";
  auto secret = resolve_secret("file:" + path);
  REQUIRE(secret);

  std::string captured;
  log::set_sink([&](std::string_view line) { captured += line; });
  log::info("calling the forge", {{"detail", "sent glsecret-value-never-shown"}});
  log::set_sink({});
  CHECK(captured.find("glsecret-value-never-shown") == std::string::npos);
  CHECK(captured.find("[redacted]") != std::string::npos);

  CHECK(forges::outgoing_comment("echo glsecret-value-never-shown", 65536) == "echo [redacted]");
}

}  // namespace
}  // namespace forgehand
