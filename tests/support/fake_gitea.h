#pragma once
// An in-process Gitea/Forgejo REST API (/api/v1) on loopback, answering with the shapes of
// Gitea's swagger (Comment, PullRequest, Reaction, RepoCollaboratorPermission, ActionWorkflowJob,
// CommitStatus, Team). `actions_api` false plays a Forgejo before v16 (no Actions jobs
// endpoints); `bot_is_admin` false makes the permission endpoint answer 403 as Gitea does. Only
// the token "gitea-token" is accepted; it belongs to the user "forgehand-bot". Thread-safe.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "support/fake_server.h"

namespace forgehand::testing {

class FakeGitea final : public FakeServer {
 public:
  static constexpr const char* kToken = "gitea-token";
  static constexpr const char* kBotLogin = "forgehand-bot";
  explicit FakeGitea(bool actions_api = true, bool bot_is_admin = true);

  std::string api_url() const { return url() + "/api/v1"; }

  // The bot's place in an organization decides what the teams API shows it
  // (routers/api/v1/api.go): members list the teams, owners and a team's members read its members.
  enum class BotRole { none, member, owner };
  void add_org(const std::string& org, BotRole bot = BotRole::owner);
  // Returns the team's id (its organization is added, bot as owner, unless it was already).
  // `members` are logins; kBotLogin among them makes the bot a member.
  std::int64_t add_team(const std::string& org, const std::string& name,
                        std::vector<std::string> members);
  // [api] MAX_RESPONSE_ITEMS: the most a page holds, whatever limit asks (Gitea's default 50).
  void set_max_response_items(int items);
  // What GET /repos/{repo}/raw/{path}?ref={ref} serves; starts with a .forgehand.yml on main.
  void set_file(const std::string& path, const std::string& ref, const std::string& content);
  // Makes GET /repos/{repo}/pulls/{number} answer a same-repository pull request with this head,
  // into main, and GET /repos/{repo}/pulls?state=open list it (by default #12, from the fixtures'
  // fork, and #13 are open).
  void set_pull(int number, const std::string& head_ref, const std::string& head_sha);

 private:
  struct Team {
    std::int64_t id;
    std::string org;
    std::string name;
    std::vector<std::string> members;
  };
  bool bot_in(const Team& team) const;

  std::map<std::string, BotRole> orgs_;
  std::map<std::string, std::string> files_;                  // "ref:path" → content
  std::map<int, std::pair<std::string, std::string>> pulls_;  // number → head ref, head sha
  std::vector<Team> teams_;
  int max_response_items_ = 50;
};

}  // namespace forgehand::testing
