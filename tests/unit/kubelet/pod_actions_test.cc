// computePodActions as upstream (TestComputePodActions* in kuberuntime_manager_test.go): every
// restart policy with exit 0 and exit 1, for app and init containers; sandbox changes; probes; spec
// changes.
#include "kubelet/pod_actions.h"

#include <gtest/gtest.h>

#include "api/types.h"
#include "kubelet/runtime_pod.h"
#include "test_util.h"

namespace nanolet::kubelet {
namespace {

using namespace testing;
using runtime::ContainerState;

// Containers to start as "name#attempt", kills as "name".
std::vector<std::string> Names(const std::vector<ContainerToStart>& v) {
  std::vector<std::string> out;
  for (const auto& c : v) out.push_back(c.name + "#" + std::to_string(c.attempt));
  return out;
}
std::vector<std::string> Names(const std::vector<ContainerToKill>& v) {
  std::vector<std::string> out;
  for (const auto& c : v) out.push_back(c.name);
  return out;
}

struct Want {
  bool kill_pod = false;
  bool create_sandbox = false;
  std::vector<std::string> init;
  std::vector<std::string> start;
  std::vector<std::string> kill;
};

// A pod with one ready sandbox "sb1" and the given runtime containers.
RuntimePodStatus Ready(const api::Pod& pod, std::vector<runtime::ContainerStatus> containers) {
  RuntimePodStatus s;
  s.uid = pod.metadata.uid;
  s.sandboxes.push_back(MakeSandbox(pod, "sb1"));
  s.containers = std::move(containers);
  s.Sort();
  return s;
}

runtime::ContainerStatus Exited(const api::Pod& pod, const std::string& name, int32_t code,
                                uint32_t attempt = 0, int created = 1) {
  return MakeRuntimeContainer(pod, Spec(pod, name), "id-" + name + std::to_string(attempt),
                              ContainerState::kExited, attempt, code, created);
}
runtime::ContainerStatus InState(const api::Pod& pod, const std::string& name, ContainerState state,
                                 uint32_t attempt = 0) {
  return MakeRuntimeContainer(pod, Spec(pod, name), "id-" + name + std::to_string(attempt), state,
                              attempt);
}

void Expect(const char* name, const PodActions& a, const Want& w) {
  SCOPED_TRACE(name);
  EXPECT_EQ(a.kill_pod, w.kill_pod) << a.String();
  EXPECT_EQ(a.create_sandbox, w.create_sandbox) << a.String();
  EXPECT_EQ(Names(a.init_containers_to_start), w.init) << a.String();
  EXPECT_EQ(Names(a.containers_to_start), w.start) << a.String();
  EXPECT_EQ(Names(a.containers_to_kill), w.kill) << a.String();
}

struct Case {
  const char* name;
  api::Pod pod;
  std::vector<runtime::ContainerStatus> (*containers)(const api::Pod&);
  Want want;
};

TEST(ComputePodActions, AppContainerRestartPolicies) {
  auto exit0 = [](const api::Pod& p) { return std::vector{Exited(p, "app", 0)}; };
  auto exit1 = [](const api::Pod& p) { return std::vector{Exited(p, "app", 1)}; };
  const Case cases[] = {
      {"RestartPolicyAlways_ExitZero_Restart",
       MakePod("Always", {"app"}),
       exit0,
       {false, false, {}, {"app#1"}, {}}},
      {"RestartPolicyAlways_ExitOne_Restart",
       MakePod("Always", {"app"}),
       exit1,
       {false, false, {}, {"app#1"}, {}}},
      {"RestartPolicyOnFailure_ExitZero_NoRestart",
       MakePod("OnFailure", {"app"}),
       exit0,
       {true, false, {}, {}, {}}},
      {"RestartPolicyOnFailure_ExitOne_Restart",
       MakePod("OnFailure", {"app"}),
       exit1,
       {false, false, {}, {"app#1"}, {}}},
      {"RestartPolicyNever_ExitZero_NoRestart",
       MakePod("Never", {"app"}),
       exit0,
       {true, false, {}, {}, {}}},
      {"RestartPolicyNever_ExitOne_NoRestart",
       MakePod("Never", {"app"}),
       exit1,
       {true, false, {}, {}, {}}},
  };
  for (const auto& c : cases)
    Expect(c.name, ComputePodActions(c.pod, Ready(c.pod, c.containers(c.pod)), {}), c.want);
}

TEST(ComputePodActions, AppContainers) {
  const Case cases[] = {
      {"NoContainers_StartAllInOrder",
       MakePod("Always", {"a", "b"}),
       [](const api::Pod&) { return std::vector<runtime::ContainerStatus>{}; },
       {false, false, {}, {"a#0", "b#0"}, {}}},
      {"AllRunning_Nothing",
       MakePod("Always", {"a", "b"}),
       [](const api::Pod& p) {
         return std::vector{InState(p, "a", ContainerState::kRunning),
                            InState(p, "b", ContainerState::kRunning)};
       },
       {}},
      {"RestartPolicyNever_OneExitedOneRunning_KeepPod",
       MakePod("Never", {"a", "b"}),
       [](const api::Pod& p) {
         return std::vector{Exited(p, "a", 1), InState(p, "b", ContainerState::kRunning)};
       },
       {}},
      {"RestartPolicyOnFailure_OneSucceededOneFailed_RestartFailed",
       MakePod("OnFailure", {"a", "b"}),
       [](const api::Pod& p) {
         return std::vector{Exited(p, "a", 0), Exited(p, "b", 2)};
       },
       {false, false, {}, {"b#1"}, {}}},
      {"AttemptFollowsNewestRun",
       MakePod("Always", {"a"}),
       [](const api::Pod& p) {
         return std::vector{Exited(p, "a", 1, 3, 5), Exited(p, "a", 1, 2, 3)};
       },
       {false, false, {}, {"a#4"}, {}}},
      // Never ran (nanolet restarted between create and start): killed, and tried again as the same
      // attempt.
      {"CreatedNotStarted_KillAndStartSameAttempt",
       MakePod("Never", {"a"}),
       [](const api::Pod& p) { return std::vector{InState(p, "a", ContainerState::kCreated)}; },
       {false, false, {}, {"a#0"}, {"a"}}},
      {"UnknownState_KillThenStart",
       MakePod("Always", {"a"}),
       [](const api::Pod& p) { return std::vector{InState(p, "a", ContainerState::kUnknown)}; },
       {false, false, {}, {"a#1"}, {"a"}}},
  };
  for (const auto& c : cases)
    Expect(c.name, ComputePodActions(c.pod, Ready(c.pod, c.containers(c.pod)), {}), c.want);
}

TEST(ComputePodActions, DeletedPodIsNotRestarted) {
  api::Pod pod = MakePod("Always", {"app"});
  pod.metadata.deletion_timestamp = "2026-01-01T00:00:00Z";
  Expect("Deleted", ComputePodActions(pod, Ready(pod, {Exited(pod, "app", 1)}), {}),
         {true, false, {}, {}, {}});
}

TEST(ComputePodActions, LivenessFailure) {
  for (const char* policy : {"Always", "OnFailure", "Never"}) {
    api::Pod pod = MakePod(policy, {"app"});
    auto st = Ready(pod, {InState(pod, "app", ContainerState::kRunning)});
    ProbeResults probes;
    probes["id-app0"].liveness = ProbeResult::kFailure;
    PodActions a = ComputePodActions(pod, st, probes);
    ASSERT_EQ(a.containers_to_kill.size(), 1u) << policy;
    EXPECT_EQ(a.containers_to_kill[0].container_id, "id-app0");
    EXPECT_EQ(a.containers_to_kill[0].reason, "LivenessProbe");
    if (std::string(policy) == "Never") {
      EXPECT_EQ(a.containers_to_kill[0].message, "Container app failed liveness probe");
      EXPECT_TRUE(a.containers_to_start.empty());
      EXPECT_TRUE(a.kill_pod);  // nothing left to keep
    } else {
      EXPECT_EQ(a.containers_to_kill[0].message,
                "Container app failed liveness probe, will be restarted");
      EXPECT_EQ(Names(a.containers_to_start), std::vector<std::string>{"app#1"});
      EXPECT_FALSE(a.kill_pod);
    }
    // A passing probe keeps it.
    probes["id-app0"].liveness = ProbeResult::kSuccess;
    Expect(policy, ComputePodActions(pod, st, probes), {});
  }
}

TEST(ComputePodActions, StartupProbeFailure) {
  api::Pod pod = MakePod("Always", {"app"});
  ProbeResults probes;
  probes["id-app0"].startup = ProbeResult::kFailure;
  PodActions a =
      ComputePodActions(pod, Ready(pod, {InState(pod, "app", ContainerState::kRunning)}), probes);
  ASSERT_EQ(a.containers_to_kill.size(), 1u);
  EXPECT_EQ(a.containers_to_kill[0].reason, "StartupProbe");
  EXPECT_EQ(a.containers_to_kill[0].message,
            "Container app failed startup probe, will be restarted");
}

TEST(ComputePodActions, SpecChangedRestartsWhateverThePolicy) {
  api::Pod pod = MakePod("Never", {"app"});
  auto running = InState(pod, "app", ContainerState::kRunning);
  pod.spec.containers[0].image = "busybox:1.37";  // the pod was updated
  PodActions a = ComputePodActions(pod, Ready(pod, {running}), {});
  ASSERT_EQ(a.containers_to_kill.size(), 1u);
  EXPECT_EQ(a.containers_to_kill[0].message, "Container app definition changed, will be restarted");
  EXPECT_EQ(a.containers_to_kill[0].reason, "");
  EXPECT_EQ(Names(a.containers_to_start), std::vector<std::string>{"app#1"});
  EXPECT_FALSE(a.kill_pod);
}

TEST(ComputePodActions, Sandbox) {
  api::Pod pod = MakePod("Always", {"a", "b"});
  {
    RuntimePodStatus st;
    PodActions a = ComputePodActions(pod, st, {});
    Expect("NoSandbox_CreateAndStartAll", a, {true, true, {}, {"a#0", "b#0"}, {}});
    EXPECT_EQ(a.sandbox_attempt, 0u);
    EXPECT_EQ(a.sandbox_id, "");
  }
  {
    RuntimePodStatus st = Ready(pod, {Exited(pod, "a", 137), Exited(pod, "b", 137)});
    st.sandboxes[0].state = runtime::SandboxState::kNotReady;
    st.sandboxes[0].attempt = 2;
    PodActions a = ComputePodActions(pod, st, {});
    Expect("SandboxNotReady_Recreate", a, {true, true, {}, {"a#1", "b#1"}, {}});
    EXPECT_EQ(a.sandbox_attempt, 3u);
    EXPECT_EQ(a.sandbox_id, "sb1");
  }
  {
    api::Pod never = MakePod("Never", {"a"});
    RuntimePodStatus st = Ready(never, {Exited(never, "a", 137)});
    st.sandboxes[0].state = runtime::SandboxState::kNotReady;
    st.sandboxes.push_back(MakeSandbox(never, "sb0", 0, false, -10));  // attempt 1 now exists
    st.sandboxes[0].attempt = 1;
    Expect("RestartPolicyNever_SandboxDiedAfterRunning_NoNewSandbox",
           ComputePodActions(never, st, {}), {true, false, {}, {}, {}});
  }
  {
    api::Pod onf = MakePod("OnFailure", {"a", "b"});
    RuntimePodStatus st = Ready(onf, {Exited(onf, "a", 0), Exited(onf, "b", 0)});
    st.sandboxes[0].state = runtime::SandboxState::kNotReady;
    Expect("RestartPolicyOnFailure_SandboxDied_AllSucceeded_NoNewSandbox",
           ComputePodActions(onf, st, {}), {true, false, {}, {}, {}});
    st = Ready(onf, {Exited(onf, "a", 0), Exited(onf, "b", 1)});
    st.sandboxes[0].state = runtime::SandboxState::kNotReady;
    Expect("RestartPolicyOnFailure_SandboxDied_StartFailedOnly", ComputePodActions(onf, st, {}),
           {true, true, {}, {"b#1"}, {}});
  }
  {
    api::Pod init = MakePod("Always", {"a"}, {"i1", "i2"});
    RuntimePodStatus st =
        Ready(init, {InState(init, "a", ContainerState::kRunning), Exited(init, "i2", 0)});
    st.sandboxes[0].state = runtime::SandboxState::kNotReady;
    Expect("SandboxDied_WithInit_StartOverFromFirstInit", ComputePodActions(init, st, {}),
           {true, true, {"i1#0"}, {}, {}});
  }
  {
    RuntimePodStatus st = Ready(pod, {InState(pod, "a", ContainerState::kRunning)});
    st.sandboxes.push_back(MakeSandbox(pod, "sb0", 0, true, -5));
    st.sandboxes[0].attempt = 1;
    PodActions a = ComputePodActions(pod, st, {});
    EXPECT_TRUE(a.create_sandbox) << "two ready sandboxes";
    EXPECT_EQ(a.sandbox_attempt, 2u);
  }
  {
    RuntimePodStatus st = Ready(pod, {InState(pod, "a", ContainerState::kRunning)});
    st.sandboxes[0].ip.clear();
    st.sandboxes[0].ips.clear();
    EXPECT_TRUE(ComputePodActions(pod, st, {}).create_sandbox) << "no IP";
    st.sandboxes[0].network_pending = true;  // the fast path: CNI ADD still running
    EXPECT_FALSE(ComputePodActions(pod, st, {}).create_sandbox) << "no IP yet, network pending";
    st.sandboxes[0].network_pending = false;
    api::Pod host = pod;
    host.spec.host_network = true;
    st.sandboxes[0].labels = SandboxLabels(host);
    EXPECT_FALSE(ComputePodActions(host, st, {}).create_sandbox) << "hostNetwork needs no IP";
  }
  {
    api::Pod host = pod;
    host.spec.host_network = true;
    RuntimePodStatus st = Ready(pod, {});  // sandbox made for a pod-network pod
    PodActions a = ComputePodActions(host, st, {});
    EXPECT_TRUE(a.create_sandbox) << "network mode changed";
    EXPECT_EQ(a.sandbox_id, "");
  }
}

TEST(ComputePodActions, InitContainerRestartPolicies) {
  struct InitCase {
    const char* name;
    const char* policy;
    int32_t exit_code;
    Want want;
  };
  const InitCase cases[] = {
      {"RestartPolicyAlways_InitExitZero_StartNext", "Always", 0, {false, false, {"i2#0"}, {}, {}}},
      {"RestartPolicyAlways_InitExitOne_Restart", "Always", 1, {false, false, {"i1#1"}, {}, {}}},
      {"RestartPolicyOnFailure_InitExitZero_StartNext",
       "OnFailure",
       0,
       {false, false, {"i2#0"}, {}, {}}},
      {"RestartPolicyOnFailure_InitExitOne_Restart",
       "OnFailure",
       1,
       {false, false, {"i1#1"}, {}, {}}},
      {"RestartPolicyNever_InitExitZero_StartNext", "Never", 0, {false, false, {"i2#0"}, {}, {}}},
      {"RestartPolicyNever_InitExitOne_KillPod", "Never", 1, {true, false, {}, {}, {}}},
  };
  for (const auto& c : cases) {
    api::Pod pod = MakePod(c.policy, {"app"}, {"i1", "i2"});
    Expect(c.name, ComputePodActions(pod, Ready(pod, {Exited(pod, "i1", c.exit_code)}), {}),
           c.want);
  }
}

TEST(ComputePodActions, InitContainersRunInOrder) {
  api::Pod pod = MakePod("Always", {"a", "b"}, {"i1", "i2"});
  Expect("NoneStarted_FirstInit", ComputePodActions(pod, Ready(pod, {}), {}),
         {false, false, {"i1#0"}, {}, {}});
  Expect("InitRunning_Wait",
         ComputePodActions(pod, Ready(pod, {InState(pod, "i1", ContainerState::kRunning)}), {}),
         {});
  Expect("SecondInitRunning_Wait",
         ComputePodActions(
             pod, Ready(pod, {InState(pod, "i2", ContainerState::kRunning), Exited(pod, "i1", 0)}),
             {}),
         {});
  Expect("AllInitDone_StartApps",
         ComputePodActions(pod, Ready(pod, {Exited(pod, "i1", 0), Exited(pod, "i2", 0, 0, 2)}), {}),
         {false, false, {}, {"a#0", "b#0"}, {}});
  // Completed init containers may have been removed: the app containers tell initialization
  // happened.
  Expect("InitRemovedAppsRunning_Keep",
         ComputePodActions(pod,
                           Ready(pod, {InState(pod, "a", ContainerState::kRunning),
                                       InState(pod, "b", ContainerState::kRunning)}),
                           {}),
         {});
  Expect("LastInitOnly_StartApps", ComputePodActions(pod, Ready(pod, {Exited(pod, "i2", 0)}), {}),
         {false, false, {}, {"a#0", "b#0"}, {}});
}

TEST(ComputePodActions, InitContainerOOMKilledIsAFailure) {
  api::Pod pod = MakePod("Never", {"app"}, {"i1"});
  auto oom = Exited(pod, "i1", 0);
  oom.reason = "OOMKilled";
  Expect("OOMKilled", ComputePodActions(pod, Ready(pod, {oom}), {}), {true, false, {}, {}, {}});
}

TEST(ComputePodActions, InitContainerUnknownState) {
  api::Pod pod = MakePod("Always", {"app"}, {"i1"});
  Expect("Always_KillAndRestart",
         ComputePodActions(pod, Ready(pod, {InState(pod, "i1", ContainerState::kUnknown)}), {}),
         {false, false, {"i1#1"}, {}, {"i1"}});
  api::Pod never = MakePod("Never", {"app"}, {"i1"});
  Expect(
      "Never_KillPod",
      ComputePodActions(never, Ready(never, {InState(never, "i1", ContainerState::kUnknown)}), {}),
      {true, false, {}, {}, {}});
}

TEST(ComputePodActions, SidecarInitContainers) {
  api::Pod pod = MakePod("Always", {"app"});
  pod.spec.init_containers.push_back(MakeSidecar("proxy"));
  Expect("SidecarFirst", ComputePodActions(pod, Ready(pod, {}), {}),
         {false, false, {"proxy#0"}, {}, {}});
  Expect("SidecarRunning_StartApps",
         ComputePodActions(pod, Ready(pod, {InState(pod, "proxy", ContainerState::kRunning)}), {}),
         {false, false, {}, {"app#0"}, {}});
  Expect(
      "SidecarExited_RestartItAppKeeps",
      ComputePodActions(
          pod, Ready(pod, {Exited(pod, "proxy", 1), InState(pod, "app", ContainerState::kRunning)}),
          {}),
      {false, false, {"proxy#1"}, {}, {}});

  api::Pod probed = pod;
  probed.spec.init_containers[0].startup_probe = api::Probe{};
  auto running = Ready(probed, {InState(probed, "proxy", ContainerState::kRunning)});
  Expect("SidecarStartupNotProbedYet_Wait", ComputePodActions(probed, running, {}), {});
  ProbeResults ok;
  ok["id-proxy0"].startup = ProbeResult::kSuccess;
  Expect("SidecarStarted_StartApps", ComputePodActions(probed, running, ok),
         {false, false, {}, {"app#0"}, {}});
  ProbeResults failed;
  failed["id-proxy0"].startup = ProbeResult::kFailure;
  Expect("SidecarStartupFailed_Restart", ComputePodActions(probed, running, failed),
         {false, false, {"proxy#1"}, {}, {"proxy"}});

  api::Pod never = MakePod("Never", {"app"});
  never.spec.init_containers.push_back(MakeSidecar("proxy"));
  Expect("RestartPolicyNever_AppDone_SidecarDoesNotKeepPodAlive",
         ComputePodActions(never,
                           Ready(never, {InState(never, "proxy", ContainerState::kRunning),
                                         Exited(never, "app", 0)}),
                           {}),
         {true, false, {}, {}, {}});
}

// A container killed before its process ever started (exited, no startedAt): not a run of it.
runtime::ContainerStatus KilledBeforeStart(const api::Pod& pod, const std::string& name,
                                           uint32_t attempt, int created) {
  runtime::ContainerStatus c = Exited(pod, name, 137, attempt, created);
  c.started_at = TimePoint{};
  return c;
}

// Defects seen when nanolet was SIGKILLed while pods were made (bench/restart_survival.sh): a
// container that never ran made the next attempt count as a restart, and made a restartPolicy Never
// pod fail or restart.
TEST(ComputePodActions, ContainersThatNeverRanAreNotRuns) {
  {
    api::Pod pod = MakePod("Never", {"a"});
    Expect("Never_KilledBeforeStart_StartSameAttempt",
           ComputePodActions(pod, Ready(pod, {KilledBeforeStart(pod, "a", 0, 1)}), {}),
           {false, false, {}, {"a#0"}, {}});
  }
  {
    api::Pod pod = MakePod("Always", {"a"});
    Expect("Always_RanThenNeverStarted_AttemptOfTheRunPlusOne",
           ComputePodActions(
               pod, Ready(pod, {KilledBeforeStart(pod, "a", 1, 5), Exited(pod, "a", 1, 0, 1)}), {}),
           {false, false, {}, {"a#1"}, {}});
    EXPECT_EQ(NextAttempt(Ready(pod, {InState(pod, "a", ContainerState::kCreated, 3)}), "a"), 3u);
    EXPECT_EQ(NextAttempt(Ready(pod, {InState(pod, "a", ContainerState::kRunning, 3)}), "a"), 4u);
  }
  {
    // The sandbox was being made when nanolet died (it comes back NotReady) and its container never
    // started: a restartPolicy Never pod gets a new sandbox and its first run, not a terminal
    // phase.
    api::Pod pod = MakePod("Never", {"a"});
    RuntimePodStatus st = Ready(pod, {KilledBeforeStart(pod, "a", 0, 1)});
    st.sandboxes[0].state = runtime::SandboxState::kNotReady;
    st.sandboxes.push_back(MakeSandbox(pod, "sb0", 0, false, -10));
    st.sandboxes[0].attempt = 1;
    PodActions a = ComputePodActions(pod, st, {});
    Expect("Never_SandboxDiedBeforeAnyContainerRan_NewSandbox", a, {true, true, {}, {"a#0"}, {}});
    EXPECT_EQ(a.sandbox_attempt, 2u);
  }
  {
    api::Pod pod = MakePod("Never", {"a"}, {"i"});
    RuntimePodStatus st = Ready(pod, {KilledBeforeStart(pod, "i", 0, 1)});
    Expect("Never_InitKilledBeforeStart_StartSameAttempt", ComputePodActions(pod, st, {}),
           {false, false, {"i#0"}, {}, {}});
    st = Ready(pod, {InState(pod, "i", ContainerState::kCreated)});
    Expect("Never_InitCreated_KillAndStartSameAttempt", ComputePodActions(pod, st, {}),
           {false, false, {"i#0"}, {}, {"i"}});
  }
  for (const char* policy : {"Always", "OnFailure", "Never"}) {
    api::Pod pod = MakePod(policy, {"app"});
    EXPECT_TRUE(ShouldContainerBeRestarted(pod.spec.containers[0], pod,
                                           Ready(pod, {KilledBeforeStart(pod, "app", 0, 1)})))
        << policy;
  }
}

TEST(ComputePodActions, ShouldContainerBeRestarted) {
  struct R {
    const char* policy;
    int32_t code;
    bool want;
  } rows[] = {{"Always", 0, true},    {"Always", 1, true}, {"OnFailure", 0, false},
              {"OnFailure", 1, true}, {"Never", 0, false}, {"Never", 1, false}};
  for (const auto& r : rows) {
    api::Pod pod = MakePod(r.policy, {"app"});
    EXPECT_EQ(ShouldContainerBeRestarted(pod.spec.containers[0], pod,
                                         Ready(pod, {Exited(pod, "app", r.code)})),
              r.want)
        << r.policy << " " << r.code;
  }
}

}  // namespace
}  // namespace nanolet::kubelet
