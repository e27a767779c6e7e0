#include "util/secret.h"

#include <doctest/doctest.h>
#include <stdlib.h>

#include <fstream>

#include "support/fixtures.h"

using namespace forgehand;

TEST_CASE("secret references come from the environment or a file") {
  setenv("FORGEHAND_TEST_SECRET", "s3cr3t", 1);
  auto from_env = resolve_secret("env:FORGEHAND_TEST_SECRET");
  REQUIRE(from_env.has_value());
  CHECK(from_env->reveal() == "s3cr3t");

  testing::TempDir dir;
  std::ofstream(dir.file("secret")) << "from-file\n";
  auto from_file = resolve_secret("file:" + dir.file("secret"));
  REQUIRE(from_file.has_value());
  CHECK(from_file->reveal() == "from-file");
}

TEST_CASE("unresolvable references fail without revealing anything") {
  unsetenv("FORGEHAND_TEST_MISSING");
  auto missing = resolve_secret("env:FORGEHAND_TEST_MISSING");
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().code == ErrorCode::config);
  CHECK(missing.error().message.find("FORGEHAND_TEST_MISSING") != std::string::npos);

  CHECK_FALSE(resolve_secret("file:/nonexistent/forgehand/secret").has_value());

  testing::TempDir dir;
  std::ofstream(dir.file("empty")) << "\n";
  auto empty = resolve_secret("file:" + dir.file("empty"));
  REQUIRE_FALSE(empty.has_value());
  CHECK(empty.error().message.find("is empty") != std::string::npos);

  auto inline_value = resolve_secret("hunter2");
  REQUIRE_FALSE(inline_value.has_value());
  CHECK(inline_value.error().message.find("hunter2") == std::string::npos);
}

TEST_CASE("only env: and file: with a name are references") {
  CHECK(is_secret_reference("env:X"));
  CHECK(is_secret_reference("file:/x"));
  CHECK_FALSE(is_secret_reference("env:"));
  CHECK_FALSE(is_secret_reference("plain-secret"));
}
