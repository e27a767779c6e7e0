#pragma once
// The only code that names a concrete forge: one line per forge kind.

#include <memory>

#include "forgehand/forge.h"
#include "forges/common/api_caller.h"

namespace forgehand {

// Errors: `config` when the instance's credentials do not load (a bad App private key).
Result<std::unique_ptr<Forge>> make_forge(ForgeSettings settings,
                                          const forges::ApiDependencies& dependencies);

}  // namespace forgehand
