#pragma once
// One adapter per forge behind one contract. An adapter turns a recorded delivery into an Event
// (or says why it is ignored); the API verbs the bot needs are added to this contract as they
// are implemented. Adapters are immutable after construction and safe to use from any thread.

#include <memory>
#include <string>

#include "forgehand/delivery.h"
#include "forgehand/error.h"
#include "forgehand/event.h"
#include "forgehand/forge_kind.h"

namespace forgehand {

// What an adapter needs to know about its configured instance.
struct ForgeSettings {
  std::string instance;
  ForgeKind kind = ForgeKind::github;
  std::string api_url;
  std::string bot_login;  // forgehand's own account there; its actions are recognised as its own
};

class Forge {
 public:
  virtual ~Forge() = default;

  virtual ForgeKind kind() const = 0;
  // The configured instance this adapter serves.
  virtual const std::string& instance() const = 0;

  // Reads the delivery's event header and body. Returns an Event, or Ignored with the reason
  // (an action, state or event forgehand does not act on). A payload missing or mistyping a field
  // the conversion needs is a `malformed` error naming the forge, the event and the field, e.g.
  // "github: parse issue_comment: comment.body is missing". Never throws.
  virtual Result<Parsed> parse(const Delivery& delivery) const = 0;
};

}  // namespace forgehand
