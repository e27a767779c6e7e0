#pragma once
// A minimal Prometheus registry: labelled counters, fixed-bucket histograms and gauges read at
// scrape time, rendered in the text exposition format (version 0.0.4).
// Thread-safe: metrics may be updated from any thread while another renders.

#include <atomic>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace forgehand::metrics {

class Counter {
 public:
  Counter(std::string name, std::string help, std::vector<std::string> label_names);

  // `label_values` must match the label names in number and order.
  void inc(std::initializer_list<std::string_view> label_values, double by = 1);
  double value(std::initializer_list<std::string_view> label_values) const;
  void render(std::string& out) const;

 private:
  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
  mutable std::mutex mutex_;
  std::map<std::vector<std::string>, double, std::less<>> values_;
};

class Histogram {
 public:
  // `upper_bounds` ascending; +Inf is implied.
  Histogram(std::string name, std::string help, std::vector<double> upper_bounds);

  void observe(double value);
  std::uint64_t count() const;
  void render(std::string& out) const;

 private:
  std::string name_;
  std::string help_;
  std::vector<double> upper_bounds_;
  // One per bound plus one past the last, not cumulative. The count is their sum, so a scrape
  // racing an observation still renders a +Inf bucket equal to its _count.
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;
  std::atomic<double> sum_{0};
};

class Registry {
 public:
  Counter& counter(std::string name, std::string help, std::vector<std::string> label_names);
  Histogram& histogram(std::string name, std::string help, std::vector<double> upper_bounds);
  // `read` is called at every scrape, outside the registry's lock.
  void gauge(std::string name, std::string help, std::function<double()> read);

  std::string render() const;

 private:
  struct Gauge {
    std::string name;
    std::string help;
    std::function<double()> read;
  };
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Counter>> counters_;
  std::vector<std::unique_ptr<Histogram>> histograms_;
  std::vector<Gauge> gauges_;
};

// Latency buckets in seconds, from 100 µs to 10 s.
std::vector<double> latency_buckets();

}  // namespace forgehand::metrics
