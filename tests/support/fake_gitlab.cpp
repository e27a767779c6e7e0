#include "support/fake_gitlab.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

namespace forgehand::testing {

namespace {

using nlohmann::json;

void reply(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

// GET /projects/:id/merge_requests/:iid (a subset of the documented fields).
json merge_request(int iid, const std::string& sha, const std::string& state, int source_project,
                   const std::string& source_branch = "forgehand/fh-1-fix") {
  return {{"id", 84000 + iid},
          {"iid", iid},
          {"project_id", 5},
          {"title", "Fix the flaky test"},
          {"state", state},
          {"web_url",
           "https://gitlab.example.com/group/project/-/merge_requests/" + std::to_string(iid)},
          {"source_branch", source_branch},
          {"target_branch", "main"},
          {"source_project_id", source_project},
          {"target_project_id", 5},
          {"sha", sha}};
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// The UserBasic fields every member and user object carries.
json user_json(int id, const std::string& username) {
  return {{"id", id},
          {"username", username},
          {"name", username},
          {"state", "active"},
          {"locked", false},
          {"avatar_url", "https://gitlab.example.com/uploads/-/system/user/avatar/" +
                             std::to_string(id) + "/avatar.png"},
          {"web_url", "https://gitlab.example.com/" + username}};
}

}  // namespace

FakeGitlab::FakeGitlab() {
  files_["main:.forgehand.yml"] = "commands: true\n";
  // Paths are matched after httplib decodes them, so "group%2Fproject" arrives as
  // "group/project": project ids are matched lazily up to the next known segment.
  auto route = [this](auto handler) {
    return recorded([handler](const httplib::Request& req, httplib::Response& res) {
      bool access_token = req.get_header_value("PRIVATE-TOKEN") == kToken;
      bool oauth_token =
          req.get_header_value("Authorization") == std::string("Bearer ") + kOauthToken;
      if (!access_token && !oauth_token) {
        reply(res, 401, {{"message", "401 Unauthorized"}});
        return;
      }
      handler(req, res);
    });
  };
  const std::string project = R"(/api/v4/projects/(.+?))";

  server_.Post(project + R"(/(merge_requests|issues)/(\d+)/notes)",
               route([](const httplib::Request& req, httplib::Response& res) {
                 auto body = json::parse(req.body, nullptr, false);
                 if (!body.contains("body")) {
                   reply(res, 400, {{"error", "body is missing"}});
                   return;
                 }
                 reply(res, 201,
                       {{"id", 302},
                        {"body", body["body"]},
                        {"system", false},
                        {"noteable_type", req.matches[2] == "issues" ? "Issue" : "MergeRequest"},
                        {"noteable_iid", std::stoi(req.matches[3])},
                        {"author", {{"id", 9}, {"username", "forgehand-bot"}}}});
               }));
  server_.Put(project + R"(/(merge_requests|issues)/(\d+)/notes/(\d+))",
              route([](const httplib::Request& req, httplib::Response& res) {
                auto body = json::parse(req.body, nullptr, false);
                reply(res, 200, {{"id", std::stoi(req.matches[4])}, {"body", body["body"]}});
              }));
  server_.Post(project + R"(/(merge_requests|issues)/(\d+)/notes/(\d+)/award_emoji)",
               route([](const httplib::Request& req, httplib::Response& res) {
                 auto body = json::parse(req.body, nullptr, false);
                 reply(res, 201, {{"id", 4}, {"name", body["name"]}, {"awardable_type", "Note"}});
               }));

  server_.Post(project + R"(/merge_requests)",
               route([](const httplib::Request& req, httplib::Response& res) {
                 auto body = json::parse(req.body, nullptr, false);
                 if (body.value("source_branch", "") == "forgehand/exists") {
                   reply(res, 409,
                         {{"message", json::array({"Another open merge request already "
                                                   "exists for this source branch: !5"})}});
                   return;
                 }
                 auto mr =
                     merge_request(6, "8b6f3e1c2a9d4f7e0b5c3a1d9e8f7a6b5c4d3e2f", "opened", 5);
                 mr["title"] = body["title"];
                 reply(res, 201, mr);
               }));
  server_.Get(
      project + R"(/merge_requests/(\d+))",
      route([this](const httplib::Request& req, httplib::Response& res) {
        int iid = std::stoi(req.matches[2]);
        {
          std::lock_guard lock(mutex_);
          if (auto set = pulls_.find(iid); set != pulls_.end()) {
            reply(res, 200, merge_request(iid, set->second.second, "opened", 5, set->second.first));
            return;
          }
        }
        if (iid == 12) {
          reply(res, 200,
                merge_request(12, "c3d1a9e7f5b2048d6e1f3a5c7b9d0e2f4a6c8e1b", "opened", 77));
        } else {
          reply(res, 404, {{"message", "404 Not found"}});
        }
      }));
  server_.Get(project + R"(/repository/commits/([0-9a-f]{40})/merge_requests)",
              route([](const httplib::Request& req, httplib::Response& res) {
                std::string sha = req.matches[2];
                reply(res, 200,
                      json::array({merge_request(12, sha, "opened", 5),
                                   merge_request(3, sha, "merged", 5)}));
              }));
  server_.Get(project + R"(/repository/files/(.+)/raw)",
              route([this](const httplib::Request& req, httplib::Response& res) {
                std::lock_guard lock(mutex_);
                auto file = files_.find(req.get_param_value("ref") + ":" + req.matches[2].str());
                if (file == files_.end()) {
                  reply(res, 404, {{"message", "404 File Not Found"}});
                  return;
                }
                res.set_content(file->second, "text/plain");
              }));
  server_.Get(project + R"(/members/all/(\d+))",
              route([](const httplib::Request& req, httplib::Response& res) {
                int user = std::stoi(req.matches[2]);
                if (user == 404) {
                  reply(res, 404, {{"message", "404 Not found"}});
                  return;
                }
                int level = user == 40 ? 40 : user == 30 ? 30 : user == 20 ? 20 : 10;
                reply(res, 200, {{"id", user}, {"username", "member"}, {"access_level", level}});
              }));
  // GET /groups/:id/members/all/:user_id: the group's own members and its ancestors'.
  server_.Get(
      R"(/api/v4/groups/(.+?)/members/all/(\d+))",
      route([this](const httplib::Request& req, httplib::Response& res) {
        std::lock_guard lock(mutex_);
        std::string path = req.matches[1];
        int user = std::stoi(req.matches[2]);
        // A nested path must arrive encoded as one segment ("platform%2Freviewers"); GitLab
        // routes a raw slash elsewhere.
        std::string encoded = path;
        for (auto at = encoded.find('/'); at != std::string::npos; at = encoded.find('/', at)) {
          encoded.replace(at, 1, "%2F");
        }
        if (!req.target.starts_with("/api/v4/groups/" + encoded + "/")) {
          reply(res, 404, {{"error", "404 Not Found"}});
          return;
        }
        if (!groups_.contains(path)) {
          reply(res, 404, {{"message", "404 Group Not Found"}});
          return;
        }
        const Membership* best = nullptr;
        for (std::string group = path;;) {
          auto found = groups_.find(group);
          if (found != groups_.end()) {
            for (const Membership& membership : found->second) {
              if (membership.user_id == user &&
                  (!best || membership.access_level > best->access_level)) {
                best = &membership;
              }
            }
          }
          auto slash = group.rfind('/');
          if (slash == std::string::npos) break;
          group.resize(slash);
        }
        if (!best) {
          reply(res, 404, {{"message", "404 Not found"}});
          return;
        }
        auto name = users_.find(user);
        json member =
            user_json(user, name == users_.end() ? "user" + std::to_string(user) : name->second);
        member["access_level"] = best->access_level;
        member["created_at"] = "2026-03-02T09:14:05.000Z";
        member["expires_at"] = best->expires_at.empty() ? json(nullptr) : json(best->expires_at);
        member["membership_state"] = best->membership_state;
        reply(res, 200, member);
      }));
  // GET /users?username=: at most one user, an empty list for an unknown name.
  server_.Get("/api/v4/users", route([this](const httplib::Request& req, httplib::Response& res) {
                std::lock_guard lock(mutex_);
                std::string wanted = lower(req.get_param_value("username"));
                json users = json::array();
                for (const auto& [id, username] : users_) {
                  if (lower(username) == wanted) users.push_back(user_json(id, username));
                }
                reply(res, 200, users);
              }));
  server_.Get(project + R"(/pipelines/(\d+)/jobs)",
              route([](const httplib::Request& req, httplib::Response& res) {
                if (req.get_param_value("scope[]") != "failed") {
                  reply(res, 400, {{"error", "scope is required"}});
                  return;
                }
                reply(res, 200,
                      json::array({{{"id", 9019},
                                    {"name", "test"},
                                    {"status", "failed"},
                                    {"allow_failure", false},
                                    {"web_url", "https://gitlab.example.com/g/p/-/jobs/9019"}},
                                   {{"id", 9022},
                                    {"name", "coverage"},
                                    {"status", "failed"},
                                    {"allow_failure", true},
                                    {"web_url", "https://gitlab.example.com/g/p/-/jobs/9022"}}}));
              }));
  server_.Get(
      project + R"(/jobs/(\d+)/trace)", route([](const httplib::Request&, httplib::Response& res) {
        res.set_content("$ make test\nFAILED tests/test_net.py::test_retry\n", "text/plain");
      }));
  server_.Post(project + R"(/statuses/([0-9a-f]{40}))",
               route([](const httplib::Request& req, httplib::Response& res) {
                 auto body = json::parse(req.body, nullptr, false);
                 static const std::vector<std::string> kStates = {"pending", "running",  "success",
                                                                  "failed",  "canceled", "skipped"};
                 std::string state = body.value("state", "");
                 if (std::find(kStates.begin(), kStates.end(), state) == kStates.end()) {
                   reply(res, 400, {{"error", "state does not have a valid value"}});
                   return;
                 }
                 reply(res, 201, {{"id", 93}, {"sha", req.matches[2]}, {"status", state}});
               }));
  start();
}

void FakeGitlab::set_file(const std::string& path, const std::string& ref,
                          const std::string& content) {
  std::lock_guard lock(mutex_);
  files_[ref + ":" + path] = content;
}

void FakeGitlab::set_pull(int iid, const std::string& source_branch, const std::string& sha) {
  std::lock_guard lock(mutex_);
  pulls_[iid] = {source_branch, sha};
}

void FakeGitlab::add_user(int id, const std::string& username) {
  std::lock_guard lock(mutex_);
  users_[id] = username;
}

void FakeGitlab::add_group(const std::string& path) {
  std::lock_guard lock(mutex_);
  groups_[path];
}

void FakeGitlab::add_group_member(const std::string& path, Membership membership) {
  std::lock_guard lock(mutex_);
  groups_[path].push_back(std::move(membership));
}

}  // namespace forgehand::testing
