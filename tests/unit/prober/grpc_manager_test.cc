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
#include "util/metrics.h"
#include "util/timefmt.h"

namespace nanolet::prober {
namespace {

using testing::GrpcServer;

class GrpcManagerTest : public ::testing::Test {
 protected:
  GrpcManagerTest() : rt_(clock_) {
    uv_loop_init(&loop_);
    uv_async_init(&loop_, &async_,
                  [](uv_async_t* a) { static_cast<GrpcManagerTest*>(a->data)->Drain(); });
    async_.data = this;
    ProbeManagerOptions o;
    o.second = std::chrono::milliseconds(50);  // a probe "second" of 50 ms
    o.jitter_at_startup = false;
    mgr_ = std::make_unique<ProbeManager>(
        &loop_, rt_, clock_,
        [this](std::function<void()> fn) {
          {
            std::lock_guard<std::mutex> l(post_mu_);
            posted_.push_back(std::move(fn));
          }
          uv_async_send(&async_);
        },
        [this](const std::string& uid) { changes_.push_back(uid); }, o);
  }
  ~GrpcManagerTest() override {
    mgr_.reset();
    uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0);
  }
  void Drain() {
    std::vector<std::function<void()>> fns;
    {
      std::lock_guard<std::mutex> l(post_mu_);
      fns.swap(posted_);
    }
    for (auto& f : fns) f();
  }
  bool RunUntil(const std::function<bool()>& pred, uint64_t ms = 10000) {
    uv_timer_t deadline;
    uv_timer_init(&loop_, &deadline);
    uv_timer_start(
        &deadline, [](uv_timer_t*) {}, ms, 0);
    while (!pred() && uv_is_active(reinterpret_cast<uv_handle_t*>(&deadline)))
      uv_run(&loop_, UV_RUN_ONCE);
    uv_close(reinterpret_cast<uv_handle_t*>(&deadline), nullptr);
    uv_run(&loop_, UV_RUN_NOWAIT);
    return pred();
  }
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

  uv_loop_t loop_;
  uv_async_t async_;
  FakeClock clock_;
  runtime::FakeRuntime rt_;
  std::mutex post_mu_;
  std::vector<std::function<void()>> posted_;
  std::vector<std::string> changes_;
  std::unique_ptr<ProbeManager> mgr_;
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
