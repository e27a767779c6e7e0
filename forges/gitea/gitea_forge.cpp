#include "forges/gitea/gitea_forge.h"

namespace forgehand::gitea {

Result<std::unique_ptr<Forge>> GiteaForge::create(ForgeSettings settings, Flavour flavour,
                                                  const ApiDependencies& dependencies) {
  std::unique_ptr<GiteaForge> forge(new GiteaForge(std::move(settings), flavour));
  const ForgeSettings& s = forge->settings_;
  if (!s.token.empty()) {
    std::string name(to_string(forge->kind()));
    forge->caller_ = std::make_unique<ApiCaller>(dependencies.http, dependencies.clock,
                                                 dependencies.sleeper, name, dependencies.retry);
    // Gitea takes any username with a token as the password (services/auth/basic.go).
    std::string git_user = s.bot_login.empty() ? "forgehand" : s.bot_login;
    forge->api_ = std::make_unique<GiteaApi>(*forge->caller_, name, s.api_url, s.token, git_user);
  }
  return std::unique_ptr<Forge>(std::move(forge));
}

Result<Parsed> GiteaForge::parse(const Delivery& delivery) const {
  return parse_delivery(delivery, flavour_, settings_.bot_login);
}

std::vector<Capability> GiteaForge::capabilities() const {
  bool forgejo = flavour_ == Flavour::forgejo;
  return {
      {"events", "yes",
       forgejo ? "comments; closed pull requests; CI failures from action_run_failure and "
                 "workflow_job; CI results from action_run_failure and action_run_success"
               : "comments; closed pull requests; CI failures from commit statuses (1.23+), "
                 "workflow runs and jobs (1.24+); CI results from commit statuses and workflow "
                 "runs"},
      {"authentication", "yes", "bot user token (Authorization: token ...)"},
      {"comments", "yes", "post, edit, react (reactions allowed by the server's [ui] REACTIONS)"},
      {"pull requests", "degrades",
       "drafts by the WIP: title prefix; lookup by commit pages through open pull requests "
       "(up to 500)"},
      {"files", "yes", "raw files at any ref"},
      {"permissions", "degrades",
       "only when the bot is an admin of the repository; otherwise a 403 that says so"},
      {"team membership", "degrades",
       "org/team-name; only when the bot owns the organization or is in the team, with "
       "read:organization; otherwise a 403 that says so"},
      {"CI logs", "degrades",
       forgejo ? "Forgejo v16+; older servers: not_supported and a link to the run"
               : "Gitea 1.24+; older servers: not_supported and a link to the run"},
      {"commit status", "yes", ""},
      {"check runs", "no", "a commit status is set instead"},
      {"git", "yes", "the bot's name with the token as password"},
  };
}

}  // namespace forgehand::gitea
