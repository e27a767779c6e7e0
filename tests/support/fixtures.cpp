#include "support/fixtures.h"

#include <stdlib.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "util/crypto.h"
#include "util/log.h"

namespace forgehand::testing {

namespace fs = std::filesystem;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

std::map<std::string, std::optional<std::string>> fixture_repository(std::string_view name) {
  fs::path root = fs::path(FORGEHAND_SOURCE_DIR) / "fixtures" / "repos" / name;
  std::map<std::string, std::optional<std::string>> files;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.is_regular_file()) {
      files[fs::relative(entry.path(), root).string()] = read_file(entry.path());
    }
  }
  return files;
}

Fixture load_fixture(std::string_view name) {
  fs::path base = fs::path(FORGEHAND_SOURCE_DIR) / "fixtures" / std::string(name);
  Fixture fixture;
  fixture.body = read_file(base.string() + ".json");
  std::istringstream lines(read_file(base.string() + ".headers"));
  std::string line;
  while (std::getline(lines, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    std::transform(key.begin(), key.end(), key.begin(), ::tolower);
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    fixture.headers[key] = value;
  }
  return fixture;
}

void sign(ForgeKind kind, std::string_view secret, std::string_view body, HeaderMap& headers) {
  std::string hex = crypto::hex_encode(crypto::hmac_sha256(secret, body));
  switch (kind) {
    case ForgeKind::github:
      headers["x-hub-signature-256"] = "sha256=" + hex;
      break;
    case ForgeKind::gitlab:
      headers["x-gitlab-token"] = std::string(secret);
      break;
    case ForgeKind::forgejo:
      headers["x-forgejo-signature"] = hex;
      [[fallthrough]];
    case ForgeKind::gitea:
      headers["x-gitea-signature"] = hex;
      headers["x-gogs-signature"] = hex;
      headers["x-hub-signature-256"] = "sha256=" + hex;
      break;
  }
}

void sign_gitlab_standard(std::string_view key, std::string_view webhook_id, long long timestamp,
                          std::string_view body, HeaderMap& headers) {
  std::string ts = std::to_string(timestamp);
  std::string content = std::string(webhook_id) + "." + ts + "." + std::string(body);
  headers["webhook-id"] = std::string(webhook_id);
  headers["webhook-timestamp"] = ts;
  headers["webhook-signature"] = "v1," + crypto::base64_encode(crypto::hmac_sha256(key, content));
}

TempDir::TempDir() {
  std::string pattern = (fs::temp_directory_path() / "forgehand-test.XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

LogCapture::LogCapture() {
  log::set_sink([this](std::string_view line) {
    std::lock_guard lock(mutex_);
    text_ += line;
  });
}

LogCapture::~LogCapture() { log::set_sink({}); }

std::string LogCapture::text() {
  std::lock_guard lock(mutex_);
  return text_;
}

}  // namespace forgehand::testing
