#include "util/metrics.h"

#include <gtest/gtest.h>

#include <thread>

namespace nanolet::metrics {
namespace {

TEST(Metrics, CounterGaugeExposition) {
  Registry r;
  auto& c = r.Counter("kubelet_runtime_operations_total",
                      "Cumulative number of runtime operations.", {"operation_type"});
  c.With({"create_container"}).Inc();
  c.With({"create_container"}).Inc(2);
  c.With({"a\"b\\c\nd"}).Inc();
  c.With({"x"}).Inc(-5);  // ignored
  r.Gauge("kubelet_running_pods", "Number of pods.").Get().Set(3);
  std::string text = r.Expose();
  EXPECT_EQ(text,
            "# HELP kubelet_running_pods Number of pods.\n"
            "# TYPE kubelet_running_pods gauge\n"
            "kubelet_running_pods 3\n"
            "# HELP kubelet_runtime_operations_total Cumulative number of runtime operations.\n"
            "# TYPE kubelet_runtime_operations_total counter\n"
            "kubelet_runtime_operations_total{operation_type=\"a\\\"b\\\\c\\nd\"} 1\n"
            "kubelet_runtime_operations_total{operation_type=\"create_container\"} 3\n"
            "kubelet_runtime_operations_total{operation_type=\"x\"} 0\n");
}

TEST(Metrics, SameNameReturnsSameFamily) {
  Registry r;
  auto& a = r.Counter("c_total", "h");
  auto& b = r.Counter("c_total", "other help");
  EXPECT_EQ(&a, &b);
}

TEST(Metrics, EmptyFamiliesOmitted) {
  Registry r;
  r.Counter("unused_total", "h", {"l"});
  EXPECT_EQ(r.Expose(), "");
}

TEST(Metrics, HistogramBucketsCumulative) {
  Registry r;
  auto& h = r.Histogram("op_seconds", "Latency.", {"op"}, {0.1, 1});
  auto& s = h.With({"pull"});
  s.Observe(0.05);
  s.Observe(0.1);  // le is inclusive
  s.Observe(0.5);
  s.Observe(7);
  EXPECT_EQ(r.Expose(),
            "# HELP op_seconds Latency.\n"
            "# TYPE op_seconds histogram\n"
            "op_seconds_bucket{op=\"pull\",le=\"0.1\"} 2\n"
            "op_seconds_bucket{op=\"pull\",le=\"1\"} 3\n"
            "op_seconds_bucket{op=\"pull\",le=\"+Inf\"} 4\n"
            "op_seconds_sum{op=\"pull\"} 7.65\n"
            "op_seconds_count{op=\"pull\"} 4\n");
}

TEST(Metrics, ConcurrentIncrementsAreCounted) {
  Registry r;
  auto& c = r.Counter("n_total", "h", {"t"});
  std::vector<std::thread> ts;
  for (int i = 0; i < 4; ++i) {
    ts.emplace_back([&] {
      for (int j = 0; j < 10000; ++j) c.With({"x"}).Inc();
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(c.With({"x"}).Value(), 40000);
}

TEST(Metrics, FormatValue) {
  EXPECT_EQ(FormatValue(0), "0");
  EXPECT_EQ(FormatValue(12345678901), "12345678901");
  EXPECT_EQ(FormatValue(0.25), "0.25");
  EXPECT_EQ(FormatValue(1.0 / 0.0), "+Inf");
}

}  // namespace
}  // namespace nanolet::metrics
