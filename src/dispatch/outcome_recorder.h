#pragma once
// What became of forgehand's work, learnt from the forge's later events: a pull request it opened
// was merged (and by whom) or closed, and CI passed or failed on a commit it pushed. Writes only
// the sessions table and never calls a forge. Thread-safe when the store is.

#include "forgehand/clock.h"
#include "forgehand/error.h"
#include "forgehand/event.h"
#include "forgehand/session.h"

namespace forgehand {

class OutcomeRecorder {
 public:
  OutcomeRecorder(SessionStore& store, const Clock& clock);

  // pr_closed → the outcome of the sessions that opened that pull request; ci_passed and
  // ci_failed that carry a verdict (Event::ci_check) → green or red for that check on the
  // sessions that pushed head_sha. Events about pull requests and commits that are not
  // forgehand's, and other kinds, change nothing. Errors: the store's.
  Result<void> handle(const Event& event);

 private:
  SessionStore& store_;
  const Clock& clock_;
};

}  // namespace forgehand
