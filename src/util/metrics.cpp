#include "util/metrics.h"

#include <charconv>
#include <cmath>

namespace forgehand::metrics {

namespace {
void append_number(std::string& out, double value) {
  if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
    return;
  }
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, end);
}

void append_label_value(std::string& out, std::string_view value) {
  out.push_back('"');
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
}

void append_header(std::string& out, std::string_view name, std::string_view help,
                   std::string_view type) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}
}  // namespace

Counter::Counter(std::string name, std::string help, std::vector<std::string> label_names)
    : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}

void Counter::inc(std::initializer_list<std::string_view> label_values, double by) {
  std::vector<std::string> key(label_values.begin(), label_values.end());
  key.resize(label_names_.size());
  std::lock_guard lock(mutex_);
  values_[std::move(key)] += by;
}

double Counter::value(std::initializer_list<std::string_view> label_values) const {
  std::vector<std::string> key(label_values.begin(), label_values.end());
  std::lock_guard lock(mutex_);
  auto it = values_.find(key);
  return it == values_.end() ? 0 : it->second;
}

void Counter::render(std::string& out) const {
  append_header(out, name_, help_, "counter");
  std::lock_guard lock(mutex_);
  for (const auto& [labels, value] : values_) {
    out += name_;
    if (!label_names_.empty()) {
      out.push_back('{');
      for (std::size_t i = 0; i < label_names_.size(); ++i) {
        if (i > 0) out.push_back(',');
        out += label_names_[i];
        out.push_back('=');
        append_label_value(out, labels[i]);
      }
      out.push_back('}');
    }
    out.push_back(' ');
    append_number(out, value);
    out.push_back('\n');
  }
}

Histogram::Histogram(std::string name, std::string help, std::vector<double> upper_bounds)
    : name_(std::move(name)),
      help_(std::move(help)),
      upper_bounds_(std::move(upper_bounds)),
      buckets_(new std::atomic<std::uint64_t>[upper_bounds_.size() + 1]) {
  for (std::size_t i = 0; i <= upper_bounds_.size(); ++i) buckets_[i] = 0;
}

void Histogram::observe(double value) {
  std::size_t bucket = 0;
  while (bucket < upper_bounds_.size() && value > upper_bounds_[bucket]) ++bucket;
  buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  double sum = sum_.load(std::memory_order_relaxed);
  while (!sum_.compare_exchange_weak(sum, sum + value, std::memory_order_relaxed)) {
  }
}

std::uint64_t Histogram::count() const {
  std::uint64_t total = 0;
  for (std::size_t i = 0; i <= upper_bounds_.size(); ++i) {
    total += buckets_[i].load(std::memory_order_relaxed);
  }
  return total;
}

void Histogram::render(std::string& out) const {
  append_header(out, name_, help_, "histogram");
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < upper_bounds_.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    out += name_ + "_bucket{le=\"";
    append_number(out, upper_bounds_[i]);
    out += "\"} " + std::to_string(cumulative) + "\n";
  }
  std::uint64_t total = cumulative + buckets_[upper_bounds_.size()].load(std::memory_order_relaxed);
  out += name_ + "_bucket{le=\"+Inf\"} " + std::to_string(total) + "\n";
  out += name_ + "_sum ";
  append_number(out, sum_.load(std::memory_order_relaxed));
  out += "\n" + name_ + "_count " + std::to_string(total) + "\n";
}

Counter& Registry::counter(std::string name, std::string help,
                           std::vector<std::string> label_names) {
  std::lock_guard lock(mutex_);
  counters_.push_back(
      std::make_unique<Counter>(std::move(name), std::move(help), std::move(label_names)));
  return *counters_.back();
}

Histogram& Registry::histogram(std::string name, std::string help,
                               std::vector<double> upper_bounds) {
  std::lock_guard lock(mutex_);
  histograms_.push_back(
      std::make_unique<Histogram>(std::move(name), std::move(help), std::move(upper_bounds)));
  return *histograms_.back();
}

void Registry::gauge(std::string name, std::string help, std::function<double()> read) {
  std::lock_guard lock(mutex_);
  gauges_.push_back(Gauge{std::move(name), std::move(help), std::move(read)});
}

std::string Registry::render() const {
  std::vector<Gauge> gauges;
  std::string out;
  {
    std::lock_guard lock(mutex_);
    for (const auto& counter : counters_) counter->render(out);
    for (const auto& histogram : histograms_) histogram->render(out);
    gauges = gauges_;
  }
  for (const Gauge& gauge : gauges) {
    append_header(out, gauge.name, gauge.help, "gauge");
    out += gauge.name + " ";
    append_number(out, gauge.read());
    out.push_back('\n');
  }
  return out;
}

std::vector<double> latency_buckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
}

}  // namespace forgehand::metrics
