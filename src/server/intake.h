#pragma once
// The webhook ack path without HTTP: find the instance, verify the signature, decide whether the
// event matters, record the delivery durably, and say what to answer. Only cheap, safe work
// happens here; parsing and API calls wait for workers.
// Thread-safe: `receive` may be called from many threads at once.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "config/server_config.h"
#include "forgehand/clock.h"
#include "forgehand/delivery.h"
#include "forgehand/store.h"
#include "server/verify.h"

namespace forgehand {

struct IntakeInstance {
  std::string name;
  ForgeKind kind = ForgeKind::github;
  WebhookSecrets secrets;
};

enum class IntakeOutcome {
  accepted,          // 202: recorded, a worker will handle it
  duplicate,         // 200: this delivery id was recorded before
  ignored,           // 202: an event forgehand never handles; counted, not stored
  unknown_instance,  // 404
  unauthorized,      // 401
  too_large,         // 413
  malformed,         // 400: no event header, or a body that is not JSON
  store_failed,      // 503: not recorded, so not acknowledged; the forge may redeliver
};

std::string_view to_string(IntakeOutcome outcome);

struct IntakeResponse {
  int status = 500;
  std::string body;  // JSON, shown to operators in the forge's delivery log
  IntakeOutcome outcome = IntakeOutcome::store_failed;
  std::string instance;     // empty when the instance is unknown
  std::string event;        // empty until the signature checked out
  std::string delivery_id;  // empty until the signature checked out
  std::string reason;       // why, for the log line; never a secret
};

class Intake {
 public:
  // `on_recorded` runs after each newly recorded delivery (it wakes the workers).
  Intake(std::vector<IntakeInstance> instances, Store& store, const Clock& clock,
         std::size_t max_body_bytes, std::function<void()> on_recorded = {});

  // `headers` must have lower-cased names.
  IntakeResponse receive(std::string_view instance, const HeaderMap& headers,
                         std::string_view body) const;

  // The answer to a body over the limit, for callers that stop reading before the end of it.
  IntakeResponse too_large(std::string_view instance, std::size_t bytes) const;

  // Whether forgehand acts on this event at all for this kind of forge.
  static bool handles_event(ForgeKind kind, std::string_view event);

 private:
  const IntakeInstance* find(std::string_view name) const;

  std::vector<IntakeInstance> instances_;
  Store& store_;
  const Clock& clock_;
  std::size_t max_body_bytes_;
  std::function<void()> on_recorded_;
};

// The steps of `receive` after verification, for callers that hold a payload without a signature
// (`forgehand replay`): they see the event name and delivery exactly as the intake would record
// them.

// The header naming the event for `kind` ("x-github-event", ...), lower-cased.
std::string_view event_header(ForgeKind kind);

// The event name from the forge's header. `malformed` when it is missing or not a short
// printable name.
Result<std::string> webhook_event(ForgeKind kind, const HeaderMap& headers);

// The forge's delivery id, or a content hash when it sends none. `malformed` when the id is not
// a short printable id.
Result<std::string> webhook_delivery_id(ForgeKind kind, std::string_view event,
                                        const HeaderMap& headers, std::string_view body);

// The delivery as `receive` records it, with only the headers workers need. `malformed` for a
// body that is not JSON.
Result<Delivery> make_delivery(std::string_view instance, std::string event,
                               std::string delivery_id, const HeaderMap& headers,
                               std::string_view body, TimePoint now);

}  // namespace forgehand
