#include "forges/gitlab/gitlab_forge.h"

#include "forges/gitlab/parse.h"

namespace forgehand::gitlab {

Result<std::unique_ptr<Forge>> GitlabForge::create(ForgeSettings settings,
                                                   const ApiDependencies& dependencies) {
  std::unique_ptr<GitlabForge> forge(new GitlabForge(std::move(settings)));
  const ForgeSettings& s = forge->settings_;
  if (!s.token.empty()) {
    forge->caller_ = std::make_unique<ApiCaller>(
        dependencies.http, dependencies.clock, dependencies.sleeper, "gitlab", dependencies.retry);
    forge->api_ = std::make_unique<GitlabApi>(*forge->caller_, dependencies.clock, s.api_url,
                                              s.token, s.oauth_token);
  }
  return std::unique_ptr<Forge>(std::move(forge));
}

Result<Parsed> GitlabForge::parse(const Delivery& delivery) const {
  return parse_delivery(delivery, settings_.bot_login);
}

std::vector<Capability> GitlabForge::capabilities() const {
  return {
      {"events", "yes",
       "notes on merge requests and issues (system notes skipped); failed pipelines (branch "
       "pipelines name no merge request: found by commit); CI results from failed and passed "
       "pipelines; merged or closed merge requests"},
      {"authentication", "yes",
       "bot, project or group access token as PRIVATE-TOKEN; OAuth token as Bearer"},
      {"comments", "yes", "notes, edits, award emoji; up to 1,000,000 characters"},
      {"pull requests", "yes", "merge requests; drafts by the Draft: title prefix"},
      {"files", "yes", "raw repository files at any ref"},
      {"permissions", "yes",
       "access level: Owner admin, Maintainer maintain, Developer write, Reporter triage, "
       "Guest read"},
      {"team membership", "yes",
       "group paths, inherited and invited members included; expired, awaiting and "
       "minimal-access memberships are not"},
      {"CI logs", "yes", "failed jobs of a pipeline (allowed failures skipped); job traces"},
      {"commit status", "yes", "GitLab state names (pending shows as running)"},
      {"check runs", "no", "a commit status is set instead"},
      {"git", "yes", "user oauth2 with the token"},
  };
}

}  // namespace forgehand::gitlab
