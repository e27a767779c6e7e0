#include "util/metrics.h"

#include <doctest/doctest.h>

using namespace forgehand;

TEST_CASE("counters render one series per label set, escaping label values") {
  metrics::Registry registry;
  auto& counter = registry.counter("requests_total", "Requests.", {"instance", "outcome"});
  counter.inc({"github", "accepted"});
  counter.inc({"github", "accepted"});
  counter.inc({"odd\"name\\", "ignored"}, 3);
  std::string text = registry.render();
  CHECK(text.find("# TYPE requests_total counter\n") != std::string::npos);
  CHECK(text.find("requests_total{instance=\"github\",outcome=\"accepted\"} 2\n") !=
        std::string::npos);
  CHECK(text.find(R"(requests_total{instance="odd\"name\\",outcome="ignored"} 3)") !=
        std::string::npos);
  CHECK(counter.value({"github", "accepted"}) == 2);
}

TEST_CASE("histograms render cumulative buckets, sum and count") {
  metrics::Registry registry;
  auto& histogram = registry.histogram("latency_seconds", "Latency.", {0.01, 0.1});
  histogram.observe(0.005);
  histogram.observe(0.05);
  histogram.observe(5);
  std::string text = registry.render();
  CHECK(text.find("latency_seconds_bucket{le=\"0.01\"} 1\n") != std::string::npos);
  CHECK(text.find("latency_seconds_bucket{le=\"0.1\"} 2\n") != std::string::npos);
  CHECK(text.find("latency_seconds_bucket{le=\"+Inf\"} 3\n") != std::string::npos);
  CHECK(text.find("latency_seconds_count 3\n") != std::string::npos);
  CHECK(histogram.count() == 3);
}

TEST_CASE("gauges are read at scrape time") {
  metrics::Registry registry;
  double depth = 4;
  registry.gauge("queue_depth", "Depth.", [&] { return depth; });
  CHECK(registry.render().find("queue_depth 4\n") != std::string::npos);
  depth = 7;
  CHECK(registry.render().find("queue_depth 7\n") != std::string::npos);
}
