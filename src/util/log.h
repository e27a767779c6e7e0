#pragma once
// Structured logging: one JSON object per line on stderr (or a sink a test installs).
// Thread-safe: each line is written whole. Never pass a secret as a field.

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace forgehand::log {

enum class Level { debug, info, warn, error };

using Value = std::variant<std::string_view, std::int64_t, double, bool>;

struct Field {
  std::string_view key;
  Value value;

  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, const std::string& v) : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, bool v) : key(k), value(v) {}
  Field(std::string_view k, double v) : key(k), value(v) {}
  template <class Integer>
  requires std::is_integral_v<Integer> Field(std::string_view k, Integer v)
      : key(k), value(static_cast<std::int64_t>(v)) {}
};

void write(Level level, std::string_view message, std::initializer_list<Field> fields = {});

inline void info(std::string_view message, std::initializer_list<Field> fields = {}) {
  write(Level::info, message, fields);
}
inline void warn(std::string_view message, std::initializer_list<Field> fields = {}) {
  write(Level::warn, message, fields);
}
inline void error(std::string_view message, std::initializer_list<Field> fields = {}) {
  write(Level::error, message, fields);
}

// Lines below `level` are dropped.
void set_min_level(Level level);

// Replaces where lines go (a test's capture, say); an empty function restores stderr.
void set_sink(std::function<void(std::string_view line)> sink);

}  // namespace forgehand::log
