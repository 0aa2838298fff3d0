// What a restarted nanolet finds when it was SIGKILLed while making a pod
// (bench/restart_survival.sh), through PodSyncer::Sync on the fake runtime: a container created but
// never started, a sandbox left not ready with a container that never ran, a second sandbox beside
// a dead one. Upstream semantics: what runs is adopted, a container that never started is not a run
// (restart count, restart policy), dead sandboxes are collected.
#include <gtest/gtest.h>

#include <algorithm>

#include "kubelet/container_config.h"
#include "kubelet/container_gc.h"
#include "kubelet/pod_actions.h"
#include "kubelet/pod_worker.h"
#include "kubelet/runtime_pod.h"
#include "pod_syncer_fixture.h"
#include "runtime/fake_runtime.h"
#include "test_util.h"

namespace nanolet::kubelet {
namespace {

using namespace testing;
using runtime::ContainerState;

class RestartSurvivalTest : public PodSyncerTestBase {
 protected:
  // What the earlier nanolet left: a sandbox (ready or not) of `pod`.
  std::string LeftSandbox(const api::Pod& pod, uint32_t attempt, bool ready) {
    auto sid = rt_.RunPodSandbox(MakeSandboxConfig(pod, attempt, PodContext{}));
    EXPECT_TRUE(sid.ok());
    if (!ready) rt_.KillSandbox(*sid);
    clock_.Advance(std::chrono::seconds(1));
    return *sid;
  }
  // ... and a container of it, created by the earlier nanolet and never started.
  std::string LeftCreatedContainer(const api::Pod& pod, const std::string& sid, uint32_t attempt) {
    runtime::ContainerConfig cfg;
    cfg.name = pod.spec.containers[0].name;
    cfg.attempt = attempt;
    cfg.image = "busybox:1.36";
    cfg.labels = ContainerLabels(pod, pod.spec.containers[0], attempt);
    auto cid = rt_.CreateContainer(sid, cfg, MakeSandboxConfig(pod, 0, PodContext{}));
    EXPECT_TRUE(cid.ok());
    clock_.Advance(std::chrono::seconds(1));
    return *cid;
  }
  std::vector<runtime::SandboxStatus> Sandboxes() { return *rt_.ListPodSandboxes(); }
  RuntimePodStatus Listed(const api::Pod& pod) {
    return RuntimePodStatus::Build(pod.metadata.uid, *rt_.ListPodSandboxes(),
                                   *rt_.ListContainers());
  }
  bool Called(const std::string& call) {
    auto calls = rt_.Calls();
    return std::find(calls.begin(), calls.end(), call) != calls.end();
  }
};

// Defect 1: killed between create and start, the attempt stayed created and the next one counted a
// restart.
TEST_F(RestartSurvivalTest, CreatedNeverStarted_KilledAndRunAsTheSameAttempt) {
  api::Pod pod = MakePod("Always", {"app"});
  std::string sid = LeftSandbox(pod, 0, true);
  std::string left = LeftCreatedContainer(pod, sid, 0);
  rt_.ClearCalls();

  SyncResult r = Sync(pod);
  EXPECT_TRUE(Called("StopContainer " + left))
      << "runc may hold its process: never two of one container";
  EXPECT_FALSE(Called("RunPodSandbox " + pod.metadata.uid)) << "the sandbox is adopted";
  auto app = rt_.FindContainer(pod.metadata.uid, "app");
  ASSERT_TRUE(app.has_value());
  EXPECT_NE(app->id, left);
  EXPECT_EQ(app->state, ContainerState::kRunning);
  EXPECT_EQ(app->attempt, 0u);
  EXPECT_EQ(rt_.RunningContainerCount(), 1u);
  EXPECT_EQ(r.status.phase, "Running");
  ASSERT_EQ(r.status.container_statuses.size(), 1u);
  EXPECT_EQ(r.status.container_statuses[0].restart_count, 0);

  // The container that never ran is garbage; the one that runs is kept.
  PodGarbage g = FindPodGarbage(Listed(pod));
  EXPECT_EQ(g.containers, std::vector<std::string>{left});
  EXPECT_EQ(RemovePodGarbage(rt_, g), 0);
  EXPECT_FALSE(rt_.GetContainerStatus(left).ok());
  EXPECT_TRUE(rt_.GetContainerStatus(app->id).ok());
}

// Defect 3: a restartPolicy Never pod whose sandbox was being made when nanolet died (it comes back
// not ready) and whose container never ran was finished as terminal, or later counted a restart.
TEST_F(RestartSurvivalTest, NeverPod_SandboxDiedBeforeItsContainerRan_StartsOnceInANewSandbox) {
  api::Pod pod = MakePod("Never", {"app"});
  std::string sid = LeftSandbox(pod, 0, true);
  std::string left = LeftCreatedContainer(pod, sid, 0);
  ASSERT_TRUE(
      rt_.StopContainer(left, std::chrono::milliseconds(0)).ok());  // killed before it started
  ASSERT_TRUE(rt_.KillSandbox(sid));

  SyncResult r = Sync(pod);
  EXPECT_FALSE(r.finished);
  EXPECT_EQ(r.status.phase, "Running");
  auto app = rt_.FindContainer(pod.metadata.uid, "app");
  ASSERT_TRUE(app.has_value());
  EXPECT_EQ(app->state, ContainerState::kRunning);
  EXPECT_EQ(app->attempt, 0u);
  EXPECT_NE(app->sandbox_id, sid);
  ASSERT_EQ(r.status.container_statuses.size(), 1u);
  EXPECT_EQ(r.status.container_statuses[0].restart_count, 0);

  // It then exits 3: reported as such, never run again.
  ASSERT_TRUE(rt_.ExitContainer(app->id, 3));
  r = Sync(pod);
  EXPECT_TRUE(r.finished);
  EXPECT_EQ(r.status.phase, "Failed");
  ASSERT_TRUE(r.status.container_statuses[0].state.terminated.has_value());
  EXPECT_EQ(r.status.container_statuses[0].state.terminated->exit_code, 3);
  EXPECT_EQ(r.status.container_statuses[0].restart_count, 0);
}

// Defect 2: killed during sandbox creation, the pod ended with two sandboxes and the older one was
// never removed. The dead older sandbox is garbage once nothing in it is kept; the newest never is.
TEST_F(RestartSurvivalTest, DeadOlderSandbox_CollectedOnceItsContainersAreGarbage) {
  api::Pod pod = MakePod("Always", {"app"});
  std::string dead = LeftSandbox(pod, 0, false);
  SyncResult r = Sync(pod);  // replaces the dead sandbox
  EXPECT_EQ(r.status.phase, "Running");
  ASSERT_EQ(Sandboxes().size(), 2u);
  PodGarbage g = FindPodGarbage(Listed(pod));
  EXPECT_TRUE(g.containers.empty());
  EXPECT_EQ(g.sandboxes, std::vector<std::string>{dead});
  EXPECT_EQ(RemovePodGarbage(rt_, g), 0);
  auto left = Sandboxes();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_NE(left[0].id, dead);
  EXPECT_EQ(left[0].state, runtime::SandboxState::kReady);
  EXPECT_TRUE(FindPodGarbage(Listed(pod)).empty());
}

TEST(FindPodGarbage, KeepsTheNewestAndTheLastRun) {
  api::Pod pod = MakePod("Always", {"a", "b"});
  auto run = [&](const std::string& name, const std::string& id, ContainerState st,
                 uint32_t attempt, int created) {
    return MakeRuntimeContainer(pod, Spec(pod, name), id, st, attempt, 1, created);
  };
  RuntimePodStatus s;
  s.uid = pod.metadata.uid;
  s.sandboxes = {MakeSandbox(pod, "sb1", 1, true, 10), MakeSandbox(pod, "sb0", 0, false, 0)};
  runtime::ContainerStatus never = run("a", "a-never", ContainerState::kExited, 3, 9);
  never.started_at = TimePoint{};
  s.containers = {run("a", "a4", ContainerState::kRunning, 3, 11), never,
                  run("a", "a2", ContainerState::kExited, 2, 7),
                  run("a", "a1", ContainerState::kExited, 1, 5),
                  run("b", "b0", ContainerState::kExited, 0, 3)};
  for (auto& c : s.containers) c.sandbox_id = c.id == "b0" || c.id == "a1" ? "sb0" : "sb1";
  s.Sort();
  PodGarbage g = FindPodGarbage(s);
  // a: a4 runs (newest), a2 is the last run (lastState); the never-started one and a1 go. b0 is b's
  // newest.
  std::sort(g.containers.begin(), g.containers.end());
  EXPECT_EQ(g.containers, (std::vector<std::string>{"a-never", "a1"}));
  EXPECT_TRUE(g.sandboxes.empty()) << "sb0 still holds b0, the newest b";

  s.containers.erase(std::remove_if(s.containers.begin(), s.containers.end(),
                                    [](const auto& c) { return c.id == "b0"; }),
                     s.containers.end());
  g = FindPodGarbage(s);
  EXPECT_EQ(g.sandboxes, std::vector<std::string>{"sb0"});

  s.sandboxes[1].state = runtime::SandboxState::kReady;
  EXPECT_TRUE(FindPodGarbage(s).sandboxes.empty())
      << "an older ready sandbox is the pod worker's to stop";
  s.sandboxes = {MakeSandbox(pod, "sb1", 1, false, 10)};
  EXPECT_TRUE(FindPodGarbage(s).sandboxes.empty()) << "the newest sandbox is never garbage";
}

}  // namespace
}  // namespace nanolet::kubelet
