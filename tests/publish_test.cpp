// Publishing against a real git server: what is refused before anything leaves the machine
// (protected paths, size, secrets, branches), and what a successful push leaves on the remote.
#include "runner/publish.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "runner/workspace.h"
#include "support/fixtures.h"
#include "support/git_server.h"

using namespace forgehand;
using namespace forgehand::runner;
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kRepo = "octo/widgets";

struct PublishFixture {
  testing::GitServer server;
  testing::TempDir data;
  std::string main_sha;
  std::unique_ptr<Workspace> workspace;
  Checkout checkout;

  PublishFixture() {
    server.create_repo(kRepo);
    main_sha = server.commit(kRepo, "main",
                             {{"README.md", "widgets\n"},
                              {".gitignore", "build/\n"},
                              {"src/widget.py", "def widget():\n    return 1\n"},
                              {"docs/old.md", "old\n"},
                              {".github/workflows/ci.yml", "on: push\n"}},
                             "initial");
    auto opened = Workspace::open({data.file("workspaces")});
    REQUIRE(opened.has_value());
    workspace = std::move(*opened);
    auto prepared = workspace->prepare({"gitea", std::string(kRepo), server.credentials(kRepo)},
                                       {"s1", "fix widget", {"main"}, ""});
    REQUIRE_MESSAGE(prepared.has_value(), prepared.error().message);
    checkout = std::move(*prepared);
  }

  void write(const std::string& path, const std::string& content) const {
    fs::path file = fs::path(checkout.path) / path;
    fs::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary | std::ios::trunc) << content;
  }

  void remove(const std::string& path) const { fs::remove(fs::path(checkout.path) / path); }

  PublishRequest request() const {
    PublishRequest request;
    request.checkout_path = checkout.path;
    request.base_objects = checkout.base_objects;
    request.branch = checkout.branch;
    request.base_sha = checkout.base_sha;
    request.remote = server.credentials(kRepo);
    request.commit.author_name = "forgehand[bot]";
    request.commit.author_email = "forgehand@example.com";
    request.commit.message = "Fix widget\n\nwidget() returned the wrong value.\n";
    request.commit.session_id = "s1";
    request.commit.models = {"openai/gpt-4o", "anthropic/claude-sonnet-4-5", "openai/gpt-4o"};
    request.commit.requested_by = "alice";
    request.policy.default_branch = "main";
    return request;
  }

  Result<ChangeSet> inspect(const PublishPolicy& policy = {}) const {
    return inspect_changes(checkout.path, checkout.base_objects, checkout.base_sha, policy);
  }
};

}  // namespace

TEST_CASE("publish: path patterns") {
  CHECK(path_matches(".github/workflows/**", ".github/workflows/ci.yml"));
  CHECK(path_matches(".github/workflows/**", ".github/workflows/nested/x.yaml"));
  CHECK(path_matches(".github/workflows/**", ".GitHub/Workflows/CI.yml"));
  CHECK_FALSE(path_matches(".github/workflows/**", ".github/ci.yml"));
  CHECK_FALSE(path_matches(".github/workflows/**", "docs/.github/workflows/ci.yml"));
  CHECK(path_matches("AGENTS.md", "AGENTS.md"));
  CHECK(path_matches("AGENTS.md", "packages/core/AGENTS.md"));
  CHECK(path_matches("AGENTS.md", "agents.md"));
  CHECK_FALSE(path_matches("AGENTS.md", "AGENTS.md.bak"));
  CHECK(path_matches("*.tf", "infra/main.tf"));
  CHECK(path_matches("deploy/*.yml", "deploy/prod.yml"));
  CHECK_FALSE(path_matches("deploy/*.yml", "deploy/eu/prod.yml"));
  CHECK(path_matches("deploy/**/*.yml", "deploy/prod.yml"));
  CHECK(path_matches("deploy/**/*.yml", "deploy/eu/west/prod.yml"));
  CHECK(path_matches("**/secrets/**", "a/b/secrets/key.pem"));
  CHECK(path_matches("src/?.py", "src/a.py"));
  CHECK_FALSE(path_matches("src/?.py", "src/ab.py"));
}

TEST_CASE("publish: pushes one commit by the bot with the trailers, and reports the diff") {
  PublishFixture f;
  f.write("src/widget.py", "def widget():\n    return 2\n");
  f.write("docs/new.md", "new\n");
  f.remove("docs/old.md");
  PublishRequest request = f.request();
  request.commit.message =
      "Fix widget\n\nSeen with ghp_abcdefghijklmnopqrstuvwxyz0123456789 set.\n";

  auto result = publish(request);
  REQUIRE_MESSAGE(result.has_value(), result.error().message);
  CHECK(result->outcome == PublishOutcome::pushed);
  CHECK(f.server.rev_parse(kRepo, "refs/heads/" + f.checkout.branch) == result->sha);
  CHECK(f.server.rev_parse(kRepo, "refs/heads/main") == f.main_sha);

  std::string log = f.server.git(
      kRepo, {"log", "-1", "--format=%an <%ae>%n%P%n%B", "refs/heads/" + f.checkout.branch});
  CHECK(
      log.starts_with("forgehand[bot] <forgehand@example.com>\n" + f.main_sha + "\nFix widget\n"));
  CHECK(log.find("Forgehand-Session: s1\n") != std::string::npos);
  CHECK(log.find("Model: openai/gpt-4o\nModel: anthropic/claude-sonnet-4-5\n") !=
        std::string::npos);
  CHECK(log.find("Model: openai/gpt-4o\n", log.find("claude")) == std::string::npos);
  CHECK(log.find("Requested-by: alice\n") != std::string::npos);
  CHECK(log.find("ghp_") == std::string::npos);
  std::string trailers = f.server.git(
      kRepo, {"log", "-1", "--format=%(trailers:key=Model,valueonly)", f.checkout.branch});
  CHECK(trailers.find("openai/gpt-4o\nanthropic/claude-sonnet-4-5\n") == 0);

  const ChangeSet& changes = result->changes;
  REQUIRE(changes.files.size() == 3);
  CHECK(changes.files[0].path == "docs/new.md");
  CHECK(changes.files[0].status == 'A');
  CHECK(changes.files[1].path == "docs/old.md");
  CHECK(changes.files[1].status == 'D');
  CHECK(changes.files[2].path == "src/widget.py");
  CHECK(changes.files[2].added_lines == 1);
  CHECK(changes.files[2].deleted_lines == 1);
  CHECK(changes.added_lines == 2);
  CHECK(changes.deleted_lines == 2);
  CHECK(changes.stat.find("3 files changed, 2 insertions(+), 2 deletions(-)") != std::string::npos);
  CHECK(changes.patch.find("+    return 2\n") != std::string::npos);
  CHECK(changes.patch.find("diff --git a/docs/old.md b/docs/old.md") != std::string::npos);

  // The checkout's branch now names the pushed commit.
  auto head = testing::run_command({"git", "-C", f.checkout.path, "rev-parse", "HEAD"});
  CHECK(head.output == result->sha + "\n");
}

TEST_CASE("publish: an empty diff is nothing to publish, and nothing is pushed") {
  PublishFixture f;
  f.write("build/out.o", "ignored");
  auto result = publish(f.request());
  REQUIRE_MESSAGE(result.has_value(), result.error().message);
  CHECK(result->outcome == PublishOutcome::nothing_to_publish);
  CHECK(result->sha.empty());
  CHECK(result->changes.empty());
  CHECK(f.server.refs(kRepo) == std::vector<std::string>{"refs/heads/main"});
}

TEST_CASE("publish: changes to each protected path are refused with the list") {
  PublishFixture f;
  PublishPolicy policy;
  policy.protected_paths = {"deploy/**"};
  for (std::string path :
       {".github/workflows/release.yml", ".gitlab-ci.yml", ".gitea/workflows/test.yaml",
        ".forgejo/workflows/test.yaml", ".forgehand.yml", ".forgehand/instructions.md", "AGENTS.md",
        "CLAUDE.md", "services/api/AGENTS.md", "deploy/prod.tf"}) {
    CAPTURE(path);
    f.write(path, "changed\n");
    auto refused = f.inspect(policy);
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error().code == ErrorCode::forbidden);
    CHECK(refused.error().message ==
          "publish refused: changes protected paths (policy must allow them): " + path);
    f.remove(path);
    CHECK(f.inspect(policy).has_value());
  }

  f.remove(".github/workflows/ci.yml");  // deleting CI is changing it
  f.write("AGENTS.md", "obey\n");
  f.write("src/widget.py", "fine\n");
  auto both = publish(f.request());
  REQUIRE_FALSE(both.has_value());
  CHECK(both.error().code == ErrorCode::forbidden);
  CHECK(both.error().message.find(".github/workflows/ci.yml, AGENTS.md") != std::string::npos);
  CHECK(f.server.refs(kRepo) == std::vector<std::string>{"refs/heads/main"});
}

TEST_CASE("publish: too many files or lines are refused") {
  PublishFixture f;
  PublishPolicy policy;
  policy.max_changed_files = 2;
  policy.max_changed_lines = 5;
  f.write("a.txt", "a\n");
  f.write("b.txt", "b\n");
  CHECK(f.inspect(policy).has_value());
  f.write("c.txt", "c\n");
  auto files = f.inspect(policy);
  REQUIRE_FALSE(files.has_value());
  CHECK(files.error().code == ErrorCode::payload_too_large);
  CHECK(files.error().message == "publish refused: 3 files changed, over the limit of 2");

  f.remove("b.txt");
  f.remove("c.txt");
  f.write("a.txt", "1\n2\n3\n4\n5\n6\n");
  auto lines = f.inspect(policy);
  REQUIRE_FALSE(lines.has_value());
  CHECK(lines.error().code == ErrorCode::payload_too_large);
  CHECK(lines.error().message == "publish refused: 6 lines changed, over the limit of 5");
}

TEST_CASE("publish: added secrets are refused as file:line, never with the value") {
  PublishFixture f;
  Redactor redactor;
  redactor.add("planted-secret-value-42");
  std::string shaped = "ghp_" + std::string(36, 'Z');
  f.write("config/app.ini", "[server]\npassword = planted-secret-value-42\n");
  f.write("src/widget.py", "def widget():\n    return 1\ntoken = '" + shaped + "'\n");
  f.write("docs/readme.md", "nothing to see\n");
  auto refused =
      inspect_changes(f.checkout.path, f.checkout.base_objects, f.checkout.base_sha, {}, redactor);
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().code == ErrorCode::forbidden);
  CHECK(refused.error().message ==
        "publish refused: added lines look like secrets (a configured secret or a token shape): "
        "config/app.ini:2, src/widget.py:3");
  CHECK(refused.error().message.find("planted") == std::string::npos);

  auto pushed = publish(f.request(), redactor);
  REQUIRE_FALSE(pushed.has_value());
  CHECK(pushed.error().code == ErrorCode::forbidden);
  CHECK(f.server.refs(kRepo) == std::vector<std::string>{"refs/heads/main"});

  // A secret only removed is no longer leaving.
  f.write("config/app.ini", "[server]\n");
  f.write("src/widget.py", "def widget():\n    return 2\n");
  CHECK(inspect_changes(f.checkout.path, f.checkout.base_objects, f.checkout.base_sha, {}, redactor)
            .has_value());
}

TEST_CASE("publish: never to the default branch, a protected branch, or outside forgehand/") {
  PublishFixture f;
  f.write("src/widget.py", "changed\n");
  auto refused = [&](PublishRequest request) {
    auto result = publish(request);
    REQUIRE_FALSE(result.has_value());
    return result.error();
  };
  PublishRequest to_main = f.request();
  to_main.branch = "main";
  CHECK(refused(to_main).code == ErrorCode::invalid_argument);

  PublishRequest to_default = f.request();
  to_default.policy.default_branch = f.checkout.branch;
  Error error = refused(to_default);
  CHECK(error.code == ErrorCode::forbidden);
  CHECK(error.message.find("is the default branch") != std::string::npos);

  PublishRequest to_protected = f.request();
  to_protected.policy.protected_branches = {"release/*", "forgehand/s1-*"};
  error = refused(to_protected);
  CHECK(error.code == ErrorCode::forbidden);
  CHECK(error.message.find("protected branch (forgehand/s1-*)") != std::string::npos);
  CHECK(f.server.refs(kRepo) == std::vector<std::string>{"refs/heads/main"});
}

TEST_CASE("publish: a ref update the server rejects is an error with its reason") {
  PublishFixture f;
  f.server.install_hook(kRepo, "pre-receive",
                        "#!/bin/sh\necho 'branch names must start with feature/' >&2\nexit 1\n");
  f.write("src/widget.py", "changed\n");
  auto result = publish(f.request());
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().code == ErrorCode::forbidden);
  CHECK(result.error().message.find("the server refused it: pre-receive hook declined") !=
        std::string::npos);
  CHECK(result.error().message.find("branch names must start with feature/") != std::string::npos);
  CHECK(f.server.refs(kRepo) == std::vector<std::string>{"refs/heads/main"});
}

TEST_CASE("publish: an existing remote branch is not overwritten") {
  PublishFixture f;
  std::string theirs =
      f.server.commit(kRepo, f.checkout.branch, {{"theirs.txt", "x\n"}}, "someone else's", "main");
  f.write("src/widget.py", "changed\n");
  auto result = publish(f.request());
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().code == ErrorCode::conflict);
  CHECK(result.error().message.find("already exists on the remote") != std::string::npos);
  CHECK(f.server.rev_parse(kRepo, "refs/heads/" + f.checkout.branch) == theirs);
}

TEST_CASE("publish: refused credentials end in unauthorized after bounded attempts") {
  PublishFixture f;
  f.write("src/widget.py", "changed\n");
  PublishRequest request = f.request();
  request.remote = f.server.credentials(kRepo, "not-the-token-456");
  request.max_auth_attempts = 2;
  int before = f.server.failed_logins();
  auto result = publish(request);
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().code == ErrorCode::unauthorized);
  CHECK(result.error().message.find("(2 attempts)") != std::string::npos);
  CHECK(f.server.failed_logins() - before == 2);
}

TEST_CASE("publish: the checkout's own git config and index cannot steer the push") {
  PublishFixture f;
  fs::path git_dir = fs::path(f.checkout.path) / ".git";
  // What an agent could write: the push rewritten to a server it controls, and the work tree
  // moved somewhere else.
  std::string server = f.server.url(kRepo);
  server = server.substr(0, server.find("/git/") + 1);
  std::ofstream(git_dir / "config", std::ios::app)
      << "[url \"http://127.0.0.1:9/\"]\n\tinsteadOf = " << server
      << "\n[core]\n\tworktree = /etc\n";
  std::ofstream(git_dir / "index", std::ios::trunc) << "garbage";
  f.write("src/widget.py", "changed\n");
  auto result = publish(f.request());
  REQUIRE_MESSAGE(result.has_value(), result.error().message);
  CHECK(result->changes.files.size() == 1);
  CHECK(f.server.rev_parse(kRepo, "refs/heads/" + f.checkout.branch) == result->sha);
}

TEST_CASE("publish: the checkout's objects are never read, so rewriting them hides nothing") {
  PublishFixture f;
  // An agent changes a workflow, then rewrites the checkout's object store so that the base
  // commit's id names a commit whose tree already has that change: its own commit's object file
  // under the base's name, with the packs that held the real base removed.
  f.write(".github/workflows/ci.yml", "on: pull_request_target\n");
  std::string git_dir = (fs::path(f.checkout.path) / ".git").string();
  auto git = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {"git",
                                     "-C",
                                     f.checkout.path,
                                     "-c",
                                     "user.name=agent",
                                     "-c",
                                     "user.email=agent@example.com"};
    argv.insert(argv.end(), args.begin(), args.end());
    testing::CommandResult result = testing::run_command(argv);
    REQUIRE_MESSAGE(result.exit_code == 0, result.output);
    return result.output.substr(0, result.output.find('\n'));
  };
  git({"commit", "-q", "-am", "base"});
  std::string forged = git({"rev-parse", "HEAD"});
  fs::path objects = fs::path(git_dir) / "objects";
  auto loose = [&](const std::string& sha) { return objects / sha.substr(0, 2) / sha.substr(2); };
  fs::create_directories(loose(f.checkout.base_sha).parent_path());
  fs::rename(loose(forged), loose(f.checkout.base_sha));
  for (const auto& pack : fs::directory_iterator(objects / "pack")) fs::remove(pack.path());

  auto refused = f.inspect();
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().code == ErrorCode::forbidden);
  CHECK(refused.error().message.find(".github/workflows/ci.yml") != std::string::npos);
}

TEST_CASE("publish: a checkout whose objects are gone still publishes exactly its changes") {
  PublishFixture f;
  fs::path objects = fs::path(f.checkout.path) / ".git" / "objects";
  fs::remove_all(objects);
  fs::create_directories(objects / "pack");
  f.write("src/widget.py", "def widget():\n    return 2\n");
  auto result = publish(f.request());
  REQUIRE_MESSAGE(result.has_value(), result.error().message);
  REQUIRE(result->changes.files.size() == 1);
  CHECK(result->changes.files[0].path == "src/widget.py");
  CHECK(f.server.git(kRepo, {"show", result->sha + ":src/widget.py"}) ==
        "def widget():\n    return 2\n");
  CHECK(f.server.rev_parse(kRepo, result->sha + "^") == f.main_sha);
}

TEST_CASE("publish: after a push the token is in no file under the data directory") {
  PublishFixture f;
  f.write("src/widget.py", "changed\n");
  auto result = publish(f.request());
  REQUIRE_MESSAGE(result.has_value(), result.error().message);
  for (const auto& entry : fs::recursive_directory_iterator(f.data.path())) {
    if (!entry.is_regular_file() || entry.is_symlink()) continue;
    CAPTURE(entry.path().string());
    CHECK(testing::read_file(entry.path()).find(testing::GitServer::kPassword) ==
          std::string::npos);
  }
}

TEST_CASE("publish: works on a checkout the sandbox handed to its own uid") {
  if (::geteuid() != 0) return;  // only root can hand a tree over
  PublishFixture f;
  f.write("src/widget.py", "changed by uid 65534\n");
  for (const auto& entry : fs::recursive_directory_iterator(f.checkout.path)) {
    REQUIRE(::lchown(entry.path().c_str(), 65534, 65534) == 0);
  }
  REQUIRE(::lchown(f.checkout.path.c_str(), 65534, 65534) == 0);
  auto result = publish(f.request());
  REQUIRE_MESSAGE(result.has_value(), result.error().message);
  CHECK(result->outcome == PublishOutcome::pushed);
}
