#include "forges/github/github_forge.h"

#include "forges/github/parse.h"

namespace forgehand::github {

Result<Parsed> GithubForge::parse(const Delivery& delivery) const {
  return parse_delivery(delivery, settings_.bot_login);
}

}  // namespace forgehand::github
