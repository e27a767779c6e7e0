#pragma once
// Every call to a forge's or a model provider's API goes through here: bounded retries with
// exponential backoff on connection errors and 5xx; on 429 (and GitHub's secondary-rate-limit
// 403) a wait for Retry-After or the reset header, when it fits the bound; errors that name the
// service, the operation, the HTTP status and the service's own message. Thread-safe.

#include <chrono>
#include <string>
#include <string_view>

#include "forgehand/clock.h"
#include "forgehand/error.h"
#include "util/http_client.h"

namespace forgehand {

struct RetryPolicy {
  int max_attempts = 4;                    // for connection errors and 5xx, the first included
  std::chrono::milliseconds backoff{500};  // before the second attempt; doubles after that
  std::chrono::seconds max_rate_limit_wait{60};  // a longer wait asked for fails the call instead
  int max_rate_limit_waits = 2;
};

// What an API client needs to reach its service; shared by all clients, outliving them.
struct ApiDependencies {
  const HttpClient& http;
  const Clock& clock;
  const Sleeper& sleeper;
  RetryPolicy retry = {};
};

class ApiCaller {
 public:
  // `service` names the forge or provider in errors: "github", "gitlab-corp", "openai".
  ApiCaller(const HttpClient& http, const Clock& clock, const Sleeper& sleeper, std::string service,
            RetryPolicy policy = {});

  // Returns any 2xx or 3xx response (callers that expect a redirect read it). Errors:
  // `unavailable`/`timeout` after the retries, `rate_limited` when the wait would be too long,
  // else the status's code (401 unauthorized, 403 forbidden, 404 not_found, 409 conflict,
  // 400/422 invalid_argument), with the message
  // "<forge>: <operation>: HTTP <status>: <the forge's message>".
  Result<HttpResponse> call(std::string_view operation, const HttpRequest& request) const;

 private:
  const HttpClient& http_;
  const Clock& clock_;
  const Sleeper& sleeper_;
  std::string service_;
  RetryPolicy policy_;
};

// The service's own error text from a JSON error body ("message", "error", GitHub's "errors",
// GitLab's field map, OpenAI's {"error": {"message"}}), else the start of the body.
std::string api_error_message(std::string_view body);

}  // namespace forgehand
