#pragma once
// A queued session as the sessions table keeps it, so that a restart can run it again: the
// request the policy allowed, as JSON. Pure functions.

#include <string>
#include <string_view>

#include "dispatch/comment_handler.h"
#include "forgehand/error.h"
#include "forgehand/session.h"

namespace forgehand {

// Everything SessionRunner reads. Left out: the hidden text removed from the command
// (`run.removed`), which only the acknowledgement, already posted, reports.
std::string session_job_json(const SessionRequest& request);

// Errors: `malformed` for text that is not a job of this format's version.
Result<SessionRequest> parse_session_job(std::string_view json);

// As much of the request as the audit record holds: enough to find the thread and edit the
// acknowledgement, for a session whose job was lost. Not enough to run it.
SessionRequest request_from_record(const SessionRecord& record);

}  // namespace forgehand
