// The probe manager running grpc probes: a readiness probe against a real grpc.health.v1 server
// (tests/fixtures/grpc_health/server.py) whose answer the test flips through its state file, on a
// real libuv loop with a shortened probe second.
#include <gtest/gtest.h>
#include <uv.h>

#include <fstream>
#include <mutex>

#include "prober/manager.h"
#include "runtime/fake_runtime.h"
#include "unit/prober/grpc_server.h"
#include "unit/prober/manager_fixture.h"
#include "util/metrics.h"
#include "util/timefmt.h"

namespace nanolet::prober {
namespace {

using testing::GrpcServer;

class GrpcManagerTest : public testing::ProbeManagerTestBase {
 protected:
  GrpcManagerTest() : rt_(clock_) { StartManager(rt_, std::chrono::milliseconds(50)); }  // a "second" of 50 ms
  bool RunUntil(const std::function<bool()>& pred) { return ProbeManagerTestBase::RunUntil(pred, 10000); }
  // The container's readiness result: true/false, nullopt before the first probe.
  std::optional<bool> Readiness(const std::string& uid, const std::string& cid) {
    auto r = mgr_->Results(uid);
    auto it = r.find(cid);
    if (it == r.end() || !it->second.readiness) return std::nullopt;
    return *it->second.readiness == ProbeResult::kSuccess;
  }
  double Count(const std::string& result, const std::string& pod) {
    return metrics::Registry::Default()
        .Counter("prober_probe_total", "", {})
        .With({"Readiness", result, "app", pod, "default"})
        .Value();
  }

  runtime::FakeRuntime rt_;
};

TEST_F(GrpcManagerTest, ReadinessFollowsServingBothWays) {
  std::string state = ::testing::TempDir() + "grpc_state_" + std::to_string(::getpid());
  auto set_state = [&](const char* s) { std::ofstream(state) << s << "\n"; };
  set_state("NOT_SERVING");
  GrpcServer server("SERVING", "", 0, state);
  ASSERT_GT(server.port(), 0);

  api::Pod pod;
  pod.metadata.uid = "g1";
  pod.metadata.name = "grpc-g1";
  pod.metadata.namespace_ = "default";
  pod.spec.restart_policy = "Always";
  api::Container c;
  c.name = "app";
  api::Probe p;
  p.period_seconds = 1;
  p.timeout_seconds = 20;  // 1 s of real time
  p.success_threshold = 1;
  p.failure_threshold = 1;
  p.handler.grpc = api::GRPCAction{server.port(), std::nullopt};
  c.readiness_probe = p;
  pod.spec.containers.push_back(c);
  mgr_->AddPod(pod);
  api::PodStatus st;
  st.pod_ip = "127.0.0.1";
  api::ContainerStatus cs;
  cs.name = "app";
  cs.container_id = "runc://cid-g1";
  cs.state.running = api::ContainerStateRunning{FormatRFC3339(clock_.Now())};
  cs.started = true;
  st.container_statuses.push_back(cs);
  mgr_->UpdatePodStatus("g1", st);

  EXPECT_TRUE(RunUntil([&] { return Count("failed", "grpc-g1") >= 1; }));
  EXPECT_EQ(Readiness("g1", "cid-g1"), std::optional<bool>(false));
  set_state("SERVING");
  EXPECT_TRUE(RunUntil([&] { return Readiness("g1", "cid-g1") == std::optional<bool>(true); }));
  EXPECT_GE(Count("successful", "grpc-g1"), 1);
  set_state("NOT_SERVING");
  EXPECT_TRUE(RunUntil([&] { return Readiness("g1", "cid-g1") == std::optional<bool>(false); }));
  EXPECT_FALSE(changes_.empty());
  mgr_->RemovePod("g1");
  EXPECT_TRUE(RunUntil([&] { return mgr_->network_probes_in_flight() == 0; }));
  std::remove(state.c_str());
}

}  // namespace
}  // namespace nanolet::prober
