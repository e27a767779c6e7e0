// The workspace against a real git server (lighttpd + git http-backend, basic auth, loopback):
// mirrors fetched with only the refs a job names, per-job checkouts on forgehand branches,
// credentials that never land on disk, locking, and eviction by age and size.
#include "runner/workspace.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <httplib.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>

#include "runner/index_pack.h"
#include "support/fixtures.h"
#include "support/git_server.h"

using namespace forgehand;
using namespace forgehand::runner;
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kRepo = "octo/widgets";

struct WorkspaceFixture {
  testing::GitServer server;
  testing::TempDir data;
  testing::ManualClock clock;
  std::string main_sha;
  std::unique_ptr<Workspace> workspace;

  explicit WorkspaceFixture(std::chrono::milliseconds request_delay = {}) : server(request_delay) {
    server.create_repo(kRepo);
    main_sha = server.commit(kRepo, "main",
                             {{"README.md", "widgets\n"}, {"src/widget.py", "def widget():\n"}},
                             "initial");
    workspace = open_workspace();
  }

  std::unique_ptr<Workspace> open_workspace(WorkspaceOptions options = {}) {
    options.root = data.file("workspaces");
    options.clock = &clock;
    auto opened = Workspace::open(options);
    REQUIRE_MESSAGE(opened.has_value(), opened.error().message);
    return std::move(*opened);
  }

  RepoSource source(std::string_view password = testing::GitServer::kPassword) const {
    return RepoSource{"gitea", std::string(kRepo), server.credentials(kRepo, password)};
  }

  Checkout prepare(const std::string& session, std::vector<std::string> refs = {"main"},
                   const std::string& base = "") {
    auto checkout = workspace->prepare(source(), {session, "fix the flaky test", refs, base});
    REQUIRE_MESSAGE(checkout.has_value(), checkout.error().message);
    return std::move(*checkout);
  }

  std::string mirror() const { return workspace->mirror_path("gitea", kRepo); }
};

std::string git_in(const std::string& dir, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"git", "-C", dir};
  argv.insert(argv.end(), args.begin(), args.end());
  testing::CommandResult result = testing::run_command(argv);
  REQUIRE_MESSAGE(result.exit_code == 0, result.output);
  while (!result.output.empty() && result.output.back() == '\n') result.output.pop_back();
  return result.output;
}

std::vector<std::string> mirror_refs(const std::string& mirror) {
  std::string listed = git_in(mirror, {"for-each-ref", "--format=%(refname)"});
  std::vector<std::string> refs;
  std::size_t start = 0;
  while (start < listed.size()) {
    std::size_t end = listed.find('\n', start);
    if (end == std::string::npos) end = listed.size();
    refs.push_back(listed.substr(start, end - start));
    start = end + 1;
  }
  return refs;
}

bool has_object(const std::string& repo, const std::string& sha) {
  return testing::run_command({"git", "-C", repo, "cat-file", "-e", sha + "^{commit}"}).exit_code ==
         0;
}

// Every file under `dir` whose bytes contain `needle`.
std::vector<std::string> files_containing(const fs::path& dir, std::string_view needle) {
  std::vector<std::string> found;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file() || entry.is_symlink()) continue;
    if (testing::read_file(entry.path()).find(needle) != std::string::npos) {
      found.push_back(entry.path().string());
    }
  }
  return found;
}

int count_status(const std::vector<std::string>& log, std::string_view status) {
  return static_cast<int>(std::count_if(
      log.begin(), log.end(), [&](const std::string& line) { return line.starts_with(status); }));
}

}  // namespace

TEST_CASE("workspace: branch slugs are short, lower-case and safe") {
  CHECK(branch_slug("Fix the flaky test in parser_test.cpp!") ==
        "fix-the-flaky-test-in-parser-test-cpp");
  CHECK(branch_slug("  ../../etc/passwd  ") == "etc-passwd");
  CHECK(branch_slug("¿Qué? 🙂") == "qu");
  CHECK(branch_slug("!!!") == "task");
  CHECK(branch_slug("") == "task");
  std::string slug = branch_slug(
      "please refactor the configuration loader so that it reports every error at once");
  CHECK(slug.size() <= 40);
  CHECK(slug == "please-refactor-the-configuration-loader");
  CHECK(branch_slug("please refactor the configuration loader now") ==
        "please-refactor-the-configuration-loader");
  CHECK(branch_slug(std::string(100, 'a')).size() == 40);
}

TEST_CASE("workspace: mirror paths stay under the root and tell repositories apart") {
  testing::TempDir data;
  auto workspace = Workspace::open({data.file("ws")});
  REQUIRE(workspace.has_value());
  fs::path root = fs::path(data.file("ws")) / "mirrors";
  auto inside = [&](const std::string& path) {
    fs::path relative = fs::path(path).lexically_relative(root);
    return !relative.empty() && *relative.begin() != "..";
  };
  std::string sneaky = (*workspace)->mirror_path("..", "../../etc");
  CHECK(inside(sneaky));
  CHECK(sneaky.find("/../") == std::string::npos);
  CHECK((*workspace)->mirror_path("gitlab", "group/sub/project") ==
        (root / "gitlab" / "group+sub+project.git").string());
  CHECK((*workspace)->mirror_path("gitlab", "Group/Project") ==
        (*workspace)->mirror_path("gitlab", "group/project"));
  CHECK((*workspace)->mirror_path("gitlab", "a+b/c") !=
        (*workspace)->mirror_path("gitlab", "a/b+c"));
  CHECK((*workspace)->mirror_path("github", "o/r") != (*workspace)->mirror_path("gitea", "o/r"));
  std::string long_name = (*workspace)->mirror_path("github", "o/" + std::string(300, 'x'));
  CHECK(fs::path(long_name).filename().string().size() <= 124);
  CHECK(long_name != (*workspace)->mirror_path("github", "o/" + std::string(301, 'x')));
}

TEST_CASE("workspace: clones over HTTP with basic auth and checks out a forgehand branch") {
  WorkspaceFixture f;
  Checkout checkout = f.prepare("s1");
  CHECK(checkout.branch == "forgehand/s1-fix-the-flaky-test");
  CHECK(checkout.base_sha == f.main_sha);
  CHECK(fs::path(checkout.path).is_absolute());
  CHECK(testing::read_file(fs::path(checkout.path) / "src/widget.py") == "def widget():\n");
  CHECK(git_in(checkout.path, {"symbolic-ref", "HEAD"}) ==
        "refs/heads/forgehand/s1-fix-the-flaky-test");
  CHECK(git_in(checkout.path, {"rev-parse", "HEAD"}) == f.main_sha);
  CHECK(git_in(checkout.path, {"status", "--porcelain"}).empty());
  CHECK(git_in(f.mirror(), {"rev-parse", "--is-bare-repository"}) == "true");
  // Made from the mirror's path, not a file:// URL (which makes libgit2 build a pack).
  CHECK(git_in(checkout.path, {"config", "remote.origin.url"}) == f.mirror());
  // Objects are copies: nothing in the checkout shares an inode with the mirror.
  for (const auto& entry : fs::recursive_directory_iterator(fs::path(checkout.path) / ".git")) {
    if (entry.is_regular_file()) CHECK(entry.hard_link_count() == 1);
  }
}

TEST_CASE("workspace: fetches only the refs a job names and keeps only those in the mirror") {
  WorkspaceFixture f;
  std::string other = f.server.commit(kRepo, "other", {{"other.txt", "x\n"}}, "other", "main");
  std::string pr =
      f.server.commit(kRepo, "contributor", {{"src/widget.py", "fixed\n"}}, "fix", "main");
  f.server.git(kRepo, {"update-ref", "refs/pull/1/head", pr});
  f.server.git(kRepo, {"update-ref", "-d", "refs/heads/contributor"});
  f.server.git(kRepo, {"tag", "v1", other});

  Checkout checkout = f.prepare("s1", {"refs/pull/1/head", "main"});
  CHECK(checkout.base_sha == pr);
  CHECK(testing::read_file(fs::path(checkout.path) / "src/widget.py") == "fixed\n");
  CHECK(mirror_refs(f.mirror()) == std::vector<std::string>{"refs/heads/main", "refs/pull/1/head"});
  CHECK_FALSE(has_object(f.mirror(), other));

  // The next job's refs replace the last job's (objects stay; libgit2 negotiates over every ref).
  Checkout next = f.prepare("s2", {"main"});
  CHECK(next.base_sha == f.main_sha);
  CHECK(mirror_refs(f.mirror()) == std::vector<std::string>{"refs/heads/main"});
  CHECK(has_object(f.mirror(), pr));
}

TEST_CASE("workspace: a commit id is fetched by id, a later upstream commit reaches the mirror") {
  WorkspaceFixture f;
  std::string other = f.server.commit(kRepo, "other", {{"other.txt", "x\n"}}, "other", "main");
  Checkout at_commit = f.prepare("s1", {"main", other}, other);
  CHECK(at_commit.base_sha == other);
  CHECK(fs::exists(fs::path(at_commit.path) / "other.txt"));
  CHECK(mirror_refs(f.mirror()) == std::vector<std::string>{"refs/heads/main"});

  std::string newer = f.server.commit(kRepo, "main", {{"README.md", "widgets 2\n"}}, "update");
  Checkout updated = f.prepare("s2");
  CHECK(updated.base_sha == newer);
  CHECK(testing::read_file(fs::path(updated.path) / "README.md") == "widgets 2\n");
}

TEST_CASE("workspace: git's index-pack indexes a first fetch and a thin incremental one") {
  WorkspaceFixture f;
  std::string git = find_git_program();
  REQUIRE_FALSE(git.empty());
  f.workspace = f.open_workspace({.git_program = git});
  Checkout first = f.prepare("s1");
  CHECK(first.base_sha == f.main_sha);
  CHECK(testing::read_file(fs::path(first.path) / "src/widget.py") == "def widget():\n");

  // One new commit on top of what the mirror has: the server sends a thin pack, whose delta
  // bases index-pack must take from the mirror.
  std::string body(4000, 'x');
  f.server.commit(kRepo, "main", {{"src/widget.py", "def widget():\n" + body + "\n"}}, "grow");
  std::string newer =
      f.server.commit(kRepo, "main", {{"src/widget.py", "def widget():\n" + body + "y\n"}}, "more");
  Checkout second = f.prepare("s2");
  CHECK(second.base_sha == newer);
  CHECK(testing::read_file(fs::path(second.path) / "src/widget.py") ==
        "def widget():\n" + body + "y\n");
  CHECK(testing::run_command({"git", "-C", f.mirror(), "fsck", "--no-dangling"}).exit_code == 0);
}

TEST_CASE("workspace: an index-pack that fails fails the fetch with what it said") {
  WorkspaceFixture f;
  testing::TempDir bin;
  std::string fake_git = bin.file("git");
  std::ofstream(fake_git) << "#!/bin/sh\necho 'fatal: pack has bad object at offset 12' >&2\n"
                             "exit 128\n";
  fs::permissions(fake_git, fs::perms::owner_all);
  f.workspace = f.open_workspace({.git_program = fake_git});
  auto prepared = f.workspace->prepare(f.source(), {"s1", "task", {"main"}, ""});
  REQUIRE_FALSE(prepared.has_value());
  CHECK(prepared.error().message.find(
            "git index-pack exited with 128: fatal: pack has bad object at offset 12") !=
        std::string::npos);
  CHECK_FALSE(fs::exists(fs::path(f.data.file("workspaces")) / "jobs" / "s1-task"));

  // The mirror is only a cache: the next prepare with a working git starts from it.
  f.workspace = f.open_workspace({.git_program = find_git_program()});
  CHECK(f.prepare("s2").base_sha == f.main_sha);
}

TEST_CASE("workspace: a missing ref or base commit is not_found") {
  WorkspaceFixture f;
  auto missing = f.workspace->prepare(f.source(), {"s1", "task", {"no-such-branch"}, ""});
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().code == ErrorCode::not_found);
  CHECK(missing.error().message.find("refs/heads/no-such-branch is not on the remote") !=
        std::string::npos);

  auto unknown_base = f.workspace->prepare(
      f.source(), {"s2", "task", {"main"}, "0123456789abcdef0123456789abcdef01234567"});
  REQUIRE_FALSE(unknown_base.has_value());
  CHECK(unknown_base.error().code == ErrorCode::not_found);
  CHECK_FALSE(fs::exists(fs::path(f.data.file("workspaces")) / "jobs" / "s2-task"));
}

TEST_CASE("workspace: refused credentials are offered a bounded number of times") {
  WorkspaceFixture f;
  auto checkout =
      f.workspace->prepare(f.source("wrong-password-123"), {"s1", "task", {"main"}, ""});
  REQUIRE_FALSE(checkout.has_value());
  CHECK(checkout.error().code == ErrorCode::unauthorized);
  CHECK(checkout.error().message.find("refused the credentials for forgehand-bot (3 attempts)") !=
        std::string::npos);
  CHECK(checkout.error().message.find("wrong-password-123") == std::string::npos);
  CHECK(f.server.failed_logins() == 3);
  f.server.stop();
  // One unauthenticated request, then one per offer.
  CHECK(count_status(f.server.access_log(), "401") == 4);
  CHECK(count_status(f.server.access_log(), "200") == 0);
}

TEST_CASE("workspace: the token is in no file under the data directory") {
  WorkspaceFixture f;
  f.server.commit(kRepo, "contributor", {{"a.txt", "a\n"}}, "pr", "main");
  f.server.git(kRepo, {"update-ref", "refs/pull/2/head", "refs/heads/contributor"});
  Checkout checkout = f.prepare("s1", {"main", "refs/pull/2/head"});
  std::string checkout_config = testing::read_file(fs::path(checkout.path) / ".git/config");
  std::string mirror_config = testing::read_file(fs::path(f.mirror()) / "config");
  CHECK(checkout_config.find(testing::GitServer::kPassword) == std::string::npos);
  CHECK(mirror_config.find(testing::GitServer::kPassword) == std::string::npos);
  CHECK(mirror_config.find("url") == std::string::npos);  // not even the URL: nothing to rewrite
  CHECK(files_containing(f.data.path(), testing::GitServer::kPassword).empty());
  CHECK(files_containing(f.data.path(), "forgehand-bot").empty());
}

TEST_CASE("workspace: bad input is refused before anything is fetched") {
  WorkspaceFixture f;
  auto refused = [&](RepoSource source, CheckoutRequest request) {
    auto result = f.workspace->prepare(source, request);
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().code == ErrorCode::invalid_argument);
    CHECK(result.error().message.find(testing::GitServer::kPassword) == std::string::npos);
    return result.error().message;
  };
  CHECK(refused(f.source(), {"../s1", "task", {"main"}, ""}).find("session id") !=
        std::string::npos);
  CHECK(refused(f.source(), {"s1", "task", {"main..x"}, ""}).find("not a ref name") !=
        std::string::npos);
  CHECK(refused(f.source(), {"s1", "task", {}, ""}).find("no refs") != std::string::npos);
  CHECK(refused(f.source(), {"s1", "task", {"main"}, "abc"}).find("40-hex") != std::string::npos);
  for (std::string url : {"file:///etc", "/srv/git/repo.git", "ssh://git@host/r.git"}) {
    RepoSource local = f.source();
    local.credentials.clone_url = url;
    CHECK(refused(local, {"s1", "task", {"main"}, ""}).find("only http(s)") != std::string::npos);
  }
  RepoSource in_url = f.source();
  in_url.credentials.clone_url =
      "http://forgehand-bot:" + std::string(testing::GitServer::kPassword) + "@127.0.0.1/x.git";
  CHECK(refused(in_url, {"s1", "task", {"main"}, ""}).find("carries credentials") !=
        std::string::npos);
  CHECK(f.server.access_log().empty());
}

TEST_CASE("workspace: concurrent prepares of one repository take turns on its mirror") {
  // Each request is held 150 ms, so overlapping fetches would be seen by the server.
  WorkspaceFixture f(std::chrono::milliseconds(150));
  std::vector<std::thread> threads;
  std::vector<Result<Checkout>> results(3, fail(ErrorCode::internal, "not run"));
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&, i] {
      results[static_cast<std::size_t>(i)] =
          f.workspace->prepare(f.source(), {"s" + std::to_string(i), "task", {"main"}, ""});
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const auto& result : results) {
    REQUIRE_MESSAGE(result.has_value(), result.error().message);
    CHECK(result->base_sha == f.main_sha);
  }
  CHECK(f.server.overlapping_requests() == 0);
  CHECK(testing::run_command({"git", "-C", f.mirror(), "fsck", "--no-progress"}).exit_code == 0);
}

TEST_CASE("workspace: a mirror locked by another process makes prepare wait, then time out") {
  WorkspaceFixture f;
  f.prepare("s0");  // the mirror exists
  std::string lock_path = f.mirror() + ".lock";
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CLOEXEC);
  REQUIRE(fd >= 0);
  REQUIRE(::flock(fd, LOCK_EX) == 0);

  WorkspaceOptions impatient;
  impatient.lock_timeout = std::chrono::milliseconds(200);
  auto busy = f.open_workspace(impatient)->prepare(f.source(), {"s1", "task", {"main"}, ""});
  REQUIRE_FALSE(busy.has_value());
  CHECK(busy.error().code == ErrorCode::timeout);

  auto started = std::chrono::steady_clock::now();
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    ::close(fd);
  });
  auto waited = f.workspace->prepare(f.source(), {"s2", "task", {"main"}, ""});
  release.join();
  REQUIRE_MESSAGE(waited.has_value(), waited.error().message);
  CHECK(std::chrono::steady_clock::now() - started >= std::chrono::milliseconds(300));
}

TEST_CASE("workspace: a session's checkout in use is not replaced, a finished one is") {
  WorkspaceFixture f;
  std::optional<Checkout> first = f.prepare("s1");
  std::ofstream(fs::path(first->path) / "scratch.txt") << "work in progress";
  auto again = f.workspace->prepare(f.source(), {"s1", "fix the flaky test", {"main"}, ""});
  REQUIRE_FALSE(again.has_value());
  CHECK(again.error().code == ErrorCode::conflict);
  CHECK(fs::exists(fs::path(first->path) / "scratch.txt"));

  first.reset();
  Checkout retry = f.prepare("s1");
  CHECK_FALSE(fs::exists(fs::path(retry.path) / "scratch.txt"));
}

TEST_CASE("workspace: eviction removes what went unused for max_age, except what is in use") {
  WorkspaceFixture f;
  fs::path jobs = fs::path(f.data.file("workspaces")) / "jobs";
  std::optional<Checkout> done = f.prepare("s1");
  std::optional<Checkout> running = f.prepare("s2");
  done.reset();
  f.clock.advance(std::chrono::hours(24 * 8));
  Checkout fresh = f.prepare("s3");  // uses the mirror now

  auto report = f.workspace->evict();
  REQUIRE_MESSAGE(report.has_value(), report.error().message);
  CHECK(report->removed == std::vector<std::string>{(jobs / "s1-fix-the-flaky-test").string()});
  CHECK(report->busy == std::vector<std::string>{running->path});
  CHECK(report->bytes_freed > 0);
  CHECK_FALSE(fs::exists(jobs / "s1-fix-the-flaky-test"));
  CHECK_FALSE(fs::exists(jobs / "s1-fix-the-flaky-test.lock"));
  CHECK(fs::exists(running->path));
  CHECK(fs::exists(fresh.path));
  CHECK(fs::exists(f.mirror()));

  running.reset();
  f.clock.advance(std::chrono::hours(24 * 8));
  auto later = f.workspace->evict();
  REQUIRE(later.has_value());
  CHECK(later->removed ==
        std::vector<std::string>{(jobs / "s2-fix-the-flaky-test").string(), f.mirror()});
  CHECK(later->busy == std::vector<std::string>{fresh.path});
  CHECK_FALSE(fs::exists(f.mirror()));
  CHECK_FALSE(fs::exists(f.mirror() + ".lock"));

  // An evicted mirror is made again on the next job.
  Checkout again = f.prepare("s4");
  CHECK(again.base_sha == f.main_sha);
}

TEST_CASE("workspace: eviction removes the least recently used until within max_bytes") {
  WorkspaceFixture f;
  f.prepare("s1");
  f.clock.advance(std::chrono::hours(1));
  f.prepare("s2");
  f.clock.advance(std::chrono::hours(1));
  f.prepare("s3");

  auto measure = f.workspace->evict();  // nothing is due: max 20 GiB, a week
  REQUIRE(measure.has_value());
  CHECK(measure->removed.empty());
  std::uint64_t total = measure->bytes_kept;
  REQUIRE(total > 0);

  fs::path jobs = fs::path(f.data.file("workspaces")) / "jobs";
  std::uint64_t first = 0;
  for (const auto& entry : fs::recursive_directory_iterator(jobs / "s1-fix-the-flaky-test")) {
    if (entry.is_regular_file() && !entry.is_symlink()) first += entry.file_size();
  }
  WorkspaceOptions budget;
  budget.max_bytes = total - first;
  auto report = f.open_workspace(budget)->evict();
  REQUIRE(report.has_value());
  CHECK(report->removed == std::vector<std::string>{(jobs / "s1-fix-the-flaky-test").string()});
  CHECK(report->bytes_freed == first);
  CHECK(report->bytes_kept == total - first);

  budget.max_bytes = 1;
  auto all = f.open_workspace(budget)->evict();
  REQUIRE(all.has_value());
  CHECK(all->removed.size() == 3);  // s2, then the mirror and s3 (used at the same moment)
  CHECK(all->bytes_kept == 0);
}

namespace {

// A CA, a certificate for localhost signed by it, and a self-signed one nobody trusts.
void make_certificates(const testing::TempDir& dir) {
  std::ofstream(dir.file("san.cnf")) << "subjectAltName=DNS:localhost,IP:127.0.0.1\n";
  std::string script =
      "cd '" + dir.path().string() +
      "' && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 1 "
      "-subj '/CN=forgehand test CA' && "
      "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "
      "'/CN=localhost' && "
      "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem "
      "-days 1 -extfile san.cnf && "
      "openssl req -x509 -newkey rsa:2048 -nodes -keyout rogue.key -out rogue.pem -days 1 "
      "-subj '/CN=localhost' -addext subjectAltName=DNS:localhost";
  REQUIRE(std::system(("(" + script + ") >/dev/null 2>&1").c_str()) == 0);
}

struct TlsServer {
  httplib::SSLServer server;
  std::thread thread;
  int port = 0;
  TlsServer(const std::string& cert, const std::string& key) : server(cert.c_str(), key.c_str()) {
    REQUIRE(server.is_valid());
    port = server.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { server.listen_after_bind(); });
    while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~TlsServer() {
    server.stop();
    thread.join();
  }
};

}  // namespace

TEST_CASE("workspace: https remotes are verified against the configured CA bundle") {
  testing::TempDir dir;
  make_certificates(dir);
  TlsServer trusted(dir.file("server.pem"), dir.file("server.key"));
  TlsServer rogue(dir.file("rogue.pem"), dir.file("rogue.key"));

  WorkspaceOptions options;
  options.root = dir.file("ws");
  options.ca_bundle = dir.file("ca.pem");
  auto workspace = Workspace::open(options);
  REQUIRE_MESSAGE(workspace.has_value(), workspace.error().message);
  auto source = [](int port) {
    return RepoSource{"gitea",
                      "o/r",
                      {"https://localhost:" + std::to_string(port) + "/o/r.git", "bot",
                       Secret("tls-test-token-123")}};
  };
  auto refused = (*workspace)->prepare(source(rogue.port), {"s1", "task", {"main"}, ""});
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().code == ErrorCode::config);
  CHECK(refused.error().message.find("TLS certificate of localhost is not trusted") !=
        std::string::npos);

  // The handshake succeeds; the server is no git server, so the fetch ends in its 404.
  auto reached = (*workspace)->prepare(source(trusted.port), {"s2", "task", {"main"}, ""});
  REQUIRE_FALSE(reached.has_value());
  CHECK_MESSAGE(reached.error().code == ErrorCode::not_found, reached.error().message);

  options.ca_bundle = dir.file("rogue.pem");
  auto second = Workspace::open(options);
  REQUIRE_FALSE(second.has_value());
  CHECK(second.error().code == ErrorCode::config);
}

TEST_CASE(
    "workspace: a checkout applies .gitattributes filters, and writes blobs as stored "
    "without any") {
  WorkspaceFixture f;
  f.server.commit(kRepo, "main", {{"crlf.txt", "stored\r\n"}, {"lf.txt", "one\ntwo\n"}});
  Checkout plain = f.prepare("s-plain");
  CHECK(testing::read_file(plain.path + "/crlf.txt") == "stored\r\n");
  CHECK(testing::read_file(plain.path + "/lf.txt") == "one\ntwo\n");
  CHECK(git_in(plain.path, {"status", "--porcelain"}).empty());

  // In a subdirectory, so the check looks beyond the root.
  f.server.commit(kRepo, "main",
                  {{"docs/.gitattributes", "*.txt eol=crlf\n"}, {"docs/notes.txt", "one\ntwo\n"}});
  Checkout filtered = f.prepare("s-filtered");
  CHECK(testing::read_file(filtered.path + "/docs/notes.txt") == "one\r\ntwo\r\n");
  CHECK(testing::read_file(filtered.path + "/lf.txt") == "one\ntwo\n");
  CHECK(git_in(filtered.path, {"status", "--porcelain"}).empty());
}
