#pragma once
// The only code that names a concrete forge: one line per forge kind.

#include <memory>

#include "forgehand/forge.h"

namespace forgehand {

std::unique_ptr<Forge> make_forge(ForgeSettings settings);

}  // namespace forgehand
