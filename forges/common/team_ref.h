#pragma once
// Teams as policy names them, checked before any of them reaches a URL: "org/team" on GitHub,
// Gitea and Forgejo, a group path ("group/subgroup") on GitLab. Pure functions.

#include <string>
#include <string_view>

#include "forgehand/error.h"

namespace forgehand::forges {

struct OrgTeam {
  std::string org;
  std::string team;
};

// Each segment is letters, digits, '-', '_' and '.' (what every forge allows in organization,
// group and team names), never "." or "..". Errors: `invalid_argument`
// "<forge>: team \"<team>\": <what is wrong>".
Result<OrgTeam> parse_org_team(std::string_view forge, std::string_view team);
// A group path of one or more segments, as given.
Result<std::string> parse_group_path(std::string_view forge, std::string_view team);

}  // namespace forgehand::forges
