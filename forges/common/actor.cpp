#include "forges/common/actor.h"

#include <algorithm>
#include <cctype>

namespace forgehand::forges {

Actor make_actor(std::string login, std::string id, bool platform_says_bot,
                 std::string_view bot_login) {
  Actor actor;
  actor.is_self = !bot_login.empty() && login.size() == bot_login.size() &&
                  std::equal(login.begin(), login.end(), bot_login.begin(), [](char a, char b) {
                    return std::tolower(static_cast<unsigned char>(a)) ==
                           std::tolower(static_cast<unsigned char>(b));
                  });
  actor.is_bot = platform_says_bot || actor.is_self;
  actor.login = std::move(login);
  actor.id = std::move(id);
  return actor;
}

}  // namespace forgehand::forges
