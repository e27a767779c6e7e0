#pragma once
// An account's access to a repository, in the forges' common ladder (GitHub's names; GitLab's
// Reporter/Developer/Maintainer/Owner and Gitea's read/write/admin map onto it). Ordered: a
// higher value includes the lower ones.

namespace forgehand {

enum class Permission { none, read, triage, write, maintain, admin };

}  // namespace forgehand
