// Every row of upstream getPhase (pkg/kubelet/kubelet_pods.go, TestPodPhase* in kubelet_pods_test.go).
#include "kubelet/phase.h"

#include <gtest/gtest.h>

#include "api/types.h"
#include "test_util.h"

namespace nanolet::kubelet {
namespace {

using testing::MakePod;
using testing::MakeSidecar;

api::ContainerStatus Waiting(const std::string& name, const std::string& reason = "ContainerCreating") {
  api::ContainerStatus s;
  s.name = name;
  s.state.waiting = api::ContainerStateWaiting{reason, ""};
  return s;
}
api::ContainerStatus Running(const std::string& name, std::optional<bool> started = true) {
  api::ContainerStatus s;
  s.name = name;
  s.state.running = api::ContainerStateRunning{"2026-01-01T00:00:00Z"};
  s.started = started;
  return s;
}
api::ContainerStatus Terminated(const std::string& name, int32_t code) {
  api::ContainerStatus s;
  s.name = name;
  api::ContainerStateTerminated t;
  t.exit_code = code;
  t.reason = code == 0 ? "Completed" : "Error";
  s.state.terminated = t;
  return s;
}
// Waiting to restart after an exit (CrashLoopBackOff): lastState holds the exit.
api::ContainerStatus Restarting(const std::string& name, int32_t last_code) {
  api::ContainerStatus s = Waiting(name, "CrashLoopBackOff");
  api::ContainerStateTerminated t;
  t.exit_code = last_code;
  s.last_state.terminated = t;
  return s;
}
api::ContainerStatus Empty(const std::string& name) {
  api::ContainerStatus s;
  s.name = name;
  return s;
}

struct Case {
  const char* name;
  api::Pod pod;
  std::vector<api::ContainerStatus> statuses;
  std::string_view want;
  bool terminal = false;
  bool initialized = false;
};

api::Pod WithSidecar(api::Pod p, const std::string& name = "sidecar") {
  p.spec.init_containers.insert(p.spec.init_containers.begin(), MakeSidecar(name));
  return p;
}
api::Pod Static(api::Pod p) {
  p.metadata.annotations["kubernetes.io/config.source"] = "file";
  return p;
}

TEST(GetPhase, Table) {
  const std::vector<Case> cases = {
      {"NoStatuses_Pending", MakePod("Always", {"a", "b"}), {}, kPodPending},
      {"AllWaiting_Pending", MakePod("Always", {"a", "b"}), {Waiting("a"), Waiting("b")}, kPodPending},
      {"AllRunning_Running", MakePod("Always", {"a", "b"}), {Running("a"), Running("b")}, kPodRunning},
      {"RunningAndWaiting_Pending", MakePod("Always", {"a", "b"}), {Running("a"), Waiting("b")}, kPodPending},
      {"RunningAndMissing_Pending", MakePod("Always", {"a", "b"}), {Running("a")}, kPodPending},
      {"EmptyState_Pending", MakePod("Always", {"a"}), {Empty("a")}, kPodPending},
      {"RunningAndExited_Running", MakePod("Never", {"a", "b"}), {Running("a"), Terminated("b", 1)}, kPodRunning},
      // Everything stopped: the restart policy decides.
      {"RestartPolicyAlways_ExitZero_Running", MakePod("Always", {"a"}), {Terminated("a", 0)}, kPodRunning},
      {"RestartPolicyAlways_ExitOne_Running", MakePod("Always", {"a"}), {Terminated("a", 1)}, kPodRunning},
      {"RestartPolicyOnFailure_ExitZero_Succeeded", MakePod("OnFailure", {"a"}), {Terminated("a", 0)},
       kPodSucceeded},
      {"RestartPolicyOnFailure_ExitOne_Running", MakePod("OnFailure", {"a"}), {Terminated("a", 1)}, kPodRunning},
      {"RestartPolicyNever_ExitZero_Succeeded", MakePod("Never", {"a"}), {Terminated("a", 0)}, kPodSucceeded},
      {"RestartPolicyNever_ExitOne_Failed", MakePod("Never", {"a"}), {Terminated("a", 1)}, kPodFailed},
      {"RestartPolicyNever_MixedExits_Failed", MakePod("Never", {"a", "b"}), {Terminated("a", 0), Terminated("b", 2)},
       kPodFailed},
      {"RestartPolicyOnFailure_MixedExits_Running", MakePod("OnFailure", {"a", "b"}),
       {Terminated("a", 0), Terminated("b", 2)}, kPodRunning},
      {"RestartPolicyAlways_CrashLoop_Running", MakePod("Always", {"a"}), {Restarting("a", 1)}, kPodRunning},
      {"RestartPolicyOnFailure_CrashLoop_Running", MakePod("OnFailure", {"a"}), {Restarting("a", 1)}, kPodRunning},
      {"RestartPolicyAlways_CrashLoopAndRunning_Running", MakePod("Always", {"a", "b"}),
       {Restarting("a", 1), Running("b")}, kPodRunning},
      // The worker says the pod is terminal: success or failure whatever the policy (not for static pods).
      {"Terminal_AllExitZero_Succeeded", MakePod("Always", {"a"}), {Terminated("a", 0)}, kPodSucceeded, true},
      {"Terminal_ExitOne_Failed", MakePod("Always", {"a"}), {Terminated("a", 137)}, kPodFailed, true},
      {"Terminal_StaticPod_RestartPolicyDecides", Static(MakePod("Always", {"a"})), {Terminated("a", 0)},
       kPodRunning, true},
      {"Terminal_StaticPodNever_Failed", Static(MakePod("Never", {"a"})), {Terminated("a", 1)}, kPodFailed, true},
      // Regular init containers.
      {"Init_NoStatus_Pending", MakePod("Always", {"a"}, {"init"}), {Waiting("a", "PodInitializing")},
       kPodPending},
      {"Init_Running_Pending", MakePod("Always", {"a"}, {"init"}), {Running("init"), Waiting("a", "PodInitializing")},
       kPodPending},
      {"Init_Waiting_Pending", MakePod("Always", {"a"}, {"init"}), {Waiting("init"), Waiting("a", "PodInitializing")},
       kPodPending},
      {"Init_ExitZero_AppRunning_Running", MakePod("Always", {"a"}, {"init"}), {Terminated("init", 0), Running("a")},
       kPodRunning},
      {"RestartPolicyNever_InitExitOne_Failed", MakePod("Never", {"a"}, {"init"}),
       {Terminated("init", 1), Waiting("a", "PodInitializing")}, kPodFailed},
      {"RestartPolicyNever_InitCrashLoop_Failed", MakePod("Never", {"a"}, {"init"}),
       {Restarting("init", 1), Waiting("a", "PodInitializing")}, kPodFailed},
      {"RestartPolicyOnFailure_InitExitOne_Pending", MakePod("OnFailure", {"a"}, {"init"}),
       {Terminated("init", 1), Waiting("a", "PodInitializing")}, kPodPending},
      {"RestartPolicyAlways_InitCrashLoop_Pending", MakePod("Always", {"a"}, {"init"}),
       {Restarting("init", 1), Waiting("a", "PodInitializing")}, kPodPending},
      {"RestartPolicyNever_InitExitZero_Pending", MakePod("Never", {"a"}, {"i1", "i2"}),
       {Terminated("i1", 0), Waiting("i2"), Waiting("a", "PodInitializing")}, kPodPending},
      {"Init_RestartingAfterExitZero_Pending", MakePod("Always", {"a"}, {"init"}),
       {Restarting("init", 0), Waiting("a", "PodInitializing")}, kPodPending},
      // Restartable (sidecar) init containers.
      {"Sidecar_RunningStarted_AppRunning_Running", WithSidecar(MakePod("Always", {"a"})),
       {Running("sidecar"), Running("a")}, kPodRunning},
      {"Sidecar_RunningNotStarted_Pending", WithSidecar(MakePod("Always", {"a"})),
       {Running("sidecar", false), Waiting("a", "PodInitializing")}, kPodPending},
      {"Sidecar_StartedUnset_Pending", WithSidecar(MakePod("Always", {"a"})),
       {Running("sidecar", std::nullopt), Running("a")}, kPodPending},
      {"Sidecar_NotStartedButInitialized_Running", WithSidecar(MakePod("Always", {"a"})),
       {Running("sidecar", false), Running("a")}, kPodRunning, false, true},
      {"Sidecar_WaitingFirstStart_Pending", WithSidecar(MakePod("Always", {"a"})),
       {Waiting("sidecar"), Running("a")}, kPodPending, false, true},
      {"Sidecar_Restarting_AppRunning_Running", WithSidecar(MakePod("Always", {"a"})),
       {Restarting("sidecar", 1), Running("a")}, kPodRunning, false, true},
      {"Sidecar_Missing_Pending", WithSidecar(MakePod("Always", {"a"})), {Running("a")}, kPodPending},
      {"Sidecar_Terminated_AppSucceeded_OnFailure_Succeeded", WithSidecar(MakePod("OnFailure", {"a"})),
       {Terminated("sidecar", 137), Terminated("a", 0)}, kPodSucceeded},
      {"Sidecar_Running_AppSucceeded_Never_Running", WithSidecar(MakePod("Never", {"a"})),
       {Running("sidecar"), Terminated("a", 0)}, kPodRunning},
      {"Sidecar_Terminated_AppFailed_Never_Failed", WithSidecar(MakePod("Never", {"a"})),
       {Terminated("sidecar", 0), Terminated("a", 1)}, kPodFailed},
      {"Sidecar_Terminated_Terminal_Succeeded", WithSidecar(MakePod("Always", {"a"})),
       {Terminated("sidecar", 143), Terminated("a", 0)}, kPodSucceeded, true},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(GetPhase(c.pod, c.statuses, c.terminal, c.initialized), c.want) << c.name;
  }
}

TEST(GetPhase, StaticPodAnnotation) {
  api::Pod p = MakePod("Always", {"a"});
  EXPECT_FALSE(IsStaticPod(p));
  p.metadata.annotations["kubernetes.io/config.source"] = "api";
  EXPECT_FALSE(IsStaticPod(p));
  p.metadata.annotations["kubernetes.io/config.source"] = "http";
  EXPECT_TRUE(IsStaticPod(p));
}

}  // namespace
}  // namespace nanolet::kubelet
