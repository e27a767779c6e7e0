#pragma once
// An in-process GitHub REST API on loopback, answering with the documented shapes
// (docs.github.com/en/rest: apps, issues/comments, reactions, pulls, repos/contents,
// collaborators, actions/workflow-jobs, commits/statuses, checks/runs, teams/members) and
// recording every request so tests can assert method, path, headers and body. Thread-safe.

#include <chrono>
#include <map>
#include <set>
#include <string>

#include "support/fake_server.h"

namespace forgehand::testing {

class FakeGithub final : public FakeServer {
 public:
  FakeGithub();

  // Tokens the fake hands out expire an hour after this time.
  void set_now(std::chrono::system_clock::time_point now);

  // Teams that GET /orgs/{org}/teams/{team_slug}/memberships/{username} knows; a membership's
  // state is "active", or "pending" while the invitation is not accepted.
  void add_team(const std::string& org, const std::string& slug);
  void add_team_member(const std::string& org, const std::string& slug, const std::string& login,
                       const std::string& state = "active");
  // Plays an installation without the organization permission Members: read.
  void deny_members_permission();
  // What GET /repos/{repo}/contents/{path}?ref={ref} serves (raw media type); other paths 404.
  // Starts with a .forgehand.yml on main.
  void set_file(const std::string& path, const std::string& ref, const std::string& content);
  // Makes GET /repos/{repo}/pulls/{number} answer an open same-repository pull request with this
  // head, into main (by default #42, from a fork, and #7, whose fork is deleted, are known).
  void set_pull(int number, const std::string& head_ref, const std::string& head_sha);
  // A GitHub Actions check suite: GET .../check-suites/{id}/check-runs lists the jobs every run
  // has as its check runs, and GET .../actions/runs/{id}/jobs answers 404, as for any id that is
  // no workflow run's.
  void add_check_suite(const std::string& id);
  // The role_name GET /repos/{repo}/collaborators/{user}/permission gives `login` (admin,
  // maintain, write, triage or read). Without one, "maintainer" maintains, "ghost" is no
  // collaborator and everyone else reads.
  void set_role(const std::string& login, const std::string& role);
  // The installation token POST /app/installations/{id}/access_tokens issues the n-th time
  // (from 1), so tests can give a git server the same credentials.
  static std::string installation_token(int n);

 private:
  void install_routes();

  std::chrono::system_clock::time_point now_;
  // "org/slug" (org lower-cased, as GitHub ignores its case) → login → membership state.
  std::map<std::string, std::map<std::string, std::string>> teams_;
  bool members_permission_ = true;
  std::map<std::string, std::string> files_;                  // "ref:path" → content
  std::map<int, std::pair<std::string, std::string>> pulls_;  // number → head ref, head sha
  std::map<std::string, std::string> roles_;                  // login → role_name
  std::set<std::string> check_suites_;
  int tokens_issued_ = 0;
  int next_id_ = 1000;
};

}  // namespace forgehand::testing
