#include "forges/gitea/gitea_forge.h"

namespace forgehand::gitea {

Result<Parsed> GiteaForge::parse(const Delivery& delivery) const {
  return parse_delivery(delivery, flavour_, settings_.bot_login);
}

}  // namespace forgehand::gitea
