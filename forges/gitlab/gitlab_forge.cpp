#include "forges/gitlab/gitlab_forge.h"

#include "forges/gitlab/parse.h"

namespace forgehand::gitlab {

Result<Parsed> GitlabForge::parse(const Delivery& delivery) const {
  return parse_delivery(delivery, settings_.bot_login);
}

}  // namespace forgehand::gitlab
