// Metrics the node API exposes: the runtime decorator (kubelet/instrumented_runtime.h, tested here
// because it feeds /metrics) and kubelet_pod_start_duration_seconds.
#include <gtest/gtest.h>

#include "kubelet/instrumented_runtime.h"
#include "runtime/fake_runtime.h"
#include "server/read_only_server.h"
#include "util/timefmt.h"

namespace nanolet::server {
namespace {

bool Has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

TEST(InstrumentedRuntime, CountsOperationsAndErrors) {
  FakeClock clock;
  runtime::FakeRuntime fake(clock);
  metrics::Registry reg;
  kubelet::InstrumentedRuntime rt(fake, &reg);
  fake.AddImage("busybox");
  ASSERT_TRUE(rt.Version().ok());
  EXPECT_TRUE(rt.ImageStatus("busybox").ok());
  EXPECT_FALSE(rt.ImageStatus("absent").ok());  // NotFound: not an error, as CRI
  fake.InjectError("StartContainer", Error("boom"));
  EXPECT_FALSE(rt.StartContainer("nope").ok());
  std::string text = reg.Expose();
  EXPECT_TRUE(Has(text, "kubelet_runtime_operations_total{operation_type=\"version\"} 1")) << text;
  EXPECT_TRUE(Has(text, "kubelet_runtime_operations_total{operation_type=\"image_status\"} 2"));
  EXPECT_TRUE(Has(text, "kubelet_runtime_operations_total{operation_type=\"start_container\"} 1"));
  EXPECT_TRUE(
      Has(text, "kubelet_runtime_operations_errors_total{operation_type=\"start_container\"} 1"));
  EXPECT_EQ(text.find("kubelet_runtime_operations_errors_total{operation_type=\"image_status\"}"),
            std::string::npos);
  EXPECT_NE(
      text.find("kubelet_runtime_operations_duration_seconds_count{operation_type=\"version\"} 1"),
      std::string::npos);
}

api::Pod StartPod(const std::string& uid, const std::string& phase, const std::string& seen) {
  api::Pod p;
  p.metadata.name = "p-" + uid;
  p.metadata.namespace_ = "default";
  p.metadata.uid = uid;
  p.metadata.annotations["kubernetes.io/config.seen"] = seen;
  p.status.phase = phase;
  return p;
}

TEST(PodStartDuration, ObservedOnceWhenRunningFirstSeen) {
  kubelet::SnapshotPodView view;
  FakeClock clock;
  clock.Set(*ParseRFC3339("2026-11-27T18:00:00Z"));
  metrics::Registry reg;
  ReadOnlyServerOptions o;
  o.address = "127.0.0.1";
  o.port = 0;
  o.housekeeping_interval = std::chrono::milliseconds(0);
  ReadOnlyServer s(o, view, nullptr, &reg, &clock);
  ASSERT_TRUE(s.Start().ok());
  // Already running at the first look (adopted after a restart): not observed.
  view.Publish({StartPod("old", "Running", "2026-11-27T17:00:00.000000000Z")});
  s.Housekeep();
  view.Publish({StartPod("old", "Running", "2026-11-27T17:00:00.000000000Z"),
                StartPod("new", "Pending", "2026-11-27T17:59:58.500000000Z")});
  s.Housekeep();
  EXPECT_TRUE(Has(reg.Expose(), "kubelet_pod_start_duration_seconds_count 0"));
  view.Publish({StartPod("old", "Running", "2026-11-27T17:00:00.000000000Z"),
                StartPod("new", "Running", "2026-11-27T17:59:58.500000000Z")});
  s.Housekeep();
  s.Housekeep();  // seen again: not observed twice
  std::string text = reg.Expose();
  EXPECT_TRUE(Has(text, "kubelet_pod_start_duration_seconds_count 1")) << text;
  EXPECT_TRUE(Has(text, "kubelet_pod_start_duration_seconds_sum 1.5")) << text;
  EXPECT_TRUE(Has(text, "kubelet_pod_start_duration_seconds_bucket{le=\"1\"} 0")) << text;
  EXPECT_TRUE(Has(text, "kubelet_pod_start_duration_seconds_bucket{le=\"2\"} 1")) << text;
  EXPECT_TRUE(Has(text, "kubelet_pod_start_duration_seconds_bucket{le=\"3600\"} 1")) << text;
}

}  // namespace
}  // namespace nanolet::server
