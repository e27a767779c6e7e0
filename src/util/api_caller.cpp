#include "util/api_caller.h"

#include <charconv>
#include <nlohmann/json.hpp>
#include <optional>

namespace forgehand {

namespace {

constexpr std::size_t kMaxMessage = 300;

std::optional<long long> integer_header(const HttpResponse& response, std::string_view name) {
  std::string_view value = response.header(name);
  long long number = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), number);
  if (value.empty() || ec != std::errc{} || end != value.data() + value.size()) return std::nullopt;
  return number;
}

// GitHub answers its secondary rate limits with 403 (docs.github.com, "Rate limits for the REST
// API"); an exhausted primary limit is a 403 or 429 with x-ratelimit-remaining: 0.
bool rate_limited(const HttpResponse& response) {
  if (response.status == 429) return true;
  if (response.status != 403) return false;
  return response.header("x-ratelimit-remaining") == "0" ||
         !response.header("retry-after").empty() ||
         response.body.find("secondary rate limit") != std::string::npos;
}

// How long the service asks us to wait: Retry-After seconds, else the reset time (GitHub
// x-ratelimit-reset, GitLab RateLimit-Reset, both Unix seconds); nothing when it does not say.
std::optional<std::chrono::seconds> requested_wait(const HttpResponse& response, TimePoint now) {
  if (auto seconds = integer_header(response, "retry-after")) {
    return std::chrono::seconds(std::max(0LL, *seconds));
  }
  for (std::string_view name : {"x-ratelimit-reset", "ratelimit-reset"}) {
    if (auto reset = integer_header(response, name)) {
      auto until = TimePoint(std::chrono::seconds(*reset)) - now;
      return std::max(std::chrono::seconds(0),
                      std::chrono::duration_cast<std::chrono::seconds>(until));
    }
  }
  return std::nullopt;
}

ErrorCode code_for(int status) {
  switch (status) {
    case 401:
      return ErrorCode::unauthorized;
    case 403:
      return ErrorCode::forbidden;
    case 404:
      return ErrorCode::not_found;
    case 409:
      return ErrorCode::conflict;
    case 413:
      return ErrorCode::payload_too_large;
    case 429:
      return ErrorCode::rate_limited;
    default:
      return status >= 500 ? ErrorCode::unavailable : ErrorCode::invalid_argument;
  }
}

}  // namespace

std::string api_error_message(std::string_view body) {
  auto json = nlohmann::json::parse(body, nullptr, false);
  std::string message;
  if (json.is_object()) {
    for (const char* key : {"message", "error", "error_description"}) {
      auto it = json.find(key);
      if (it == json.end()) continue;
      if (it->is_object() && it->contains("message") && (*it)["message"].is_string()) {
        message = (*it)["message"].get<std::string>();  // OpenAI, Anthropic: {"error": {...}}
      } else {
        message = it->is_string() ? it->get<std::string>() : it->dump();
      }
      break;
    }
    // GitHub's 422s carry the specifics in errors[].message (or errors[].code).
    auto errors = json.find("errors");
    if (errors != json.end() && errors->is_array() && !errors->empty()) {
      const auto& first = (*errors)[0];
      std::string detail = first.is_string() ? first.get<std::string>()
                           : first.contains("message") && first["message"].is_string()
                               ? first["message"].get<std::string>()
                               : first.dump();
      message += (message.empty() ? "" : ": ") + detail;
    }
  }
  if (message.empty()) message = std::string(body.substr(0, kMaxMessage));
  if (message.size() > kMaxMessage) message = message.substr(0, kMaxMessage) + "...";
  return message;
}

ApiCaller::ApiCaller(const HttpClient& http, const Clock& clock, const Sleeper& sleeper,
                     std::string service, RetryPolicy policy)
    : http_(http),
      clock_(clock),
      sleeper_(sleeper),
      service_(std::move(service)),
      policy_(policy) {}

Result<HttpResponse> ApiCaller::call(std::string_view operation, const HttpRequest& request) const {
  std::string context = service_ + ": " + std::string(operation);
  int attempts = 0;
  int waits = 0;
  auto backoff = policy_.backoff;
  for (;;) {
    ++attempts;
    auto response = http_.send(request);
    bool retryable = !response || response->status >= 500;
    if (response && rate_limited(*response)) {
      auto asked = requested_wait(*response, clock_.now());
      // GitHub documents waiting at least a minute when it names no time.
      auto wait = asked.value_or(std::chrono::seconds(60));
      if (waits < policy_.max_rate_limit_waits && wait <= policy_.max_rate_limit_wait) {
        ++waits;
        sleeper_.sleep_for(std::chrono::duration_cast<std::chrono::milliseconds>(wait));
        continue;
      }
      return tl::unexpected(Error{ErrorCode::rate_limited,
                                  context + ": HTTP " + std::to_string(response->status) + ": " +
                                      api_error_message(response->body) +
                                      " (the service asks to wait " + std::to_string(wait.count()) +
                                      " s)",
                                  response->status, asked});
    }
    if (retryable && attempts < policy_.max_attempts) {
      sleeper_.sleep_for(backoff);
      backoff *= 2;
      continue;
    }
    if (!response) return tl::unexpected(response.error().context(context));
    if (response->status >= 400) {
      return tl::unexpected(Error{code_for(response->status),
                                  context + ": HTTP " + std::to_string(response->status) + ": " +
                                      api_error_message(response->body),
                                  response->status});
    }
    return std::move(*response);
  }
}

}  // namespace forgehand
