#include "support/fake_gitea.h"

#include <nlohmann/json.hpp>

namespace forgehand::testing {

namespace {

using nlohmann::json;

void reply(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json;charset=utf-8");
}

void not_found(httplib::Response& res) {
  reply(res, 404, {{"message", "The target couldn't be found."}, {"errors", json::array()}});
}

// The PullRequest shape (a subset of its documented fields).
json pull(int number, const std::string& sha, int head_repo_id) {
  return {{"number", number},
          {"html_url", "https://gitea.example.com/alice/widgets/pulls/" + std::to_string(number)},
          {"state", "open"},
          {"merged", false},
          {"head",
           {{"ref", "fix-flaky-test"},
            {"sha", sha},
            {"repo_id", head_repo_id},
            {"repo", {{"full_name", head_repo_id == 87 ? "alice/widgets" : "bob/widgets"}}}}},
          {"base", {{"ref", "main"}, {"repo_id", 87}, {"repo", {{"full_name", "alice/widgets"}}}}}};
}

}  // namespace

FakeGitea::FakeGitea(bool actions_api, bool bot_is_admin) {
  auto route = [this](auto handler) {
    return recorded([handler](const httplib::Request& req, httplib::Response& res) {
      if (req.get_header_value("Authorization") != std::string("token ") + kToken) {
        reply(res, 401,
              {{"message", "token is required"}, {"url", "https://gitea.example.com/api/swagger"}});
        return;
      }
      handler(req, res);
    });
  };
  const std::string repo = R"(/api/v1/repos/([^/]+/[^/]+))";

  server_.Post(repo + R"(/issues/(\d+)/comments)",
               route([](const httplib::Request& req, httplib::Response& res) {
                 auto body = json::parse(req.body, nullptr, false);
                 reply(res, 201,
                       {{"id", 1046},
                        {"html_url", "https://gitea.example.com/" + req.matches[1].str() +
                                         "/issues/" + req.matches[2].str() + "#issuecomment-1046"},
                        {"body", body["body"]},
                        {"user", {{"login", "forgehand-bot"}}}});
               }));
  server_.Patch(repo + R"(/issues/comments/(\d+))",
                route([](const httplib::Request& req, httplib::Response& res) {
                  auto body = json::parse(req.body, nullptr, false);
                  reply(res, 200, {{"id", std::stoi(req.matches[2])}, {"body", body["body"]}});
                }));
  server_.Post(repo + R"(/issues/comments/(\d+)/reactions)",
               route([](const httplib::Request& req, httplib::Response& res) {
                 // [ui] REACTIONS default: +1, -1, laugh, hooray, confused, heart, rocket, eyes.
                 static const std::vector<std::string> kAllowed = {
                     "+1", "-1", "laugh", "hooray", "confused", "heart", "rocket", "eyes"};
                 auto body = json::parse(req.body, nullptr, false);
                 std::string content = body.value("content", "");
                 if (std::find(kAllowed.begin(), kAllowed.end(), content) == kAllowed.end()) {
                   reply(res, 403, {{"message", "'" + content + "' is not an allowed reaction"}});
                   return;
                 }
                 reply(res, 201, {{"content", content}, {"user", {{"login", "forgehand-bot"}}}});
               }));
  server_.Post(repo + R"(/pulls)", route([](const httplib::Request& req, httplib::Response& res) {
                 auto body = json::parse(req.body, nullptr, false);
                 if (body.value("head", "") == "forgehand/exists") {
                   reply(res, 409, {{"message", "pull request already exists for these targets"}});
                   return;
                 }
                 auto pr = pull(14, "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432", 87);
                 pr["title"] = body["title"];
                 reply(res, 201, pr);
               }));
  server_.Get(repo + R"(/pulls/(\d+))",
              route([](const httplib::Request& req, httplib::Response& res) {
                if (req.matches[2] != "12") return not_found(res);
                reply(res, 200, pull(12, "5e9c1d7a3f2b8e4c6a0d9f1b3e5c7a2d4f6b8e01", 91));
              }));
  server_.Get(repo + R"(/pulls)", route([](const httplib::Request& req, httplib::Response& res) {
                if (req.get_param_value("state") != "open") {
                  reply(res, 422, {{"message", "state must be open"}});
                  return;
                }
                reply(res, 200,
                      json::array({pull(12, "5e9c1d7a3f2b8e4c6a0d9f1b3e5c7a2d4f6b8e01", 91),
                                   pull(13, "0000000000000000000000000000000000000000", 87)}));
              }));
  server_.Get(repo + R"(/raw/(.+))", route([](const httplib::Request& req, httplib::Response& res) {
                if (req.matches[2] != ".forgehand.yml" || req.get_param_value("ref") != "main") {
                  return not_found(res);
                }
                res.set_content("version: 1\n", "text/plain; charset=utf-8");
              }));
  server_.Get(
      repo + R"(/collaborators/([^/]+)/permission)",
      route([bot_is_admin](const httplib::Request& req, httplib::Response& res) {
        if (!bot_is_admin) {
          reply(res, 403, {{"message", "Only repository admins can read permissions"}});
          return;
        }
        std::string user = req.matches[2];
        std::string level = user == "alice" ? "owner" : user == "bob" ? "write" : "read";
        reply(res, 200, {{"permission", level}, {"role_name", level}, {"user", {{"login", user}}}});
      }));
  server_.Get(
      repo + R"(/actions/runs/(\d+)/jobs)",
      route([actions_api](const httplib::Request& req, httplib::Response& res) {
        if (!actions_api) return not_found(res);
        auto job = [&](int id, const char* name, const char* conclusion) {
          return json{{"id", id},
                      {"run_id", std::stoi(req.matches[2])},
                      {"name", name},
                      {"status", "completed"},
                      {"conclusion", conclusion},
                      {"html_url", "https://gitea.example.com/alice/widgets/actions/runs/" +
                                       req.matches[2].str() + "/jobs/0"}};
        };
        reply(
            res, 200,
            {{"total_count", 2},
             {"jobs", json::array({job(1201, "test", "failure"), job(1202, "lint", "success")})}});
      }));
  server_.Get(repo + R"(/actions/jobs/(\d+)/logs)",
              route([actions_api](const httplib::Request&, httplib::Response& res) {
                if (!actions_api) return not_found(res);
                res.set_content("go test ./...\n--- FAIL: TestRetry (0.01s)\n", "text/plain");
              }));
  server_.Post(
      repo + R"(/statuses/([0-9a-f]{40}))",
      route([](const httplib::Request& req, httplib::Response& res) {
        auto body = json::parse(req.body, nullptr, false);
        reply(res, 201, {{"id", 1}, {"status", body["state"]}, {"context", body["context"]}});
      }));
  start();
}

}  // namespace forgehand::testing
