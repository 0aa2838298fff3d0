// PodSyncer (the pod worker's blocking work) on the fake runtime and a FakeClock:
// activeDeadlineSeconds and the termination message, end to end through Sync.
#include "kubelet/pod_worker.h"

#include <gtest/gtest.h>
#include <algorithm>

#include "kubelet/container_config.h"
#include "kubelet/pod_status.h"
#include "kubelet/termination_message.h"
#include "runtime/fake_runtime.h"
#include "pod_syncer_fixture.h"
#include "test_util.h"
#include "util/fs.h"

namespace nanolet::kubelet {
namespace {

using namespace testing;

using PodSyncerTest = PodSyncerTestBase;

TEST_F(PodSyncerTest, ActiveDeadlineExceeded_PodFailedAndContainersKilled) {
  api::Pod pod = MakePod("Always", {"app"});
  pod.spec.active_deadline_seconds = 30;
  SyncResult r = Sync(pod);
  ASSERT_EQ(rt_.RunningContainerCount(), 1u);
  EXPECT_EQ(r.status.phase, "Running");
  EXPECT_FALSE(r.finished);
  // The worker is asked to come back when the deadline passes.
  ASSERT_TRUE(r.requeue_after.has_value());
  EXPECT_EQ(*r.requeue_after, std::chrono::seconds(30));

  clock_.Advance(std::chrono::seconds(10));
  r = Sync(pod);
  EXPECT_EQ(r.status.phase, "Running");
  ASSERT_TRUE(r.requeue_after.has_value());
  EXPECT_EQ(*r.requeue_after, std::chrono::seconds(20));

  clock_.Advance(std::chrono::seconds(20));
  r = Sync(pod);
  EXPECT_TRUE(r.finished);
  EXPECT_EQ(r.status.phase, "Failed");
  EXPECT_EQ(r.status.reason, kDeadlineExceededReason);
  EXPECT_EQ(r.status.message, kDeadlineExceededMessage);
  EXPECT_EQ(rt_.RunningContainerCount(), 0u);
  auto sandboxes = rt_.ListPodSandboxes();
  ASSERT_TRUE(sandboxes.ok());
  for (const auto& sb : *sandboxes) EXPECT_EQ(sb.state, runtime::SandboxState::kNotReady);
  ASSERT_EQ(r.status.container_statuses.size(), 1u);
  EXPECT_TRUE(r.status.container_statuses[0].state.terminated.has_value());

  // Failed stays Failed: the next sync starts nothing.
  clock_.Advance(std::chrono::seconds(5));
  r = Sync(pod);
  EXPECT_EQ(r.status.phase, "Failed");
  EXPECT_EQ(rt_.RunningContainerCount(), 0u);
}

TEST_F(PodSyncerTest, NoDeadline_NoRequeue) {
  api::Pod pod = MakePod("Always", {"app"});
  SyncResult r = Sync(pod);
  EXPECT_EQ(r.status.phase, "Running");
  EXPECT_FALSE(r.requeue_after.has_value());
}

TEST_F(PodSyncerTest, TerminationMessageFileReadBackWhenTheContainerEnds) {
  api::Pod pod = MakePod("Never", {"app"});
  Sync(pod);
  auto c = rt_.FindContainer(pod.metadata.uid, "app");
  ASSERT_TRUE(c.has_value());
  auto file = c->annotations.find(std::string(kTerminationMessageFileAnnotation));
  ASSERT_NE(file, c->annotations.end());
  // The container writes to its terminationMessagePath (a mount of this file), then exits.
  ASSERT_TRUE(WriteFile(file->second, "all done").ok());
  ASSERT_TRUE(rt_.ExitContainer(c->id, 0));
  SyncResult r = Sync(pod);
  EXPECT_EQ(r.status.phase, "Succeeded");
  ASSERT_EQ(r.status.container_statuses.size(), 1u);
  ASSERT_TRUE(r.status.container_statuses[0].state.terminated.has_value());
  EXPECT_EQ(r.status.container_statuses[0].state.terminated->message, "all done");
  EXPECT_EQ(r.status.qos_class, "BestEffort");
}

}  // namespace
// The fast path: the runtime returns from RunPodSandbox before CNI ADD ends; when ADD fails, StartContainer
// fails with kUnavailable and the sandbox turns NotReady. That is a sandbox failure, not the container's:
// the containers wait in ContainerCreating with the cause, the sandbox backs off and is then replaced.
TEST_F(PodSyncerTest, SandboxNetworkFailure_CauseOnContainersBackoffThenReplaced) {
  api::Pod pod = MakePod("Always", {"app"});
  rt_.InjectError("StartContainer", Error("set up pod network: plugin bridge failed", ErrorCode::kUnavailable));
  SyncResult r = Sync(pod);
  auto sandboxes = rt_.ListPodSandboxes();
  ASSERT_TRUE(sandboxes.ok());
  ASSERT_EQ(sandboxes->size(), 1u);
  const std::string first = (*sandboxes)[0].id;
  ASSERT_TRUE(rt_.KillSandbox(first, "plugin bridge failed"));  // what the runtime does when ADD fails
  EXPECT_EQ(rt_.RunningContainerCount(), 0u);
  ASSERT_TRUE(r.requeue_after.has_value());
  EXPECT_EQ(*r.requeue_after, std::chrono::seconds(1));
  ASSERT_EQ(r.status.container_statuses.size(), 1u);
  const auto& waiting = r.status.container_statuses[0].state.waiting;
  ASSERT_TRUE(waiting.has_value());
  EXPECT_EQ(waiting->reason, "ContainerCreating");
  EXPECT_EQ(waiting->message, "Failed to create pod sandbox: set up pod network: plugin bridge failed");
  EXPECT_EQ(r.status.container_statuses[0].restart_count, 0);
  // The failed attempt left no container behind.
  auto containers = rt_.ListContainers();
  ASSERT_TRUE(containers.ok());
  EXPECT_TRUE(containers->empty());

  // Within the backoff: no new sandbox, the cause stays.
  rt_.ClearCalls();
  r = Sync(pod);
  for (const auto& call : rt_.Calls()) EXPECT_NE(call.rfind("RunPodSandbox", 0), 0u) << call;
  ASSERT_TRUE(r.status.container_statuses[0].state.waiting.has_value());
  EXPECT_NE(r.status.container_statuses[0].state.waiting->message.find("plugin bridge failed"), std::string::npos);

  // After it: the broken sandbox is stopped, a new one runs the container.
  clock_.Advance(std::chrono::seconds(1));
  rt_.ClearCalls();
  r = Sync(pod);
  auto calls = rt_.Calls();
  EXPECT_NE(std::find(calls.begin(), calls.end(), "StopPodSandbox " + first), calls.end());
  EXPECT_EQ(rt_.RunningContainerCount(), 1u);
  EXPECT_EQ(r.status.phase, "Running");
  EXPECT_EQ(r.status.container_statuses[0].restart_count, 0);
}

// The same late network failure while no container is being started (here the image cannot be pulled): the
// sandbox is not replaced at once on every sync (as fast as CNI fails) but after the sandbox backoff, which
// doubles when the next one fails too; the cause is on the waiting container.
TEST_F(PodSyncerTest, SandboxNetworkFailure_NoContainerStarting_StillBacksOff) {
  api::Pod pod = MakePod("Always", {"app"});
  pod.spec.containers[0].image = "registry.example/missing:1";
  rt_.SetPullError("registry.example/missing:1", Error("manifest unknown"));
  Sync(pod);
  auto sandboxes = rt_.ListPodSandboxes();
  ASSERT_TRUE(sandboxes.ok());
  ASSERT_EQ(sandboxes->size(), 1u);
  const std::string first = (*sandboxes)[0].id;
  ASSERT_TRUE(rt_.KillSandbox(first, "plugin bridge failed"));

  auto run_pod_sandbox_calls = [&] {
    auto calls = rt_.Calls();
    return std::count_if(calls.begin(), calls.end(), [](const std::string& c) { return c.rfind("RunPodSandbox", 0) == 0; });
  };
  rt_.ClearCalls();
  SyncResult r = Sync(pod);
  EXPECT_EQ(run_pod_sandbox_calls(), 0) << "a sandbox whose network failed was replaced without backoff";
  ASSERT_TRUE(r.requeue_after.has_value());
  EXPECT_EQ(*r.requeue_after, std::chrono::seconds(1));
  ASSERT_TRUE(r.status.container_statuses[0].state.waiting.has_value());
  EXPECT_EQ(r.status.container_statuses[0].state.waiting->message,
            "Failed to create pod sandbox: set up pod network: plugin bridge failed");
  // Counted once: more syncs within the window do not push it out.
  r = Sync(pod);
  EXPECT_EQ(run_pod_sandbox_calls(), 0);
  ASSERT_TRUE(r.requeue_after.has_value());
  EXPECT_LE(*r.requeue_after, std::chrono::seconds(1));

  clock_.Advance(std::chrono::seconds(1));
  rt_.ClearCalls();
  Sync(pod);
  EXPECT_EQ(run_pod_sandbox_calls(), 1) << "not replaced after the backoff";
  sandboxes = rt_.ListPodSandboxes();
  ASSERT_TRUE(sandboxes.ok());
  std::string second;
  for (const auto& s : *sandboxes) {
    if (s.id != first && s.state == runtime::SandboxState::kReady) second = s.id;
  }
  ASSERT_FALSE(second.empty());
  // The new one fails too: the window doubles.
  ASSERT_TRUE(rt_.KillSandbox(second, "plugin bridge failed"));
  r = Sync(pod);
  ASSERT_TRUE(r.requeue_after.has_value());
  EXPECT_EQ(*r.requeue_after, std::chrono::seconds(2));
  clock_.Advance(std::chrono::seconds(1));
  rt_.ClearCalls();
  Sync(pod);
  EXPECT_EQ(run_pod_sandbox_calls(), 0) << "replaced within the doubled window";
}

TEST_F(PodSyncerTest, SandboxConfigWaitsForNetworkOnlyWhenEnvReadsThePodIP) {
  api::Pod pod = MakePod("Always", {"app"});
  PodContext ctx;
  EXPECT_FALSE(MakeSandboxConfig(pod, 0, ctx).wait_for_network);
  api::EnvVar ev;
  ev.name = "MY_IP";
  ev.value_from.emplace();
  ev.value_from->field_ref.emplace();
  ev.value_from->field_ref->field_path = "status.hostIP";
  pod.spec.containers[0].env.push_back(ev);
  EXPECT_FALSE(MakeSandboxConfig(pod, 0, ctx).wait_for_network);
  pod.spec.containers[0].env[0].value_from->field_ref->field_path = "status.podIP";
  EXPECT_TRUE(MakeSandboxConfig(pod, 0, ctx).wait_for_network);
}

}  // namespace nanolet::kubelet
