#pragma once
// An in-process GitLab REST API (v4) on loopback, answering with the shapes of
// docs.gitlab.com/api (notes, award_emoji, merge_requests, commits, repository_files, members,
// jobs, commits/statuses, users). It accepts "glpat-forgehand" as PRIVATE-TOKEN and the OAuth
// token "oauth-forgehand" as Authorization: Bearer.
// Thread-safe.

#include <map>
#include <string>
#include <vector>

#include "support/fake_server.h"

namespace forgehand::testing {

class FakeGitlab final : public FakeServer {
 public:
  static constexpr const char* kToken = "glpat-forgehand";
  static constexpr const char* kOauthToken = "oauth-forgehand";
  FakeGitlab();

  std::string api_url() const { return url() + "/api/v4"; }

  // A user GET /users?username= finds, ignoring case.
  void add_user(int id, const std::string& username);
  // A group GET /groups/:id/members/all/:user_id knows, by full path ("group/subgroup").
  void add_group(const std::string& path);
  // A direct membership (the group is added too). As in GitLab, a group's members are members of
  // its subgroups, and members/all answers with the highest access level among them.
  struct Membership {
    int user_id = 0;
    int access_level = 30;
    std::string expires_at;  // "YYYY-MM-DD", or empty for none
    std::string membership_state = "active";
  };
  void add_group_member(const std::string& path, Membership membership);
  // What GET /projects/:id/repository/files/:path/raw?ref= serves; starts with a .forgehand.yml
  // on main.
  void set_file(const std::string& path, const std::string& ref, const std::string& content);
  // Makes GET /projects/:id/merge_requests/:iid answer an open merge request from this source
  // branch of the same project, into main (by default only !12, from a fork, is known).
  void set_pull(int iid, const std::string& source_branch, const std::string& sha);

 private:
  std::map<int, std::string> users_;
  std::map<std::string, std::vector<Membership>> groups_;
  std::map<std::string, std::string> files_;                  // "ref:path" → content
  std::map<int, std::pair<std::string, std::string>> pulls_;  // iid → source branch, sha
};

}  // namespace forgehand::testing
