#include "util/redact.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <nlohmann/json.hpp>
#include <utility>

namespace forgehand {

namespace {

using Span = std::pair<std::size_t, std::size_t>;  // [begin, end)

bool is_token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

std::size_t token_end(std::string_view text, std::size_t from, bool allow_dots = false) {
  while (from < text.size() && (is_token_char(text[from]) || (allow_dots && text[from] == '.'))) {
    ++from;
  }
  return from;
}

// A credential recognised by how it starts. Prefixes are the issuers' documented formats:
// GitHub "About authentication to GitHub" (token prefixes), GitLab "Token overview" (prefixes),
// OpenAI/Anthropic/OpenRouter/DeepSeek/Moonshot keys (`sk-...`), Google API keys (`AIza`), Slack
// (`xox?-`), AWS access key ids (`AKIA`), Standard Webhooks signing secrets (`whsec_`).
struct Shape {
  std::string_view prefix;
  std::size_t min_body;  // characters after the prefix for it to count as a credential
};

constexpr std::array kShapes = {
    Shape{"ghp_", 20},      Shape{"gho_", 20},        Shape{"ghu_", 20},    Shape{"ghs_", 20},
    Shape{"ghr_", 20},      Shape{"github_pat_", 20}, Shape{"glpat-", 16},  Shape{"gloas-", 16},
    Shape{"gldt-", 16},     Shape{"glrt-", 16},       Shape{"glcbt-", 16},  Shape{"glptt-", 16},
    Shape{"glft-", 16},     Shape{"glimt-", 16},      Shape{"glsoat-", 16}, Shape{"sk-", 20},
    Shape{"AIza", 30},      Shape{"xoxb-", 10},       Shape{"xoxp-", 10},   Shape{"xoxa-", 10},
    Shape{"xoxr-", 10},     Shape{"xoxs-", 10},       Shape{"AKIA", 16},    Shape{"whsec_", 16},
    Shape{"fh_proxy_", 16},
};

void find_prefixed_tokens(std::string_view text, std::vector<Span>& spans) {
  for (const Shape& shape : kShapes) {
    for (std::size_t at = text.find(shape.prefix); at != std::string_view::npos;
         at = text.find(shape.prefix, at + 1)) {
      if (at > 0 && is_token_char(text[at - 1])) continue;  // "disk-..." is not "sk-..."
      std::size_t end = token_end(text, at + shape.prefix.size());
      if (end - at - shape.prefix.size() >= shape.min_body) spans.emplace_back(at, end);
    }
  }
}

// Three dot-separated base64url parts whose first two open with `{"`: a JWT (GitHub App JWTs,
// OAuth id tokens).
void find_jwts(std::string_view text, std::vector<Span>& spans) {
  for (std::size_t at = text.find("eyJ"); at != std::string_view::npos;
       at = text.find("eyJ", at + 1)) {
    if (at > 0 && is_token_char(text[at - 1])) continue;
    std::size_t end = token_end(text, at, true);
    std::string_view candidate = text.substr(at, end - at);
    if (std::count(candidate.begin(), candidate.end(), '.') >= 2 && candidate.size() >= 32) {
      spans.emplace_back(at, end);
    }
  }
}

void find_private_keys(std::string_view text, std::vector<Span>& spans) {
  constexpr std::string_view kBegin = "-----BEGIN ";
  for (std::size_t at = text.find(kBegin); at != std::string_view::npos;
       at = text.find(kBegin, at + 1)) {
    std::size_t line_end = text.find("-----", at + kBegin.size());
    if (line_end == std::string_view::npos) return;
    std::string_view label = text.substr(at + kBegin.size(), line_end - at - kBegin.size());
    if (label.find("PRIVATE KEY") == std::string_view::npos) continue;
    std::size_t end_marker = text.find("-----END ", line_end);
    // A key cut short (a truncated log line) is still a key: redact to the end.
    std::size_t end = text.size();
    if (end_marker != std::string_view::npos) {
      std::size_t close = text.find("-----", end_marker + 9);
      end = close == std::string_view::npos ? text.size() : close + 5;
    }
    spans.emplace_back(at, end);
  }
}

bool is_credential_char(char c) {
  return is_token_char(c) || c == '.' || c == '+' || c == '/' || c == '=' || c == '~';
}

std::size_t credential_end(std::string_view text, std::size_t from) {
  while (from < text.size() && is_credential_char(text[from])) ++from;
  return from;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// `Bearer X` anywhere, and whatever follows an `Authorization:` header name (`token X`, GitHub's
// older scheme, `Basic X`, a bare key), keep the scheme word and hide the credential.
void find_authorization_values(std::string_view text, std::vector<Span>& spans) {
  constexpr std::string_view kBearer = "Bearer ";
  for (std::size_t at = text.find(kBearer); at != std::string_view::npos;
       at = text.find(kBearer, at + 1)) {
    std::size_t begin = at + kBearer.size();
    std::size_t end = credential_end(text, begin);
    if (end - begin >= 16) spans.emplace_back(begin, end);
  }
  constexpr std::string_view kHeader = "authorization";
  for (std::size_t at = 0; at + kHeader.size() <= text.size(); ++at) {
    if (!equals_ignoring_case(text.substr(at, kHeader.size()), kHeader)) continue;
    std::size_t begin = at + kHeader.size();
    if (begin < text.size() && text[begin] == '"') ++begin;  // a JSON key
    if (begin >= text.size() || text[begin] != ':') continue;
    ++begin;
    while (begin < text.size() && (text[begin] == ' ' || text[begin] == '"')) ++begin;
    std::size_t end = credential_end(text, begin);
    if (end < text.size() && text[end] == ' ') {  // a scheme word, then the credential
      begin = end + 1;
      end = credential_end(text, begin);
    }
    if (end > begin) spans.emplace_back(begin, end);
  }
}

// `https://user:password@host/...`: the password part goes; the user name stays for debugging.
void find_url_passwords(std::string_view text, std::vector<Span>& spans) {
  for (std::size_t at = text.find("://"); at != std::string_view::npos;
       at = text.find("://", at + 1)) {
    std::size_t authority = at + 3;
    std::size_t stop = authority;
    while (stop < text.size() && text[stop] != '/' && text[stop] != '@' && text[stop] != ' ' &&
           text[stop] != '\n' && text[stop] != '"') {
      ++stop;
    }
    if (stop >= text.size() || text[stop] != '@') continue;
    std::size_t colon = text.find(':', authority);
    if (colon == std::string_view::npos || colon >= stop || colon + 1 == stop) continue;
    spans.emplace_back(colon + 1, stop);
  }
}

std::string apply(std::string_view text, std::vector<Span>& spans) {
  if (spans.empty()) return std::string(text);
  std::sort(spans.begin(), spans.end());
  std::string out;
  out.reserve(text.size());
  std::size_t copied = 0;
  for (std::size_t i = 0; i < spans.size(); ++i) {
    auto [begin, end] = spans[i];
    if (end <= copied) continue;
    begin = std::max(begin, copied);
    while (i + 1 < spans.size() && spans[i + 1].first <= end) {
      end = std::max(end, spans[++i].second);
    }
    out.append(text.substr(copied, begin - copied));
    out.append(kRedacted);
    copied = end;
  }
  out.append(text.substr(copied));
  return out;
}

void find_shapes(std::string_view text, std::vector<Span>& spans) {
  find_prefixed_tokens(text, spans);
  find_jwts(text, spans);
  find_private_keys(text, spans);
  find_authorization_values(text, spans);
  find_url_passwords(text, spans);
}

}  // namespace

void Redactor::add(std::string_view value) {
  std::vector<std::string> forms;
  forms.emplace_back(value);
  std::string escaped = nlohmann::json(std::string(value))
                            .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  forms.push_back(escaped.substr(1, escaped.size() - 2));
  if (value.find('\n') != std::string_view::npos) {
    std::size_t start = 0;
    while (start < value.size()) {
      std::size_t end = value.find('\n', start);
      if (end == std::string_view::npos) end = value.size();
      std::string_view line = value.substr(start, end - start);
      if (line.size() >= 2 * kMinimumValueLength && !line.starts_with("-----")) {
        forms.emplace_back(line);
      }
      start = end + 1;
    }
  }
  std::lock_guard lock(mutex_);
  for (std::string& form : forms) {
    if (form.size() < kMinimumValueLength) continue;
    if (std::find(values_.begin(), values_.end(), form) != values_.end()) continue;
    values_.push_back(std::move(form));
  }
  std::stable_sort(values_.begin(), values_.end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

void Redactor::remove(std::string_view value) {
  std::lock_guard lock(mutex_);
  std::erase(values_, std::string(value));
}

std::string Redactor::redact(std::string_view text) const {
  std::vector<Span> spans;
  {
    std::shared_lock lock(mutex_);
    for (const std::string& value : values_) {
      for (std::size_t at = text.find(value); at != std::string_view::npos;
           at = text.find(value, at + value.size())) {
        spans.emplace_back(at, at + value.size());
      }
    }
  }
  find_shapes(text, spans);
  return apply(text, spans);
}

Redactor& process_redactor() {
  static Redactor redactor;
  return redactor;
}

}  // namespace forgehand
