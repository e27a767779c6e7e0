#include "support/fake_gitea.h"

#include <algorithm>
#include <cctype>
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
json pull(int number, const std::string& sha, int head_repo_id,
          const std::string& head_ref = "fix-flaky-test") {
  return {{"number", number},
          {"html_url", "https://gitea.example.com/alice/widgets/pulls/" + std::to_string(number)},
          {"state", "open"},
          {"merged", false},
          {"head",
           {{"ref", head_ref},
            {"sha", sha},
            {"repo_id", head_repo_id},
            {"repo", {{"full_name", head_repo_id == 87 ? "alice/widgets" : "bob/widgets"}}}}},
          {"base", {{"ref", "main"}, {"repo_id", 87}, {"repo", {{"full_name", "alice/widgets"}}}}}};
}

bool same_name(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

int query_int(const httplib::Request& req, const char* name, int fallback) {
  std::string value = req.get_param_value(name);
  return value.empty() ? fallback : std::stoi(value);
}

}  // namespace

FakeGitea::FakeGitea(bool actions_api, bool bot_is_admin) {
  files_["main:.forgehand.yml"] = "commands: true\n";
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
              route([this](const httplib::Request& req, httplib::Response& res) {
                int number = std::stoi(req.matches[2]);
                {
                  std::lock_guard lock(mutex_);
                  if (auto set = pulls_.find(number); set != pulls_.end()) {
                    reply(res, 200, pull(number, set->second.second, 87, set->second.first));
                    return;
                  }
                }
                if (req.matches[2] != "12") return not_found(res);
                reply(res, 200, pull(12, "5e9c1d7a3f2b8e4c6a0d9f1b3e5c7a2d4f6b8e01", 91));
              }));
  server_.Get(
      repo + R"(/pulls)", route([this](const httplib::Request& req, httplib::Response& res) {
        if (req.get_param_value("state") != "open") {
          reply(res, 422, {{"message", "state must be open"}});
          return;
        }
        std::map<int, json> open = {{12, pull(12, "5e9c1d7a3f2b8e4c6a0d9f1b3e5c7a2d4f6b8e01", 91)},
                                    {13, pull(13, "0000000000000000000000000000000000000000", 87)}};
        {
          std::lock_guard lock(mutex_);
          for (const auto& [number, head] : pulls_) {
            open[number] = pull(number, head.second, 87, head.first);
          }
        }
        json list = json::array();
        for (const auto& [number, pr] : open) list.push_back(pr);
        reply(res, 200, list);
      }));
  server_.Get(repo + R"(/raw/(.+))",
              route([this](const httplib::Request& req, httplib::Response& res) {
                std::lock_guard lock(mutex_);
                auto file = files_.find(req.get_param_value("ref") + ":" + req.matches[2].str());
                if (file == files_.end()) return not_found(res);
                res.set_content(file->second, "text/plain; charset=utf-8");
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
  // GET /orgs/{org}/teams (orgListTeams): a plain Team array, paged by page and limit (default
  // 30, capped by MAX_RESPONSE_ITEMS), the total in X-Total-Count.
  server_.Get(R"(/api/v1/orgs/([^/]+)/teams)",
              route([this](const httplib::Request& req, httplib::Response& res) {
                std::lock_guard lock(mutex_);
                auto org = std::find_if(orgs_.begin(), orgs_.end(), [&](const auto& entry) {
                  return same_name(entry.first, req.matches[1].str());
                });
                if (org == orgs_.end()) return not_found(res);
                if (org->second == BotRole::none) {
                  reply(res, 403,
                        {{"message", "Must be an organization member"},
                         {"url", "https://gitea.example.com/api/swagger"}});
                  return;
                }
                std::vector<const Team*> listed;
                for (const Team& team : teams_) {
                  if (team.org == org->first) listed.push_back(&team);
                }
                int limit = std::min(query_int(req, "limit", 30), max_response_items_);
                std::size_t first = static_cast<std::size_t>(query_int(req, "page", 1) - 1) *
                                    static_cast<std::size_t>(limit);
                json page = json::array();
                for (std::size_t i = first; i < listed.size() && i < first + limit; ++i) {
                  page.push_back({{"id", listed[i]->id},
                                  {"name", listed[i]->name},
                                  {"description", ""},
                                  {"organization", nullptr},
                                  {"includes_all_repositories", false},
                                  {"permission", "write"},
                                  {"units", json::array({"repo.code", "repo.pulls"})},
                                  {"units_map", {{"repo.code", "write"}, {"repo.pulls", "write"}}},
                                  {"can_create_org_repo", false}});
                }
                res.set_header("X-Total-Count", std::to_string(listed.size()));
                reply(res, 200, page);
              }));
  // GET /teams/{id}/members/{username} (orgListTeamMember): the User for a member, else 404.
  server_.Get(R"(/api/v1/teams/(\d+)/members/([^/]+))",
              route([this](const httplib::Request& req, httplib::Response& res) {
                std::lock_guard lock(mutex_);
                std::int64_t id = std::stoll(req.matches[1]);
                auto team = std::find_if(teams_.begin(), teams_.end(),
                                         [&](const Team& t) { return t.id == id; });
                if (team == teams_.end()) return not_found(res);
                BotRole bot = orgs_.at(team->org);
                if (bot == BotRole::none) return not_found(res);
                if (bot == BotRole::member && !bot_in(*team)) {
                  reply(res, 403,
                        {{"message", "Must be a team member"},
                         {"url", "https://gitea.example.com/api/swagger"}});
                  return;
                }
                std::string login = req.matches[2];
                auto member =
                    std::find_if(team->members.begin(), team->members.end(),
                                 [&](const std::string& m) { return same_name(m, login); });
                if (member == team->members.end()) return not_found(res);
                reply(res, 200,
                      {{"id", 1000 + (member - team->members.begin())},
                       {"login", *member},
                       {"login_name", ""},
                       {"full_name", ""},
                       {"email", *member + "@noreply.gitea.example.com"},
                       {"avatar_url", "https://gitea.example.com/avatars/" + *member},
                       {"is_admin", false},
                       {"active", true}});
              }));
  server_.Post(
      repo + R"(/statuses/([0-9a-f]{40}))",
      route([](const httplib::Request& req, httplib::Response& res) {
        auto body = json::parse(req.body, nullptr, false);
        reply(res, 201, {{"id", 1}, {"status", body["state"]}, {"context", body["context"]}});
      }));
  start();
}

bool FakeGitea::bot_in(const Team& team) const {
  return std::any_of(team.members.begin(), team.members.end(),
                     [](const std::string& member) { return same_name(member, kBotLogin); });
}

void FakeGitea::add_org(const std::string& org, BotRole bot) {
  std::lock_guard lock(mutex_);
  orgs_[org] = bot;
}

std::int64_t FakeGitea::add_team(const std::string& org, const std::string& name,
                                 std::vector<std::string> members) {
  std::lock_guard lock(mutex_);
  orgs_.try_emplace(org, BotRole::owner);
  std::int64_t id = 100 + static_cast<std::int64_t>(teams_.size());
  teams_.push_back({id, org, name, std::move(members)});
  return id;
}

void FakeGitea::set_file(const std::string& path, const std::string& ref,
                         const std::string& content) {
  std::lock_guard lock(mutex_);
  files_[ref + ":" + path] = content;
}

void FakeGitea::set_pull(int number, const std::string& head_ref, const std::string& head_sha) {
  std::lock_guard lock(mutex_);
  pulls_[number] = {head_ref, head_sha};
}

void FakeGitea::set_max_response_items(int items) {
  std::lock_guard lock(mutex_);
  max_response_items_ = items;
}

}  // namespace forgehand::testing
