// pod_actions + restart backoff + status driven against the fake runtime on a FakeClock: a miniature pod
// worker that applies PodActions, to check the whole restart matrix end to end in milliseconds.
#include <gtest/gtest.h>

#include "kubelet/backoff.h"
#include "kubelet/labels.h"
#include "kubelet/pod_actions.h"
#include "kubelet/pod_status.h"
#include "kubelet/restart_backoff.h"
#include "kubelet/runtime_pod.h"
#include "runtime/fake_runtime.h"
#include "test_util.h"

namespace nanolet::kubelet {
namespace {

using namespace testing;

class MiniWorker {
 public:
  explicit MiniWorker(api::Pod pod) : pod_(std::move(pod)) { rt_.AddImage("busybox:1.36"); }

  RuntimePodStatus View() {
    return RuntimePodStatus::Build(pod_.metadata.uid, *rt_.ListPodSandboxes(), *rt_.ListContainers());
  }

  PodActions Sync() {
    RuntimePodStatus st = View();
    PodActions a = ComputePodActions(pod_, st, {});
    if (a.kill_pod) {
      for (const auto& sb : st.sandboxes) EXPECT_TRUE(rt_.StopPodSandbox(sb.id).ok());
    } else {
      for (const auto& k : a.containers_to_kill) EXPECT_TRUE(rt_.StopContainer(k.container_id, {}).ok());
    }
    std::string sandbox = a.sandbox_id;
    if (a.create_sandbox) {
      runtime::SandboxConfig sc;
      sc.pod_uid = pod_.metadata.uid;
      sc.pod_name = pod_.metadata.name;
      sc.pod_namespace = pod_.metadata.namespace_;
      sc.attempt = a.sandbox_attempt;
      sc.labels = SandboxLabels(pod_);
      sandbox = *rt_.RunPodSandbox(sc);
    }
    auto start = [&](const api::Container& c, uint32_t attempt) {
      if (auto r = CheckRestartBackOff(backoff_, pod_, c, st)) {
        reasons_[c.name] = *r;
        return;
      }
      reasons_.erase(c.name);
      runtime::ContainerConfig cc;
      cc.name = c.name;
      cc.attempt = attempt;
      cc.image = c.image;
      cc.labels = ContainerLabels(pod_, c, attempt);
      auto id = rt_.CreateContainer(sandbox, cc, {});
      ASSERT_TRUE(id.ok()) << id.error().message();
      ASSERT_TRUE(rt_.StartContainer(*id).ok());
    };
    for (const auto& s : a.init_containers_to_start) start(pod_.spec.init_containers[s.index], s.attempt);
    for (const auto& s : a.containers_to_start) start(pod_.spec.containers[s.index], s.attempt);
    return a;
  }

  api::PodStatus Status() {
    PodStatusContext ctx;
    ctx.previous = &last_;
    ctx.reasons = &reasons_;
    ctx.now = clock_.Now();
    ctx.first_seen = T(0);
    last_ = GeneratePodStatus(pod_, View(), ctx);
    return last_;
  }

  void Exit(const std::string& name, int code) {
    auto c = rt_.FindContainer(pod_.metadata.uid, name);
    ASSERT_TRUE(c.has_value()) << name;
    ASSERT_TRUE(rt_.ExitContainer(c->id, code));
  }

  FakeClock clock_{T(0)};
  runtime::FakeRuntime rt_{clock_};
  Backoff backoff_{clock_, kCrashLoopBackOffInitial, kCrashLoopBackOffMax};
  ReasonCache reasons_;
  api::PodStatus last_;
  api::Pod pod_;
};

TEST(RestartSequence, RestartPolicyAlways_ExitOne_CrashLoopBackOff) {
  MiniWorker w(MakePod("Always", {"app"}));
  w.Sync();
  EXPECT_EQ(w.Status().phase, "Running");
  EXPECT_EQ(w.rt_.RunningContainerCount(), 1u);

  w.clock_.Advance(std::chrono::milliseconds(100));
  w.Exit("app", 1);
  w.Sync();  // first restart: immediate
  auto s = w.Status();
  EXPECT_EQ(s.container_statuses[0].restart_count, 1);
  ASSERT_TRUE(s.container_statuses[0].state.running);
  ASSERT_TRUE(s.container_statuses[0].last_state.terminated);
  EXPECT_EQ(s.container_statuses[0].last_state.terminated->exit_code, 1);

  const int waits[] = {10, 20, 40};
  for (int wait : waits) {
    w.Exit("app", 1);
    w.Sync();
    s = w.Status();
    ASSERT_TRUE(s.container_statuses[0].state.waiting) << wait;
    EXPECT_EQ(s.container_statuses[0].state.waiting->reason, "CrashLoopBackOff");
    EXPECT_EQ(s.container_statuses[0].state.waiting->message,
              "back-off " + std::to_string(wait) + "s restarting failed container=app pod=web_default(uid-1)");
    EXPECT_EQ(s.container_statuses[0].last_state.terminated->exit_code, 1);
    EXPECT_EQ(s.phase, "Running");
    w.clock_.Advance(std::chrono::seconds(wait) - std::chrono::milliseconds(1));
    w.Sync();
    EXPECT_EQ(w.rt_.RunningContainerCount(), 0u) << wait;
    w.clock_.Advance(std::chrono::milliseconds(1));
    w.Sync();
    EXPECT_EQ(w.rt_.RunningContainerCount(), 1u) << wait;
    EXPECT_TRUE(w.Status().container_statuses[0].state.running);
  }
  EXPECT_EQ(w.last_.container_statuses[0].restart_count, 4);

  // Ten minutes of good running: the next crash restarts at once again.
  w.clock_.Advance(std::chrono::minutes(11));
  w.Exit("app", 1);
  w.Sync();
  EXPECT_EQ(w.rt_.RunningContainerCount(), 1u);
}

TEST(RestartSequence, RestartPolicyOnFailure_ExitZero_Succeeded) {
  MiniWorker w(MakePod("OnFailure", {"app"}));
  w.Sync();
  w.Exit("app", 0);
  PodActions a = w.Sync();
  EXPECT_TRUE(a.kill_pod);
  EXPECT_FALSE(a.create_sandbox);
  EXPECT_EQ(w.Status().phase, "Succeeded");
  // Later syncs keep the sandbox down and start nothing.
  a = w.Sync();
  EXPECT_FALSE(a.create_sandbox);
  EXPECT_TRUE(a.containers_to_start.empty());
  EXPECT_EQ(w.Status().phase, "Succeeded");
}

TEST(RestartSequence, RestartPolicyNever_ExitOne_Failed) {
  MiniWorker w(MakePod("Never", {"app"}));
  w.Sync();
  w.Exit("app", 1);
  w.Sync();
  auto s = w.Status();
  EXPECT_EQ(s.phase, "Failed");
  EXPECT_EQ(s.container_statuses[0].state.terminated->reason, "Error");
  EXPECT_EQ(w.rt_.RunningContainerCount(), 0u);
}

TEST(RestartSequence, InitContainersThenApp) {
  MiniWorker w(MakePod("Always", {"app"}, {"i1", "i2"}));
  w.Sync();
  EXPECT_EQ(w.Status().phase, "Pending");
  w.Exit("i1", 0);
  w.Sync();
  EXPECT_TRUE(w.rt_.FindContainer("uid-1", "i2").has_value());
  EXPECT_FALSE(w.rt_.FindContainer("uid-1", "app").has_value());
  w.Exit("i2", 0);
  w.Sync();
  auto s = w.Status();
  EXPECT_EQ(s.phase, "Running");
  EXPECT_EQ(s.init_container_statuses[0].state.terminated->reason, "Completed");
  EXPECT_TRUE(s.init_container_statuses[1].ready);
}

TEST(RestartSequence, RestartPolicyNever_InitExitOne_PodFailed) {
  MiniWorker w(MakePod("Never", {"app"}, {"init"}));
  w.Sync();
  w.Exit("init", 1);
  PodActions a = w.Sync();
  EXPECT_TRUE(a.kill_pod);
  EXPECT_FALSE(w.rt_.FindContainer("uid-1", "app").has_value());
  EXPECT_EQ(w.Status().phase, "Failed");
}

TEST(RestartSequence, SandboxLossRecreatesAndCountsAttempts) {
  MiniWorker w(MakePod("Always", {"app"}));
  w.Sync();
  auto sb = w.View().sandboxes.front().id;
  ASSERT_TRUE(w.rt_.StopPodSandbox(sb).ok());
  PodActions a = w.Sync();
  EXPECT_TRUE(a.create_sandbox);
  EXPECT_EQ(a.sandbox_attempt, 1u);
  auto c = w.rt_.FindContainer("uid-1", "app");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->attempt, 1u);
  EXPECT_EQ(w.Status().phase, "Running");
}

TEST(FakeRuntime, InjectedErrorsAndEvents) {
  FakeClock clock;
  runtime::FakeRuntime rt(clock);
  rt.InjectError("RunPodSandbox", Error("boom"));
  EXPECT_FALSE(rt.RunPodSandbox({}).ok());
  auto sb = rt.RunPodSandbox({});
  ASSERT_TRUE(sb.ok());
  runtime::ContainerConfig cc;
  cc.name = "x";
  cc.image = "missing";
  EXPECT_TRUE(rt.CreateContainer(*sb, cc, {}).error().is(ErrorCode::kNotFound));
  rt.AddImage("img");
  cc.image = "img";
  auto id = rt.CreateContainer(*sb, cc, {});
  ASSERT_TRUE(id.ok());
  int exits = 0;
  rt.SetEventHandler([&](const runtime::ContainerEvent& e) { exits += e.type == runtime::ContainerEvent::Type::kExited; });
  ASSERT_TRUE(rt.StartContainer(*id).ok());
  EXPECT_TRUE(rt.ExitContainer(*id, 3));
  EXPECT_FALSE(rt.ExitContainer(*id, 3));
  EXPECT_EQ(exits, 1);
  EXPECT_EQ(rt.GetContainerStatus(*id)->exit_code, 3);
  EXPECT_EQ(rt.Calls().front(), "RunPodSandbox");
}

}  // namespace
}  // namespace nanolet::kubelet
