#include "support/fake_github.h"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <nlohmann/json.hpp>

namespace forgehand::testing {

namespace {

using nlohmann::json;

std::string iso8601(std::chrono::system_clock::time_point at) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(at);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buffer;
}

void reply(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json; charset=utf-8");
}

void not_found(httplib::Response& res) {
  reply(res, 404,
        {{"message", "Not Found"}, {"documentation_url", "https://docs.github.com/rest"}});
}

std::string team_key(std::string org, const std::string& slug) {
  std::transform(org.begin(), org.end(), org.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return org + "/" + slug;
}

bool has_token(const httplib::Request& req) {
  return req.get_header_value("Authorization").starts_with("Bearer ghs_");
}

json repo_json(const std::string& full_name) {
  return {{"id", 1296269},
          {"full_name", full_name},
          {"name", full_name.substr(full_name.find('/') + 1)}};
}

// The pull request shape of GET /repos/{owner}/{repo}/pulls/{pull_number}.
json pull_json(int number, const std::string& repo, const std::string& head_repo,
               const std::string& head_ref, const std::string& sha) {
  json head_repository = head_repo.empty() ? json(nullptr) : repo_json(head_repo);
  return {{"number", number},
          {"html_url", "https://github.com/" + repo + "/pull/" + std::to_string(number)},
          {"state", "open"},
          {"merged", false},
          {"draft", false},
          {"head", {{"ref", head_ref}, {"sha", sha}, {"repo", head_repository}}},
          {"base",
           {{"ref", "main"},
            {"sha", "6dcb09b5b57875f334f61aebed695e2e4193db5e"},
            {"repo", repo_json(repo)}}}};
}

}  // namespace

FakeGithub::FakeGithub() : now_(std::chrono::system_clock::now()) {
  files_["main:.forgehand.yml"] = "commands: true\nci_fix: false\n";
  install_routes();
  start();
}

void FakeGithub::install_routes() {
  // POST /app/installations/{installation_id}/access_tokens: App JWT only.
  server_.Post(R"(/app/installations/(\d+)/access_tokens)",
               [this](const httplib::Request& req, httplib::Response& res) {
                 record(req);
                 if (!req.get_header_value("Authorization").starts_with("Bearer ey")) {
                   reply(res, 401, {{"message", "A JSON web token could not be decoded"}});
                   return;
                 }
                 if (req.matches[1] == "404") return not_found(res);
                 std::lock_guard lock(mutex_);
                 ++tokens_issued_;
                 reply(res, 201,
                       {{"token", installation_token(tokens_issued_)},
                        {"expires_at", iso8601(now_ + std::chrono::hours(1))},
                        {"permissions", {{"issues", "write"}, {"contents", "write"}}},
                        {"repository_selection", "all"}});
               });

  // Everything under /repos needs an installation token.
  auto authorized = [this](auto handler) {
    return [this, handler](const httplib::Request& req, httplib::Response& res) {
      record(req);
      if (!has_token(req)) {
        reply(res, 401, {{"message", "Bad credentials"}});
        return;
      }
      handler(req, res);
    };
  };

  server_.Post(
      R"(/repos/([^/]+/[^/]+)/issues/(\d+)/comments)",
      authorized([this](const httplib::Request& req, httplib::Response& res) {
        auto body = json::parse(req.body, nullptr, false);
        if (!body.is_object() || !body.contains("body")) {
          reply(res, 422, {{"message", "Invalid request.\n\n\"body\" wasn't supplied."}});
          return;
        }
        int id = 0;
        {
          std::lock_guard lock(mutex_);
          id = ++next_id_;
        }
        std::string repo = req.matches[1];
        reply(res, 201,
              {{"id", id},
               {"html_url", "https://github.com/" + repo + "/issues/" + req.matches[2].str() +
                                "#issuecomment-" + std::to_string(id)},
               {"body", body["body"]},
               {"user", {{"login", "forgehand[bot]"}, {"type", "Bot"}}}});
      }));

  server_.Patch(R"(/repos/([^/]+/[^/]+)/issues/comments/(\d+))",
                authorized([](const httplib::Request& req, httplib::Response& res) {
                  auto body = json::parse(req.body, nullptr, false);
                  reply(res, 200, {{"id", std::stoll(req.matches[2])}, {"body", body["body"]}});
                }));

  server_.Post(R"(/repos/([^/]+/[^/]+)/issues/comments/(\d+)/reactions)",
               authorized([](const httplib::Request& req, httplib::Response& res) {
                 static const std::vector<std::string> kContents = {
                     "+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"};
                 auto body = json::parse(req.body, nullptr, false);
                 std::string content = body.value("content", "");
                 if (std::find(kContents.begin(), kContents.end(), content) == kContents.end()) {
                   reply(res, 422, {{"message", "Validation Failed"}});
                   return;
                 }
                 reply(res, 201, {{"id", 1}, {"content", content}});
               }));

  server_.Post(R"(/repos/([^/]+/[^/]+)/pulls)",
               authorized([](const httplib::Request& req, httplib::Response& res) {
                 auto body = json::parse(req.body, nullptr, false);
                 std::string head = body.value("head", "");
                 if (head == "forgehand/exists") {
                   reply(res, 422,
                         {{"message", "Validation Failed"},
                          {"errors",
                           {{{"resource", "PullRequest"},
                             {"code", "custom"},
                             {"message", "A pull request already exists for o:" + head + "."}}}}});
                   return;
                 }
                 std::string repo = req.matches[1];
                 reply(res, 201,
                       pull_json(43, repo, repo, head, "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"));
               }));

  server_.Get(
      R"(/repos/([^/]+/[^/]+)/pulls/(\d+))",
      authorized([this](const httplib::Request& req, httplib::Response& res) {
        std::string repo = req.matches[1];
        {
          std::lock_guard lock(mutex_);
          if (auto set = pulls_.find(std::stoi(req.matches[2])); set != pulls_.end()) {
            reply(res, 200,
                  pull_json(set->first, repo, repo, set->second.first, set->second.second));
            return;
          }
        }
        if (req.matches[2] == "42") {
          reply(res, 200,
                pull_json(42, repo, "contributor/hello-world", "fix-typo",
                          "e5bd3914e2e596debea16f433f57875b5b90bcd6"));
        } else if (req.matches[2] == "7") {
          reply(res, 200,
                pull_json(7, repo, "", "gone-branch", "aa218f56b14c9653891f9e74264a383fa43fefbd"));
        } else {
          not_found(res);
        }
      }));

  server_.Get(
      R"(/repos/([^/]+/[^/]+)/commits/([0-9a-f]{40})/pulls)",
      authorized([](const httplib::Request& req, httplib::Response& res) {
        std::string repo = req.matches[1];
        std::string sha = req.matches[2];
        json merged = pull_json(3, repo, repo, "old", sha);
        merged["state"] = "closed";
        merged["merged"] = true;
        reply(res, 200,
              json::array({pull_json(42, repo, "contributor/hello-world", "fix", sha), merged}));
      }));

  server_.Get(R"(/repos/([^/]+/[^/]+)/contents/(.+))",
              authorized([this](const httplib::Request& req, httplib::Response& res) {
                std::string key = req.get_param_value("ref") + ":" + std::string(req.matches[2]);
                std::string content;
                {
                  std::lock_guard lock(mutex_);
                  auto file = files_.find(key);
                  if (file == files_.end()) return not_found(res);
                  content = file->second;
                }
                if (req.get_header_value("Accept") != "application/vnd.github.raw+json") {
                  reply(res, 200, {{"type", "file"}, {"encoding", "base64"}, {"content", "..."}});
                  return;
                }
                res.set_content(content, "application/vnd.github.raw");
              }));

  // GET /repos/{owner}/{repo}/collaborators/{username}/permission (docs.github.com/en/rest/
  // collaborators/collaborators#get-repository-permissions-for-a-user): `permission` is the legacy
  // admin/write/read/none, so maintain shows as write and triage as read; role_name is the role.
  server_.Get(
      R"(/repos/([^/]+/[^/]+)/collaborators/([^/]+)/permission)",
      authorized([this](const httplib::Request& req, httplib::Response& res) {
        std::string user = req.matches[2];
        std::string role = user == "maintainer" ? "maintain" : "read";
        {
          std::lock_guard lock(mutex_);
          if (auto set = roles_.find(user); set != roles_.end()) {
            role = set->second;
          } else if (user == "ghost") {
            return not_found(res);
          }
        }
        std::string legacy = role == "maintain" ? "write" : role == "triage" ? "read" : role;
        reply(res, 200, {{"permission", legacy}, {"role_name", role}, {"user", {{"login", user}}}});
      }));

  // Every workflow run has the same three jobs; a check suite's id is no run's, so 404.
  server_.Get(
      R"(/repos/([^/]+/[^/]+)/actions/runs/(\d+)/jobs)",
      authorized([this](const httplib::Request& req, httplib::Response& res) {
        {
          std::lock_guard lock(mutex_);
          if (check_suites_.contains(req.matches[2])) return not_found(res);
        }
        auto job = [&](int id, const char* name, const char* conclusion) {
          return json{{"id", id},
                      {"run_id", std::stoll(req.matches[2])},
                      {"name", name},
                      {"status", "completed"},
                      {"conclusion", conclusion},
                      {"html_url", "https://github.com/" + req.matches[1].str() + "/actions/runs/" +
                                       req.matches[2].str() + "/job/" + std::to_string(id)}};
        };
        reply(res, 200,
              {{"total_count", 3},
               {"jobs",
                json::array({job(399444496, "build", "success"), job(399444497, "test", "failure"),
                             job(399444498, "lint", "timed_out")})}});
      }));

  // GET /repos/{owner}/{repo}/check-suites/{check_suite_id}/check-runs (docs.github.com/en/rest/
  // checks/runs#list-check-runs-in-a-check-suite): {total_count, check_runs}. An Actions suite's
  // check runs are its run's jobs, under the same ids.
  server_.Get(
      R"(/repos/([^/]+/[^/]+)/check-suites/(\d+)/check-runs)",
      authorized([this](const httplib::Request& req, httplib::Response& res) {
        {
          std::lock_guard lock(mutex_);
          if (!check_suites_.contains(req.matches[2])) return not_found(res);
        }
        std::string repo = req.matches[1];
        auto run = [&](int id, const char* name, const char* conclusion) {
          return json{{"id", id},
                      {"name", name},
                      {"head_sha", "ec26c3e57ca3a959ca5aad62de7213c562f8c821"},
                      {"status", "completed"},
                      {"conclusion", conclusion},
                      {"html_url", "https://github.com/" + repo + "/runs/" + std::to_string(id)},
                      {"details_url", "https://github.com/" + repo + "/runs/" + std::to_string(id)},
                      {"check_suite", {{"id", std::stoll(req.matches[2])}}},
                      {"app", {{"slug", "github-actions"}}},
                      {"pull_requests", json::array()}};
        };
        reply(res, 200,
              {{"total_count", 3},
               {"check_runs",
                json::array({run(399444496, "build", "success"), run(399444497, "test", "failure"),
                             run(399444498, "lint", "timed_out")})}});
      }));

  // 302 to a short-lived storage URL; the storage refuses requests that carry a token.
  server_.Get(R"(/repos/([^/]+/[^/]+)/actions/jobs/(\d+)/logs)",
              authorized([this](const httplib::Request& req, httplib::Response& res) {
                res.status = 302;
                res.set_header("Location", url() + "/job-logs/" + req.matches[2].str() +
                                               "?sig=signed-and-short-lived");
              }));
  server_.Get(R"(/job-logs/(\d+))", [this](const httplib::Request& req, httplib::Response& res) {
    record(req);
    if (req.has_header("Authorization")) {
      res.status = 400;
      res.set_content("<Error><Code>InvalidAuthenticationInfo</Code></Error>", "application/xml");
      return;
    }
    res.set_content("2024-01-01T00:00:00.000Z ##[error]Process completed with exit code 1.\n",
                    "text/plain");
  });

  server_.Post(
      R"(/repos/([^/]+/[^/]+)/statuses/([0-9a-f]{40}))",
      authorized([](const httplib::Request& req, httplib::Response& res) {
        auto body = json::parse(req.body, nullptr, false);
        reply(res, 201, {{"id", 1}, {"state", body["state"]}, {"context", body["context"]}});
      }));

  // GET /orgs/{org}/teams/{team_slug}/memberships/{username} (docs.github.com/en/rest/teams/
  // members#get-team-membership-for-a-user). Without Members: read GitHub says which permission
  // it accepts in X-Accepted-GitHub-Permissions.
  server_.Get(
      R"(/orgs/([^/]+)/teams/([^/]+)/memberships/([^/]+))",
      authorized([this](const httplib::Request& req, httplib::Response& res) {
        std::lock_guard lock(mutex_);
        if (!members_permission_) {
          res.set_header("X-Accepted-GitHub-Permissions", "members=read");
          reply(res, 403,
                {{"message", "Resource not accessible by integration"},
                 {"documentation_url",
                  "https://docs.github.com/rest/teams/members#get-team-membership-for-a-user"},
                 {"status", "403"}});
          return;
        }
        auto team = teams_.find(team_key(req.matches[1], req.matches[2]));
        if (team == teams_.end()) return not_found(res);
        auto member = team->second.find(req.matches[3]);
        if (member == team->second.end()) return not_found(res);
        reply(
            res, 200,
            {{"url", "https://api.github.com/organizations/1/team/7/memberships/" + member->first},
             {"role", "member"},
             {"state", member->second}});
      }));

  server_.Post(R"(/repos/([^/]+/[^/]+)/check-runs)",
               authorized([](const httplib::Request&, httplib::Response& res) {
                 reply(res, 201, {{"id", 4}, {"status", "in_progress"}});
               }));
  server_.Patch(R"(/repos/([^/]+/[^/]+)/check-runs/(\d+))",
                authorized([](const httplib::Request& req, httplib::Response& res) {
                  reply(res, 200, {{"id", std::stoll(req.matches[2])}});
                }));
}

void FakeGithub::add_team(const std::string& org, const std::string& slug) {
  std::lock_guard lock(mutex_);
  teams_[team_key(org, slug)];
}

void FakeGithub::add_team_member(const std::string& org, const std::string& slug,
                                 const std::string& login, const std::string& state) {
  std::lock_guard lock(mutex_);
  teams_[team_key(org, slug)][login] = state;
}

void FakeGithub::set_file(const std::string& path, const std::string& ref,
                          const std::string& content) {
  std::lock_guard lock(mutex_);
  files_[ref + ":" + path] = content;
}

void FakeGithub::set_pull(int number, const std::string& head_ref, const std::string& head_sha) {
  std::lock_guard lock(mutex_);
  pulls_[number] = {head_ref, head_sha};
}

void FakeGithub::add_check_suite(const std::string& id) {
  std::lock_guard lock(mutex_);
  check_suites_.insert(id);
}

void FakeGithub::set_role(const std::string& login, const std::string& role) {
  std::lock_guard lock(mutex_);
  roles_[login] = role;
}

std::string FakeGithub::installation_token(int n) { return "ghs_token" + std::to_string(n); }

void FakeGithub::deny_members_permission() {
  std::lock_guard lock(mutex_);
  members_permission_ = false;
}

void FakeGithub::set_now(std::chrono::system_clock::time_point now) {
  std::lock_guard lock(mutex_);
  now_ = now;
}

}  // namespace forgehand::testing
