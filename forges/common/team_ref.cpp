#include "forges/common/team_ref.h"

#include <algorithm>
#include <cctype>
#include <vector>

namespace forgehand::forges {

namespace {

bool name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
}

// The segments between slashes, or the reason they are not a team's.
Result<std::vector<std::string>> segments(std::string_view forge, std::string_view team) {
  auto invalid = [&](std::string_view why) {
    return fail(ErrorCode::invalid_argument,
                std::string(forge) + ": team \"" + std::string(team) + "\": " + std::string(why));
  };
  if (team.empty()) return invalid("no team given");
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    std::size_t slash = team.find('/', start);
    std::string_view part =
        team.substr(start, slash == std::string_view::npos ? slash : slash - start);
    if (part.empty()) return invalid("an empty name between slashes");
    if (!std::all_of(part.begin(), part.end(), name_char)) {
      return invalid("names may hold only letters, digits, '-', '_' and '.'");
    }
    if (part.find_first_not_of('.') == std::string_view::npos) {
      return invalid("\".\" and \"..\" are not names");
    }
    parts.emplace_back(part);
    if (slash == std::string_view::npos) return parts;
    start = slash + 1;
  }
}

}  // namespace

Result<OrgTeam> parse_org_team(std::string_view forge, std::string_view team) {
  auto parts = segments(forge, team);
  if (!parts) return tl::unexpected(parts.error());
  if (parts->size() != 2) {
    return fail(ErrorCode::invalid_argument, std::string(forge) + ": team \"" + std::string(team) +
                                                 "\": expected <organization>/<team>");
  }
  return OrgTeam{(*parts)[0], (*parts)[1]};
}

Result<std::string> parse_group_path(std::string_view forge, std::string_view team) {
  auto parts = segments(forge, team);
  if (!parts) return tl::unexpected(parts.error());
  return std::string(team);
}

}  // namespace forgehand::forges
