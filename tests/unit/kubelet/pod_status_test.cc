#include "kubelet/pod_status.h"

#include <gtest/gtest.h>

#include "kubelet/runtime_pod.h"
#include "test_util.h"

namespace nanolet::kubelet {
namespace {

using namespace testing;
using runtime::ContainerState;

RuntimePodStatus Ready(const api::Pod& pod, std::vector<runtime::ContainerStatus> containers) {
  RuntimePodStatus s;
  s.uid = pod.metadata.uid;
  s.sandboxes.push_back(MakeSandbox(pod, "sb1"));
  s.containers = std::move(containers);
  s.Sort();
  return s;
}

const api::PodCondition* Cond(const api::PodStatus& s, const std::string& type) {
  for (const auto& c : s.conditions) {
    if (c.type == type) return &c;
  }
  return nullptr;
}

PodStatusContext Ctx(TimePoint now, const api::PodStatus* prev = nullptr, const ReasonCache* reasons = nullptr) {
  PodStatusContext ctx;
  ctx.previous = prev;
  ctx.reasons = reasons;
  ctx.host_ips = {"192.168.1.10"};
  ctx.now = now;
  ctx.first_seen = T(0);
  return ctx;
}

TEST(PodStatus, NewPodIsPendingContainerCreating) {
  api::Pod pod = MakePod("Always", {"b", "a"});
  RuntimePodStatus rt;
  api::PodStatus s = GeneratePodStatus(pod, rt, Ctx(T(1)));
  EXPECT_EQ(s.phase, "Pending");
  ASSERT_EQ(s.container_statuses.size(), 2u);
  EXPECT_EQ(s.container_statuses[0].name, "a");  // sorted by name
  ASSERT_TRUE(s.container_statuses[0].state.waiting);
  EXPECT_EQ(s.container_statuses[0].state.waiting->reason, "ContainerCreating");
  EXPECT_EQ(s.container_statuses[0].image, "busybox:1.36");
  EXPECT_EQ(s.container_statuses[0].started, std::optional<bool>(false));
  EXPECT_EQ(s.start_time, "2026-01-01T00:00:00Z");
  EXPECT_EQ(s.host_ip, "192.168.1.10");
  EXPECT_TRUE(s.pod_ip.empty());
  ASSERT_EQ(s.conditions.size(), 5u);
  EXPECT_EQ(s.conditions[0].type, "PodReadyToStartContainers");
  EXPECT_EQ(s.conditions[0].status, "False");
  EXPECT_EQ(s.conditions[1].type, "Initialized");
  EXPECT_EQ(s.conditions[1].status, "True");
  EXPECT_EQ(s.conditions[2].type, "Ready");
  EXPECT_EQ(s.conditions[2].reason, "ContainersNotReady");
  EXPECT_EQ(s.conditions[2].message, "containers with unready status: [b a]");  // spec order
  EXPECT_EQ(s.conditions[3].type, "ContainersReady");
  EXPECT_EQ(s.conditions[4].type, "PodScheduled");
  EXPECT_EQ(s.conditions[4].status, "True");
  EXPECT_EQ(s.conditions[4].last_transition_time, "2026-01-01T00:00:01Z");
}

TEST(PodStatus, RunningPodIsReady) {
  api::Pod pod = MakePod("Always", {"app"});
  auto c = MakeRuntimeContainer(pod, pod.spec.containers[0], "abc", ContainerState::kRunning);
  api::PodStatus s = GeneratePodStatus(pod, Ready(pod, {c}), Ctx(T(5)));
  EXPECT_EQ(s.phase, "Running");
  const auto& cs = s.container_statuses[0];
  ASSERT_TRUE(cs.state.running);
  EXPECT_EQ(cs.state.running->started_at, "2026-01-01T00:00:02Z");
  EXPECT_TRUE(cs.ready);
  EXPECT_EQ(cs.started, std::optional<bool>(true));
  EXPECT_EQ(cs.container_id, "runc://abc");
  EXPECT_EQ(cs.image_id, "sha256:abc");
  EXPECT_EQ(s.pod_ip, "10.88.0.5");
  ASSERT_EQ(s.pod_ips.size(), 1u);
  EXPECT_EQ(Cond(s, "Ready")->status, "True");
  EXPECT_EQ(Cond(s, "PodReadyToStartContainers")->status, "True");
}

TEST(PodStatus, ReadinessProbeDecidesReady) {
  api::Pod pod = MakePod("Always", {"app"});
  pod.spec.containers[0].readiness_probe = api::Probe{};
  auto c = MakeRuntimeContainer(pod, pod.spec.containers[0], "abc", ContainerState::kRunning);
  PodStatusContext ctx = Ctx(T(5));
  api::PodStatus s = GeneratePodStatus(pod, Ready(pod, {c}), ctx);
  EXPECT_FALSE(s.container_statuses[0].ready);  // not probed yet
  ProbeResults probes;
  probes["abc"].readiness = ProbeResult::kSuccess;
  ctx.probes = &probes;
  s = GeneratePodStatus(pod, Ready(pod, {c}), ctx);
  EXPECT_TRUE(s.container_statuses[0].ready);
}

TEST(PodStatus, TerminatedAndLastState) {
  api::Pod pod = MakePod("Never", {"app"});
  const auto& spec = pod.spec.containers[0];
  auto first = MakeRuntimeContainer(pod, spec, "c0", ContainerState::kExited, 0, 0, 1);
  first.message = "done";
  api::PodStatus s = GeneratePodStatus(pod, Ready(pod, {first}), Ctx(T(10)));
  EXPECT_EQ(s.phase, "Succeeded");
  const auto& t = s.container_statuses[0].state.terminated;
  ASSERT_TRUE(t);
  EXPECT_EQ(t->exit_code, 0);
  EXPECT_EQ(t->reason, "Completed");
  EXPECT_EQ(t->message, "done");
  EXPECT_EQ(t->started_at, "2026-01-01T00:00:02Z");
  EXPECT_EQ(t->finished_at, "2026-01-01T00:00:03Z");
  EXPECT_EQ(t->container_id, "runc://c0");
  EXPECT_EQ(Cond(s, "Ready")->reason, "PodCompleted");
  EXPECT_EQ(Cond(s, "ContainersReady")->reason, "PodCompleted");
}

TEST(PodStatus, CrashLoopBackOffWaitingWithLastState) {
  api::Pod pod = MakePod("Always", {"app"});
  const auto& spec = pod.spec.containers[0];
  auto c0 = MakeRuntimeContainer(pod, spec, "c0", ContainerState::kExited, 0, 1, 1);
  auto c1 = MakeRuntimeContainer(pod, spec, "c1", ContainerState::kExited, 1, 2, 5);
  c1.reason = "OOMKilled";
  ReasonCache reasons;
  reasons["app"] = {"CrashLoopBackOff", "back-off 10s restarting failed container=app pod=web_default(uid-1)"};
  api::PodStatus s = GeneratePodStatus(pod, Ready(pod, {c0, c1}), Ctx(T(10), nullptr, &reasons));
  EXPECT_EQ(s.phase, "Running");
  const auto& cs = s.container_statuses[0];
  ASSERT_TRUE(cs.state.waiting);
  EXPECT_EQ(cs.state.waiting->reason, "CrashLoopBackOff");
  EXPECT_EQ(cs.state.waiting->message, "back-off 10s restarting failed container=app pod=web_default(uid-1)");
  ASSERT_TRUE(cs.last_state.terminated);
  EXPECT_EQ(cs.last_state.terminated->exit_code, 2);
  EXPECT_EQ(cs.last_state.terminated->reason, "OOMKilled");
  EXPECT_EQ(cs.restart_count, 1);
  EXPECT_FALSE(cs.ready);
}

TEST(PodStatus, ImagePullFailureShowsInWaiting) {
  api::Pod pod = MakePod("Always", {"app"});
  ReasonCache reasons;
  reasons["app"] = {"ErrImagePull", "pull failed"};
  api::PodStatus s = GeneratePodStatus(pod, Ready(pod, {}), Ctx(T(1), nullptr, &reasons));
  EXPECT_EQ(s.container_statuses[0].state.waiting->reason, "ErrImagePull");
  EXPECT_EQ(s.phase, "Pending");
}

TEST(PodStatus, InitContainers) {
  api::Pod pod = MakePod("Always", {"app"}, {"init"});
  api::PodStatus s = GeneratePodStatus(pod, Ready(pod, {}), Ctx(T(1)));
  EXPECT_EQ(s.container_statuses[0].state.waiting->reason, "PodInitializing");
  EXPECT_EQ(s.init_container_statuses[0].state.waiting->reason, "PodInitializing");
  EXPECT_EQ(Cond(s, "Initialized")->status, "False");
  EXPECT_EQ(Cond(s, "Initialized")->reason, "ContainersNotInitialized");
  EXPECT_EQ(Cond(s, "Initialized")->message, "containers with incomplete status: [init]");

  auto init = MakeRuntimeContainer(pod, pod.spec.init_containers[0], "i0", ContainerState::kExited, 0, 0, 1);
  auto app = MakeRuntimeContainer(pod, pod.spec.containers[0], "a0", ContainerState::kRunning, 0, 0, 5);
  s = GeneratePodStatus(pod, Ready(pod, {init, app}), Ctx(T(9)));
  EXPECT_TRUE(s.init_container_statuses[0].ready);
  EXPECT_EQ(Cond(s, "Initialized")->status, "True");
  EXPECT_EQ(s.phase, "Running");
}

TEST(PodStatus, LastTransitionTimeKeptWhileStatusUnchanged) {
  api::Pod pod = MakePod("Always", {"app"});
  auto c = MakeRuntimeContainer(pod, pod.spec.containers[0], "abc", ContainerState::kRunning);
  api::PodStatus s1 = GeneratePodStatus(pod, Ready(pod, {}), Ctx(T(1)));
  api::PodStatus s2 = GeneratePodStatus(pod, Ready(pod, {c}), Ctx(T(7), &s1));
  EXPECT_EQ(Cond(s2, "PodScheduled")->last_transition_time, "2026-01-01T00:00:01Z");
  EXPECT_EQ(Cond(s2, "Ready")->last_transition_time, "2026-01-01T00:00:07Z");
  api::PodStatus s3 = GeneratePodStatus(pod, Ready(pod, {c}), Ctx(T(20), &s2));
  EXPECT_EQ(Cond(s3, "Ready")->last_transition_time, "2026-01-01T00:00:07Z");
  EXPECT_EQ(s3.start_time, s1.start_time);
}

TEST(PodStatus, TerminalPhaseIsKept) {
  api::Pod pod = MakePod("Never", {"app"});
  api::PodStatus prev;
  prev.phase = "Failed";
  prev.reason = "X";
  api::PodStatus s = GeneratePodStatus(pod, Ready(pod, {}), Ctx(T(1), &prev));
  EXPECT_EQ(s.phase, "Failed");
  EXPECT_EQ(s.reason, "X");
}

TEST(PodStatus, ActiveDeadlineExceeded) {
  api::Pod pod = MakePod("Always", {"app"});
  pod.spec.active_deadline_seconds = 30;
  auto c = MakeRuntimeContainer(pod, pod.spec.containers[0], "abc", ContainerState::kRunning);
  EXPECT_EQ(GeneratePodStatus(pod, Ready(pod, {c}), Ctx(T(29))).phase, "Running");
  api::PodStatus s = GeneratePodStatus(pod, Ready(pod, {c}), Ctx(T(30)));
  EXPECT_EQ(s.phase, "Failed");
  EXPECT_EQ(s.reason, "DeadlineExceeded");
  EXPECT_EQ(s.message, "Pod was active on the node longer than the specified deadline");
  EXPECT_EQ(Cond(s, "Ready")->reason, "PodFailed");
}

TEST(PodStatus, HostNetworkPodGetsHostIP) {
  api::Pod pod = MakePod("Always", {"app"});
  pod.spec.host_network = true;
  RuntimePodStatus rt = Ready(pod, {});
  rt.sandboxes[0].ip.clear();
  rt.sandboxes[0].ips.clear();
  api::PodStatus s = GeneratePodStatus(pod, rt, Ctx(T(1)));
  EXPECT_EQ(s.pod_ip, "192.168.1.10");
  ASSERT_EQ(s.host_ips.size(), 1u);
}

TEST(PodStatus, VanishedRunningContainerIsNotPendingAgain) {
  api::Pod pod = MakePod("Always", {"app"});
  auto c = MakeRuntimeContainer(pod, pod.spec.containers[0], "abc", ContainerState::kRunning);
  api::PodStatus s1 = GeneratePodStatus(pod, Ready(pod, {c}), Ctx(T(5)));
  api::PodStatus s2 = GeneratePodStatus(pod, Ready(pod, {}), Ctx(T(6), &s1));
  const auto& cs = s2.container_statuses[0];
  ASSERT_TRUE(cs.last_state.terminated);
  EXPECT_EQ(cs.last_state.terminated->reason, "ContainerStatusUnknown");
  EXPECT_EQ(cs.last_state.terminated->exit_code, 137);
  EXPECT_EQ(cs.restart_count, 1);
  EXPECT_EQ(s2.phase, "Running");
}

}  // namespace
}  // namespace nanolet::kubelet
