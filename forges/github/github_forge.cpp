#include "forges/github/github_forge.h"

#include "forges/github/parse.h"

namespace forgehand::github {

Result<std::unique_ptr<Forge>> GithubForge::create(ForgeSettings settings,
                                                   const ApiDependencies& dependencies) {
  std::unique_ptr<GithubForge> forge(new GithubForge(std::move(settings)));
  const ForgeSettings& s = forge->settings_;
  if (!s.private_key.empty()) {
    auto signer = AppJwtSigner::create(s.private_key, s.app_id);
    if (!signer) return tl::unexpected(signer.error().context("instance " + s.instance));
    forge->caller_ = std::make_unique<ApiCaller>(
        dependencies.http, dependencies.clock, dependencies.sleeper, "github", dependencies.retry);
    forge->tokens_ = std::make_unique<InstallationTokens>(*forge->caller_, s.api_url,
                                                          std::move(*signer), dependencies.clock);
    forge->api_ = std::make_unique<GithubApi>(*forge->caller_, s.api_url, *forge->tokens_);
  }
  return std::unique_ptr<Forge>(std::move(forge));
}

Result<Parsed> GithubForge::parse(const Delivery& delivery) const {
  return parse_delivery(delivery, settings_.bot_login);
}

Result<std::string> GithubForge::upsert_check_run(const RepoRef& repo, const CheckRun& run) const {
  return with_api([&](const GithubApi& api) { return api.upsert_check_run(repo, run); });
}

std::vector<Capability> GithubForge::capabilities() const {
  return {
      {"events", "yes",
       "comments; CI failures from check suites, check runs, workflow runs and jobs; CI results "
       "(passed or failed) from check suites; closed pull requests; installations"},
      {"authentication", "yes", "App JWT (RS256) for installation tokens, refreshed 5 min early"},
      {"comments", "yes", "post, edit, react; bodies cut at 65,536 characters with a note"},
      {"pull requests", "yes", "open (drafts), details with fork detection, lookup by commit"},
      {"files", "yes", "raw contents at any ref"},
      {"permissions", "yes", "collaborator role: admin, maintain, write, triage, read"},
      {"team membership", "yes",
       "org/team-slug, child teams included; needs the App's organization permission Members: "
       "read"},
      {"CI logs", "yes",
       "failed jobs of a workflow run or failed check runs of a check suite; Actions logs through "
       "the 302, without the token"},
      {"commit status", "yes", ""},
      {"check runs", "yes", "create and update"},
      {"git", "yes", "x-access-token with the installation token"},
  };
}

}  // namespace forgehand::github
