// The test git server itself, driven by the git CLI: basic auth in front of clone and push,
// seeded refs served as they were made.
#include "support/git_server.h"

#include <doctest/doctest.h>

#include <algorithm>

#include "support/fixtures.h"

using namespace forgehand;

namespace {

std::string with_password(const testing::GitServer& server, std::string_view repo,
                          std::string_view password) {
  std::string url = server.url(repo);
  return "http://" + std::string(testing::GitServer::kUser) + ":" + std::string(password) + "@" +
         url.substr(7);
}

}  // namespace

TEST_CASE("git server: clone and push behind basic auth, a wrong password is a 401") {
  testing::GitServer server;
  server.create_repo("team/app");
  std::string main = server.commit("team/app", "main", {{"a.txt", "a\n"}}, "first");
  std::string pr = server.commit("team/app", "topic", {{"a.txt", "b\n"}}, "second", "main");
  server.git("team/app", {"update-ref", "refs/pull/1/head", pr});
  CHECK(server.rev_parse("team/app", "main") == main);
  CHECK(server.rev_parse("team/app", "no-such-ref").empty());

  testing::TempDir dir;
  auto listed = testing::run_command(
      {"git", "ls-remote", with_password(server, "team/app", testing::GitServer::kPassword)});
  REQUIRE_MESSAGE(listed.exit_code == 0, listed.output);
  CHECK(listed.output.find(pr + "\trefs/pull/1/head") != std::string::npos);
  CHECK(listed.output.find(main + "\trefs/heads/main") != std::string::npos);

  auto refused = testing::run_command(
      {"git", "ls-remote", with_password(server, "team/app", "wrong-password")});
  CHECK(refused.exit_code != 0);
  CHECK(server.failed_logins() == 1);

  std::string url = with_password(server, "team/app", testing::GitServer::kPassword);
  REQUIRE(testing::run_command({"git", "clone", "--quiet", url, dir.file("clone")}).exit_code == 0);
  auto pushed = testing::run_command(
      {"git", "-C", dir.file("clone"), "push", "--quiet", "origin", "HEAD:refs/heads/pushed"});
  REQUIRE_MESSAGE(pushed.exit_code == 0, pushed.output);
  CHECK(server.rev_parse("team/app", "pushed") == main);
  CHECK(server.refs("team/app") == std::vector<std::string>{"refs/heads/main", "refs/heads/pushed",
                                                            "refs/heads/topic",
                                                            "refs/pull/1/head"});

  server.stop();
  auto log = server.access_log();
  CHECK(std::count_if(log.begin(), log.end(), [](const std::string& line) {
          return line.starts_with("200 POST /git/team/app.git/git-receive-pack forgehand-bot");
        }) == 1);
}
