#include "util/secret.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "util/log.h"
#include "util/redact.h"

namespace forgehand {

namespace {
constexpr std::string_view kEnvPrefix = "env:";
constexpr std::string_view kFilePrefix = "file:";
}  // namespace

bool is_secret_reference(std::string_view text) {
  return (text.starts_with(kEnvPrefix) && text.size() > kEnvPrefix.size()) ||
         (text.starts_with(kFilePrefix) && text.size() > kFilePrefix.size());
}

Result<Secret> resolve_secret(std::string_view reference) {
  if (!is_secret_reference(reference)) {
    return fail(ErrorCode::config, "secret must be a reference, env:NAME or file:PATH");
  }
  std::string value;
  if (reference.starts_with(kEnvPrefix)) {
    std::string name(reference.substr(kEnvPrefix.size()));
    const char* found = std::getenv(name.c_str());
    if (found == nullptr) {
      return fail(ErrorCode::config, "environment variable " + name + " is not set");
    }
    value = found;
  } else {
    std::string path(reference.substr(kFilePrefix.size()));
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      return fail(ErrorCode::config, "cannot read " + path + ": " + std::strerror(errno));
    }
    std::ostringstream content;
    content << in.rdbuf();
    value = content.str();
    while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
  }
  if (value.empty()) {
    return fail(ErrorCode::config, std::string(reference) + " is empty");
  }
  if (value.size() < Redactor::kMinimumValueLength) {
    log::warn("secret is too short to be redacted from output; use a longer one",
              {{"reference", reference}, {"minimum_length", Redactor::kMinimumValueLength}});
  }
  process_redactor().add(value);
  return Secret(std::move(value));
}

}  // namespace forgehand
