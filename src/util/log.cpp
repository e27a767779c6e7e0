#include "util/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>

#include "util/redact.h"

namespace forgehand::log {

namespace {
std::atomic<Level> g_min_level{Level::info};
std::mutex g_sink_mutex;
std::function<void(std::string_view)> g_sink;

std::string_view level_name(Level level) {
  switch (level) {
    case Level::debug:
      return "debug";
    case Level::info:
      return "info";
    case Level::warn:
      return "warn";
    case Level::error:
      return "error";
  }
  return "info";
}

void write_stderr(std::string_view line) {
  // One write() per line keeps lines whole across threads and processes sharing the stream.
  const char* data = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(STDERR_FILENO, data, left);
    if (n <= 0) return;
    data += n;
    left -= static_cast<std::size_t>(n);
  }
}
}  // namespace

void write(Level level, std::string_view message, std::initializer_list<Field> fields) {
  if (level < g_min_level.load(std::memory_order_relaxed)) return;
  auto now = std::chrono::system_clock::now();
  nlohmann::json line;
  line["ts"] = std::chrono::duration<double>(now.time_since_epoch()).count();
  line["level"] = level_name(level);
  line["msg"] = message;
  for (const Field& field : fields) {
    std::visit([&](const auto& value) { line[std::string(field.key)] = value; }, field.value);
  }
  // Replacement keeps a line valid JSON even when a field carries invalid UTF-8 from a request.
  std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  text = redact(text);
  text.push_back('\n');
  std::lock_guard lock(g_sink_mutex);
  if (g_sink) {
    g_sink(text);
  } else {
    write_stderr(text);
  }
}

void set_min_level(Level level) { g_min_level.store(level); }

void set_sink(std::function<void(std::string_view)> sink) {
  std::lock_guard lock(g_sink_mutex);
  g_sink = std::move(sink);
}

}  // namespace forgehand::log
