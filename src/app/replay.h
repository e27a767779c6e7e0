#pragma once
// `forgehand replay`: one webhook payload from a file through the pipeline a delivery takes
// (the intake's event name and delivery id, the adapter's parse, the event router), without the
// signature check: the operator holds the payload. A dry run records what would be posted and
// started, and sends nothing; a real run posts, runs the session and waits for it to end.
// Single-threaded use.

#include <ostream>
#include <string>

#include "config/server_config.h"

namespace forgehand {

struct ReplayOptions {
  std::string fixture;   // the payload (JSON); its headers, if any, in the `.headers` sibling
  std::string instance;  // a configured instance
  std::string event;     // the event name, set in the forge's event header over the file's
  bool dry_run = false;
  // Dry run only: ask the forge for what the pipeline reads (repository settings, permissions,
  // pull requests, CI jobs and logs). Writes are never sent either way.
  bool read = false;
};

// Prints the event, the policy decision and what was done (or would be) to `out`, problems to
// `err`. Returns the exit status: 0 when the pipeline acted on the event (a reply, a denial, a
// session, whatever the session's end); 1 when the event is ignored, with the reason, or handling
// it failed; 2 for an unknown instance, or a payload or headers file that cannot be used.
int replay(const ServerConfig& config, const ReplayOptions& options, std::ostream& out,
           std::ostream& err);

}  // namespace forgehand
