#pragma once
// The only code that names a concrete forge: one line per forge kind.

#include <memory>

#include "forgehand/forge.h"
#include "util/api_caller.h"

namespace forgehand {

// Errors: `config` when the instance's credentials do not load (a bad App private key).
Result<std::unique_ptr<Forge>> make_forge(ForgeSettings settings,
                                          const ApiDependencies& dependencies);

}  // namespace forgehand
