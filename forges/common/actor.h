#pragma once
// Who did something, and whether it was a bot: the loop guard must never let forgehand act on
// its own comments, and bots are ignored unless policy allows them. Pure functions.

#include <string>
#include <string_view>

#include "forgehand/event.h"

namespace forgehand::forges {

// `platform_says_bot`: the forge's own marker (GitHub's type "Bot", a GitLab bot username, ...).
// `bot_login`: forgehand's account on this instance (may be empty); compared case-insensitively.
Actor make_actor(std::string login, std::string id, bool platform_says_bot,
                 std::string_view bot_login);

}  // namespace forgehand::forges
