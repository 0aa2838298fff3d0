// The probe manager on a real libuv loop with a shortened probe second: workers tick on timers,
// exec goes through the runtime's ExecSync on the pool, httpGet hits a loopback server, results
// flow to on_change, metrics count each probe.
#include "prober/manager.h"

#include <gtest/gtest.h>
#include <uv.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>

#include "runtime/runtime.h"
#include "unit/prober/loopback_server.h"
#include "unit/prober/manager_fixture.h"
#include "util/metrics.h"
#include "util/timefmt.h"

namespace nanolet::prober {
namespace {

using testing::LoopbackServer;
using testing::Reply;

// Only ExecSync answers (scripted); the prober needs nothing else of a runtime.
class ExecRuntime final : public runtime::Runtime {
 public:
  std::atomic<int> exit_code{0};
  std::atomic<bool> time_out{false};
  std::atomic<int> calls{0};
  std::atomic<int> errors{0};  // the next calls that fail in the runtime (an error, not a failed command)
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> last_cmd;  // guarded by mu
  bool block = false;                 // guarded by mu: ExecSync waits until it is cleared
  int blocked = 0;                    // guarded by mu: calls waiting

  void Release() {
    {
      std::lock_guard<std::mutex> l(mu);
      block = false;
    }
    cv.notify_all();
  }

  Result<runtime::ExecResult> ExecSync(const std::string&, const std::vector<std::string>& cmd,
                                       std::chrono::milliseconds) override {
    ++calls;
    {
      std::unique_lock<std::mutex> l(mu);
      last_cmd = cmd;
      ++blocked;
      // Bounded, so that a failing test cannot hang the pool's destructor.
      cv.wait_for(l, std::chrono::seconds(10), [this] { return !block; });
      --blocked;
    }
    if (errors > 0) {
      --errors;
      return Error("runtime exec failed");
    }
    runtime::ExecResult r;
    r.exit_code = time_out ? -1 : exit_code.load();
    r.timed_out = time_out;
    r.out = "out\n";
    return r;
  }
  Result<runtime::VersionInfo> Version() override { return Error("stub"); }
  Result<std::string> RunPodSandbox(const runtime::SandboxConfig&) override {
    return Error("stub");
  }
  Result<void> StopPodSandbox(const std::string&) override { return Error("stub"); }
  Result<void> RemovePodSandbox(const std::string&) override { return Error("stub"); }
  Result<runtime::SandboxStatus> PodSandboxStatus(const std::string&) override {
    return Error("stub");
  }
  Result<std::vector<runtime::SandboxStatus>> ListPodSandboxes() override { return Error("stub"); }
  Result<std::string> CreateContainer(const std::string&, const runtime::ContainerConfig&,
                                      const runtime::SandboxConfig&) override {
    return Error("stub");
  }
  Result<void> StartContainer(const std::string&) override { return Error("stub"); }
  Result<void> StopContainer(const std::string&, std::chrono::milliseconds) override {
    return Error("stub");
  }
  Result<void> RemoveContainer(const std::string&) override { return Error("stub"); }
  Result<runtime::ContainerStatus> GetContainerStatus(const std::string&) override {
    return Error("stub");
  }
  Result<std::vector<runtime::ContainerStatus>> ListContainers() override { return Error("stub"); }
  Result<runtime::ImageInfo> ImageStatus(const std::string&) override { return Error("stub"); }
  Result<runtime::ImageInfo> PullImage(const std::string&, const runtime::PullAuth&) override {
    return Error("stub");
  }
  Result<std::vector<runtime::ImageInfo>> ListImages() override { return Error("stub"); }
  Result<void> RemoveImage(const std::string&) override { return Error("stub"); }
  void SetEventHandler(std::function<void(const runtime::ContainerEvent&)>) override {}
};

class ManagerTest : public testing::ProbeManagerTestBase {
 protected:
  ManagerTest() { StartManager(rt_, std::chrono::milliseconds(20)); }  // a probe "second" of 20 ms

  api::Pod MakePod(const std::string& uid) {
    api::Pod p;
    p.metadata.uid = uid;
    p.metadata.name = "web-" + uid;
    p.metadata.namespace_ = "default";
    p.spec.restart_policy = "Always";
    return p;
  }
  static api::Probe Probe(int failure = 1) {
    api::Probe p;
    p.period_seconds = 1;
    p.timeout_seconds = 10;
    p.success_threshold = 1;
    p.failure_threshold = failure;
    return p;
  }
  api::PodStatus Status(const std::string& cname, const std::string& cid, bool started = true) {
    api::PodStatus s;
    s.pod_ip = "127.0.0.1";
    api::ContainerStatus c;
    c.name = cname;
    c.container_id = "runc://" + cid;
    c.state.running = api::ContainerStateRunning{FormatRFC3339(clock_.Now())};
    c.started = started;
    s.container_statuses.push_back(c);
    return s;
  }
  double Count(const std::string& type, const std::string& result, const std::string& container,
               const std::string& pod) {
    return metrics::Registry::Default()
        .Counter("prober_probe_total", "", {})
        .With({type, result, container, pod, "default"})
        .Value();
  }

  ExecRuntime rt_;
};

TEST_F(ManagerTest, HttpReadiness_FlipsBothWays_AndTriggersSync) {
  std::atomic<int> status{200};
  LoopbackServer srv([&](const std::string&, const std::string&) {
    return Reply{status.load(), "", "ok"};
  });
  api::Pod pod = MakePod("u1");
  api::Container c;
  c.name = "app";
  c.ports.push_back({"http", 0, srv.port(), "TCP", ""});
  api::Probe p = Probe();
  p.handler.http_get =
      api::HTTPGetAction{"/healthz", api::IntOrString::Str("http"), "", "HTTP", {}};
  c.readiness_probe = p;
  pod.spec.containers.push_back(c);
  mgr_->AddPod(pod);
  EXPECT_EQ(mgr_->worker_count(), 1u);
  mgr_->UpdatePodStatus("u1", Status("app", "c1"));

  ASSERT_TRUE(RunUntil([&] { return !changes_.empty(); }));
  EXPECT_EQ(changes_[0], "u1");
  EXPECT_EQ(mgr_->Results("u1")["c1"].readiness, ProbeResult::kSuccess);
  EXPECT_EQ(mgr_->Results("u1")["c1"].liveness, std::nullopt);

  status = 503;
  ASSERT_TRUE(
      RunUntil([&] { return mgr_->Results("u1")["c1"].readiness == ProbeResult::kFailure; }));
  EXPECT_EQ(changes_.size(), 2u);
  EXPECT_GE(Count("Readiness", "successful", "app", "web-u1"), 1);
  EXPECT_GE(Count("Readiness", "failed", "app", "web-u1"), 1);

  mgr_->RemovePod("u1");
  EXPECT_EQ(mgr_->worker_count(), 0u);
  EXPECT_TRUE(mgr_->Results("u1").empty());
}

TEST_F(ManagerTest, ExecLiveness_TimeoutIsFailure_ThenHeldUntilNewContainer) {
  api::Pod pod = MakePod("u2");
  api::Container c;
  c.name = "app";
  c.env.push_back({"FILE", "/tmp/healthy", std::nullopt});
  api::Probe p = Probe();
  p.handler.exec = api::ExecAction{{"cat", "$(FILE)", "$$(FILE)"}};
  c.liveness_probe = p;
  pod.spec.containers.push_back(c);
  mgr_->AddPod(pod);
  mgr_->UpdatePodStatus("u2", Status("app", "c1"));
  ASSERT_TRUE(RunUntil([&] { return rt_.calls >= 2; }));
  EXPECT_EQ(mgr_->Results("u2")["c1"].liveness, ProbeResult::kSuccess);
  {
    std::lock_guard<std::mutex> l(rt_.mu);
    EXPECT_EQ(rt_.last_cmd, (std::vector<std::string>{"cat", "/tmp/healthy", "$(FILE)"}));
  }
  rt_.time_out = true;
  ASSERT_TRUE(
      RunUntil([&] { return mgr_->Results("u2")["c1"].liveness == ProbeResult::kFailure; }));
  EXPECT_EQ(changes_, std::vector<std::string>{"u2"});
  int calls = rt_.calls;
  // On hold: no more execs in the old container over several periods.
  clock_.Advance(std::chrono::seconds(1));
  RunUntil([&] { return rt_.calls > calls; }, 200);  // 10 periods
  EXPECT_EQ(rt_.calls, calls);
  // The restarted container starts from success again and is probed.
  rt_.time_out = false;
  mgr_->UpdatePodStatus("u2", Status("app", "c2"));
  ASSERT_TRUE(RunUntil([&] { return rt_.calls > calls; }));
  auto r = mgr_->Results("u2");
  EXPECT_EQ(r.count("c1"), 0u);
  EXPECT_EQ(r["c2"].liveness, ProbeResult::kSuccess);
}

// As upstream runProbeWithRetries: an error is tried again at once, three tries in all, and only the
// last try is a result (and a metric); a failure is not retried.
TEST_F(ManagerTest, ProbeErrors_AreRetriedThreeTimes_FailuresAreNot) {
  api::Pod pod = MakePod("u7");
  api::Container c;
  c.name = "app";
  api::Probe p = Probe();
  p.period_seconds = 1000;  // one tick in the test: every call below belongs to it
  p.handler.exec = api::ExecAction{{"check"}};
  c.readiness_probe = p;
  pod.spec.containers.push_back(c);
  rt_.errors = 2;
  mgr_->AddPod(pod);
  mgr_->UpdatePodStatus("u7", Status("app", "c1"));
  ASSERT_TRUE(RunUntil([&] { return mgr_->Results("u7")["c1"].readiness == ProbeResult::kSuccess; }));
  EXPECT_EQ(rt_.calls, 3) << "two errors, then the third try succeeded";
  EXPECT_EQ(Count("Readiness", "unknown", "app", "web-u7"), 0);
  EXPECT_EQ(Count("Readiness", "successful", "app", "web-u7"), 1);

  // Three errors in a row: one "unknown" result, the readiness kept as it was.
  api::Pod pod2 = MakePod("u8");
  pod2.spec.containers.push_back(c);
  rt_.calls = 0;
  rt_.errors = 3;
  mgr_->AddPod(pod2);
  mgr_->UpdatePodStatus("u8", Status("app", "c2"));
  ASSERT_TRUE(RunUntil([&] { return Count("Readiness", "unknown", "app", "web-u8") >= 1; }));
  EXPECT_EQ(rt_.calls, 3);
  EXPECT_EQ(mgr_->Results("u8")["c2"].readiness, ProbeResult::kFailure);  // the initial value

  // A failing command is a result at the first try.
  api::Pod pod3 = MakePod("u9");
  pod3.spec.containers.push_back(c);
  rt_.calls = 0;
  rt_.exit_code = 1;
  mgr_->AddPod(pod3);
  mgr_->UpdatePodStatus("u9", Status("app", "c3"));
  ASSERT_TRUE(RunUntil([&] { return Count("Readiness", "failed", "app", "web-u9") >= 1; }));
  EXPECT_EQ(rt_.calls, 1);
}

TEST_F(ManagerTest, StartupProbe_HoldsLiveness_UntilStartedReported) {
  api::Pod pod = MakePod("u3");
  api::Container c;
  c.name = "app";
  api::Probe p = Probe();
  p.handler.exec = api::ExecAction{{"true"}};
  c.startup_probe = p;
  c.liveness_probe = p;
  pod.spec.containers.push_back(c);
  mgr_->AddPod(pod);
  EXPECT_EQ(mgr_->worker_count(), 2u);
  mgr_->UpdatePodStatus("u3", Status("app", "c1", /*started=*/false));
  ASSERT_TRUE(RunUntil([&] { return mgr_->Results("u3")["c1"].startup == ProbeResult::kSuccess; }));
  EXPECT_EQ(Count("Liveness", "successful", "app", "web-u3"), 0);
  mgr_->UpdatePodStatus("u3", Status("app", "c1", /*started=*/true));
  ASSERT_TRUE(RunUntil([&] { return Count("Liveness", "successful", "app", "web-u3") >= 1; }));
  mgr_->StopLivenessAndStartup("u3");
  EXPECT_EQ(mgr_->worker_count(), 0u);
}

TEST_F(ManagerTest, UnknownPortName_IsAnError_ResultUnchanged) {
  api::Pod pod = MakePod("u4");
  api::Container c;
  c.name = "app";
  api::Probe p = Probe();
  p.handler.tcp_socket = api::TCPSocketAction{api::IntOrString::Str("nope"), ""};
  c.readiness_probe = p;
  pod.spec.containers.push_back(c);
  mgr_->AddPod(pod);
  mgr_->UpdatePodStatus("u4", Status("app", "c1"));
  ASSERT_TRUE(RunUntil([&] { return Count("Readiness", "unknown", "app", "web-u4") >= 2; }));
  EXPECT_EQ(mgr_->Results("u4")["c1"].readiness, ProbeResult::kFailure);  // the initial value
  EXPECT_TRUE(changes_.empty());
}

TEST_F(ManagerTest, InitialDelay_OnTheClock) {
  api::Pod pod = MakePod("u5");
  api::Container c;
  c.name = "app";
  api::Probe p = Probe();
  p.initial_delay_seconds = 30;
  p.handler.exec = api::ExecAction{{"true"}};
  c.liveness_probe = p;
  pod.spec.containers.push_back(c);
  mgr_->AddPod(pod);
  mgr_->UpdatePodStatus("u5", Status("app", "c1"));
  RunUntil([&] { return rt_.calls > 0; }, 200);  // 10 periods pass on the loop
  EXPECT_EQ(rt_.calls, 0);
  clock_.Advance(std::chrono::seconds(30));
  ASSERT_TRUE(RunUntil([&] { return rt_.calls > 0; }));
}

// A static pod replaced (new UID, same name) while probes of every kind are in flight: the new
// pod's workers start before the old ones stop, and the old ones' results arrive after they are
// gone (exec results posted from the pool, http and tcp callbacks on the loop). Nothing may reach
// a stopped worker or the metric series the old workers shared with the new ones (the segfault
// once seen in bench/probes.sh after static pods were replaced). Run under ASan by `make test`.
TEST_F(ManagerTest, StaticPodReplaced_WhileProbesInFlight_NothingOutlivesItsWorker) {
  LoopbackServer srv([](const std::string&, const std::string&) { return Reply{200, "", "ok"}; });
  auto make = [&](const std::string& uid) {
    api::Pod pod = MakePod(uid);
    pod.metadata.name = "static-web";
    api::Container web;
    web.name = "web";
    api::Probe p = Probe(3);
    p.handler.http_get = api::HTTPGetAction{"/", api::IntOrString::Int(srv.port()), "", "HTTP", {}};
    web.readiness_probe = p;
    api::Container tcp;
    tcp.name = "tcp";
    p = Probe(3);
    p.handler.tcp_socket = api::TCPSocketAction{api::IntOrString::Int(srv.port()), ""};
    tcp.liveness_probe = p;
    api::Container ex;
    ex.name = "exec";
    p = Probe(3);
    p.handler.exec = api::ExecAction{{"true"}};
    ex.liveness_probe = p;
    pod.spec.containers = {web, tcp, ex};
    return pod;
  };
  auto status = [&](const std::string& uid) {
    api::PodStatus s = Status("web", uid + "-web");
    for (const char* n : {"tcp", "exec"}) {
      api::ContainerStatus c = s.container_statuses[0];
      c.name = n;
      c.container_id = "runc://" + uid + "-" + n;
      s.container_statuses.push_back(c);
    }
    return s;
  };
  {
    std::lock_guard<std::mutex> l(rt_.mu);
    rt_.block = true;
  }
  std::string current = "v0";
  mgr_->AddPod(make(current));
  mgr_->UpdatePodStatus(current, status(current));

  // The replacement happens in a prepare callback: after the timers of a loop iteration started
  // probes and before the poll phase could complete them, so that they are surely in flight.
  struct Ctx {
    ProbeManager* mgr;
    std::function<void()> replace;
    std::function<bool()> exec_blocked;
    int rounds = 0;
  } ctx{mgr_.get(), nullptr, nullptr};
  ctx.exec_blocked = [&] {
    std::lock_guard<std::mutex> l(rt_.mu);
    return rt_.blocked >= 1;
  };
  std::map<std::string, size_t> removed_at;  // uid -> changes_.size() when it was removed
  ctx.replace = [&] {
    std::string next = "v" + std::to_string(++ctx.rounds);
    mgr_->AddPod(make(next));
    mgr_->UpdatePodStatus(next, status(next));
    mgr_->RemovePod(current);
    removed_at[current] = changes_.size();
    current = next;
  };
  uv_prepare_t prep;
  uv_prepare_init(&loop_, &prep);
  prep.data = &ctx;
  uv_prepare_start(&prep, [](uv_prepare_t* h) {
    auto* c = static_cast<Ctx*>(h->data);
    // The first replacement waits until the first pod's exec probe is running in the pool, so
    // that its result arrives after its worker is gone.
    if (c->rounds < 12 && c->mgr->network_probes_in_flight() > 0 &&
        (c->rounds > 0 || c->exec_blocked()))
      c->replace();
  });
  bool all_rounds = RunUntil([&] { return ctx.rounds >= 12; });
  uv_close(reinterpret_cast<uv_handle_t*>(&prep), nullptr);
  uv_run(&loop_, UV_RUN_NOWAIT);
  ASSERT_TRUE(all_rounds);
  EXPECT_EQ(mgr_->worker_count(), 3u);
  EXPECT_TRUE(ctx.exec_blocked());  // v0's exec probe is still running
  rt_.Release();
  // The surviving pod's probes all count: its metric series were not removed under it.
  ASSERT_TRUE(RunUntil([&] {
    return Count("Liveness", "successful", "exec", "static-web") >= 1 &&
           Count("Liveness", "successful", "tcp", "static-web") >= 1 &&
           mgr_->Results(current)[current + "-web"].readiness == ProbeResult::kSuccess;
  }));
  for (const auto& [uid, at] : removed_at) {
    for (size_t i = at; i < changes_.size(); ++i) EXPECT_NE(changes_[i], uid) << "after removal";
  }
  // The manager goes away with an exec in flight whose result is posted afterwards.
  {
    std::lock_guard<std::mutex> l(rt_.mu);
    rt_.block = true;
  }
  int calls = rt_.calls;
  ASSERT_TRUE(RunUntil([&] { return rt_.calls > calls; }));
  rt_.Release();
  mgr_.reset();  // the fixture then drains the posted result with no manager left
}

}  // namespace
}  // namespace nanolet::prober
