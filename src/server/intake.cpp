#include "server/intake.h"

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>

#include "util/crypto.h"
#include "util/json_check.h"

namespace forgehand {

namespace {

struct ForgeHeaders {
  std::array<std::string_view, 2> event;     // first present wins
  std::array<std::string_view, 2> delivery;  // first present wins
};

// Which headers name the event and the delivery. Forgejo falls back to Gitea's set because
// releases before the X-Forgejo-* headers sent only those (Forgejo services/webhook/default.go).
// GitLab: Idempotency-Key survives retries and "Resend" (17.4+); X-Gitlab-Event-UUID is older
// (14.8+) and changes on a resend (docs.gitlab.com user/project/integrations/webhooks.md).
ForgeHeaders headers_for(ForgeKind kind) {
  switch (kind) {
    case ForgeKind::github:
      return {{"x-github-event", ""}, {"x-github-delivery", ""}};
    case ForgeKind::gitlab:
      return {{"x-gitlab-event", ""}, {"idempotency-key", "x-gitlab-event-uuid"}};
    case ForgeKind::gitea:
      return {{"x-gitea-event", ""}, {"x-gitea-delivery", ""}};
    case ForgeKind::forgejo:
      return {{"x-forgejo-event", "x-gitea-event"}, {"x-forgejo-delivery", "x-gitea-delivery"}};
  }
  return {};
}

// Headers later steps may need. Everything else, signatures and tokens above all, is dropped
// before the delivery is stored.
constexpr std::string_view kKeptHeaders[] = {
    "content-type",
    "user-agent",
    "x-github-event",
    "x-github-delivery",
    "x-github-hook-id",
    "x-github-hook-installation-target-id",
    "x-github-hook-installation-target-type",
    "x-gitlab-event",
    "x-gitlab-event-uuid",
    "x-gitlab-webhook-uuid",
    "x-gitlab-instance",
    "idempotency-key",
    "x-gitea-event",
    "x-gitea-event-type",
    "x-gitea-delivery",
    "x-forgejo-event",
    "x-forgejo-event-type",
    "x-forgejo-delivery",
};

constexpr std::size_t kMaxDeliveryIdLength = 200;
constexpr std::size_t kMaxEventLength = 100;

std::string_view first_header(const HeaderMap& headers,
                              const std::array<std::string_view, 2>& names) {
  for (std::string_view name : names) {
    if (name.empty()) continue;
    auto it = headers.find(name);
    if (it != headers.end() && !it->second.empty()) return it->second;
  }
  return {};
}

bool printable_ascii(std::string_view text, bool spaces_allowed) {
  return std::all_of(text.begin(), text.end(), [&](char c) {
    return (c > 0x20 && c < 0x7f) || (spaces_allowed && c == ' ');
  });
}

std::string json_body(std::initializer_list<std::pair<const char*, std::string_view>> fields) {
  nlohmann::json body = nlohmann::json::object();
  for (const auto& [key, value] : fields) body[key] = value;
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

IntakeOutcome outcome_of(ErrorCode code) {
  switch (code) {
    case ErrorCode::not_found:
      return IntakeOutcome::unknown_instance;
    case ErrorCode::unauthorized:
      return IntakeOutcome::unauthorized;
    case ErrorCode::payload_too_large:
      return IntakeOutcome::too_large;
    case ErrorCode::malformed:
      return IntakeOutcome::malformed;
    default:
      return IntakeOutcome::store_failed;
  }
}

IntakeResponse reject(IntakeResponse response, ErrorCode code, std::string reason) {
  response.status = http_status(code);
  response.outcome = outcome_of(code);
  response.body = json_body({{"error", reason}});
  response.reason = std::move(reason);
  return response;
}

}  // namespace

std::string_view to_string(IntakeOutcome outcome) {
  switch (outcome) {
    case IntakeOutcome::accepted:
      return "accepted";
    case IntakeOutcome::duplicate:
      return "duplicate";
    case IntakeOutcome::ignored:
      return "ignored";
    case IntakeOutcome::unknown_instance:
      return "unknown_instance";
    case IntakeOutcome::unauthorized:
      return "unauthorized";
    case IntakeOutcome::too_large:
      return "too_large";
    case IntakeOutcome::malformed:
      return "malformed";
    case IntakeOutcome::store_failed:
      return "store_failed";
  }
  return "unknown";
}

Intake::Intake(std::vector<IntakeInstance> instances, Store& store, const Clock& clock,
               std::size_t max_body_bytes, std::function<void()> on_recorded)
    : instances_(std::move(instances)),
      store_(store),
      clock_(clock),
      max_body_bytes_(max_body_bytes),
      on_recorded_(std::move(on_recorded)) {}

IntakeResponse Intake::too_large(std::string_view instance, std::size_t bytes) const {
  IntakeResponse response;
  if (const IntakeInstance* known = find(instance)) response.instance = known->name;
  return reject(std::move(response), ErrorCode::payload_too_large,
                "body is at least " + std::to_string(bytes) + " bytes; the limit is " +
                    std::to_string(max_body_bytes_));
}

bool Intake::handles_event(ForgeKind kind, std::string_view event) {
  // The events an adapter turns into work: comments, CI results, closed pull requests and (on
  // GitHub) installations. Everything else is acknowledged and dropped at the door.
  auto in = [&](std::initializer_list<std::string_view> names) {
    return std::find(names.begin(), names.end(), event) != names.end();
  };
  switch (kind) {
    case ForgeKind::github:
      return in({"issue_comment", "pull_request", "check_run", "check_suite", "workflow_run",
                 "workflow_job", "installation", "installation_repositories"});
    case ForgeKind::gitlab:
      // Comments on confidential issues arrive as "Confidential Note Hook".
      return in({"Note Hook", "Confidential Note Hook", "Pipeline Hook", "Merge Request Hook"});
    case ForgeKind::gitea:
      // Gitea maps PR comments to "issue_comment"; "status" is 1.23+, "workflow_job" 1.24+
      // (go-gitea/gitea modules/webhook/type.go).
      return in({"issue_comment", "pull_request", "status", "workflow_run", "workflow_job"});
    case ForgeKind::forgejo:
      // Forgejo reports CI through its own action_run_* events and, in newer releases,
      // workflow_job_* / workflow_run_* variants (Forgejo modules/structs/hook.go).
      return in({"issue_comment", "pull_request"}) || event.starts_with("action_run_") ||
             event.starts_with("workflow_job") || event.starts_with("workflow_run");
  }
  return false;
}

const IntakeInstance* Intake::find(std::string_view name) const {
  for (const IntakeInstance& instance : instances_) {
    if (instance.name == name) return &instance;
  }
  return nullptr;
}

IntakeResponse Intake::receive(std::string_view instance_name, const HeaderMap& headers,
                               std::string_view body) const {
  IntakeResponse response;
  const IntakeInstance* instance = find(instance_name);
  if (instance == nullptr) {
    return reject(std::move(response), ErrorCode::not_found,
                  "no forge instance named \"" + std::string(instance_name) + "\"");
  }
  response.instance = instance->name;
  if (body.size() > max_body_bytes_) return too_large(instance_name, body.size());

  // Gitea and Forgejo can post `payload=<urlencoded JSON>` while signing the JSON alone, so such a
  // body can never verify; say what to change instead of reporting a bad signature.
  // Source: go-gitea/gitea services/webhook/deliver.go.
  auto content_type = headers.find("content-type");
  if (content_type != headers.end() &&
      content_type->second.starts_with("application/x-www-form-urlencoded")) {
    return reject(std::move(response), ErrorCode::malformed,
                  "form-encoded webhooks are not supported; set the webhook's content type to "
                  "application/json");
  }

  TimePoint now = clock_.now();
  if (auto verified = verify_webhook(instance->kind, instance->secrets, headers, body, now);
      !verified) {
    return reject(std::move(response), ErrorCode::unauthorized, verified.error().message);
  }

  auto event = webhook_event(instance->kind, headers);
  if (!event) return reject(std::move(response), event.error().code, event.error().message);
  response.event = *event;

  if (!handles_event(instance->kind, *event)) {
    response.status = 202;
    response.outcome = IntakeOutcome::ignored;
    response.reason = "forgehand does not act on " + *event + " events";
    response.body = json_body({{"status", "ignored"}, {"reason", response.reason}});
    return response;
  }

  auto delivery_id = webhook_delivery_id(instance->kind, *event, headers, body);
  if (!delivery_id) {
    return reject(std::move(response), delivery_id.error().code, delivery_id.error().message);
  }
  response.delivery_id = *delivery_id;

  auto delivery = make_delivery(instance->name, *event, *delivery_id, headers, body, now);
  if (!delivery)
    return reject(std::move(response), delivery.error().code, delivery.error().message);

  auto recorded = store_.record_delivery(*delivery);
  if (!recorded) {
    // 5xx, not 4xx: the delivery was fine, we could not keep it. Forges treat 5xx as temporary.
    response.status = http_status(ErrorCode::unavailable);
    response.outcome = IntakeOutcome::store_failed;
    response.reason = recorded.error().message;
    response.body = json_body({{"error", "could not record the delivery; redeliver it later"}});
    return response;
  }
  if (*recorded == RecordOutcome::duplicate) {
    response.status = 200;
    response.outcome = IntakeOutcome::duplicate;
    response.reason = "delivery was recorded before";
    response.body = json_body({{"status", "duplicate"}, {"delivery", *delivery_id}});
    return response;
  }
  if (on_recorded_) on_recorded_();
  response.status = 202;
  response.outcome = IntakeOutcome::accepted;
  response.body = json_body({{"status", "accepted"}, {"delivery", *delivery_id}});
  return response;
}

std::string_view event_header(ForgeKind kind) { return headers_for(kind).event[0]; }

Result<std::string> webhook_event(ForgeKind kind, const HeaderMap& headers) {
  ForgeHeaders names = headers_for(kind);
  std::string_view event = first_header(headers, names.event);
  if (event.empty() || event.size() > kMaxEventLength || !printable_ascii(event, true)) {
    return fail(ErrorCode::malformed,
                "missing or invalid " + std::string(names.event[0]) + " header");
  }
  return std::string(event);
}

Result<std::string> webhook_delivery_id(ForgeKind kind, std::string_view event,
                                        const HeaderMap& headers, std::string_view body) {
  std::string delivery_id(first_header(headers, headers_for(kind).delivery));
  if (delivery_id.empty()) {
    // Old GitLab releases send no delivery id; identical bytes for the same event are the same
    // delivery, so a content hash still deduplicates their retries.
    delivery_id = "sha256:" +
                  crypto::hex_encode(crypto::sha256(std::string(event) + "\n" + std::string(body)));
  }
  if (delivery_id.size() > kMaxDeliveryIdLength || !printable_ascii(delivery_id, false)) {
    return fail(ErrorCode::malformed,
                "the delivery id header is not a printable id of at most 200 characters");
  }
  return delivery_id;
}

Result<Delivery> make_delivery(std::string_view instance, std::string event,
                               std::string delivery_id, const HeaderMap& headers,
                               std::string_view body, TimePoint now) {
  if (!is_valid_json(body)) {
    return fail(ErrorCode::malformed,
                "body is not valid JSON; configure the webhook's content type as "
                "application/json");
  }
  Delivery delivery;
  delivery.instance = std::string(instance);
  delivery.delivery_id = std::move(delivery_id);
  delivery.event = std::move(event);
  delivery.body = std::string(body);
  delivery.received_at = now;
  for (std::string_view name : kKeptHeaders) {
    auto it = headers.find(name);
    if (it != headers.end()) delivery.headers.emplace(it->first, it->second);
  }
  return delivery;
}

}  // namespace forgehand
