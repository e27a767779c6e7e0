#pragma once
// Fetched packs indexed by `git index-pack` instead of libgit2. libgit2 1.5 resolves a pack's
// deltas on one thread, which is most of a first fetch's time; git's index-pack spreads it over
// every core (bench/workspace: a cold prepare went from 1.45× `git clone` to about 1.1×). Only
// the indexing moves: the connection, the credentials and the negotiation stay in libgit2, and
// the child sees nothing secret (no URL, no token, a fixed environment, the pack on its stdin).

#include <git2.h>

#include <string>

#include "forgehand/error.h"

namespace forgehand::runner {

// The absolute path of `git` on PATH; empty when there is none.
std::string find_git_program();

// Makes every pack later fetched into `repository` (a bare mirror) go through
// `git_program index-pack --stdin --fix-thin` with GIT_DIR set to the repository. A failed
// index-pack fails the fetch with git's own message.
Result<void> index_packs_with_git(git_repository* repository, const std::string& git_program);

}  // namespace forgehand::runner
