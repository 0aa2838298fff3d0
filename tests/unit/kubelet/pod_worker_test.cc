// PodSyncer (the pod worker's blocking work) on the fake runtime and a FakeClock:
// activeDeadlineSeconds and the termination message, end to end through Sync.
#include "kubelet/pod_worker.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "kubelet/pod_status.h"
#include "kubelet/termination_message.h"
#include "runtime/fake_runtime.h"
#include "test_util.h"
#include "util/fs.h"

namespace nanolet::kubelet {
namespace {

using namespace testing;

class PodSyncerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/nanolet-syncer-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    PodSyncOptions o;
    o.node_name = "node1";
    o.root_dir = dir_ + "/root";
    o.pod_logs_dir = dir_ + "/logs";
    o.host_ips = {"192.0.2.1"};
    // The worker creates containers from the image ID; the fake finds images by reference only.
    rt_.AddImage("busybox:1.36", "busybox:1.36");
    syncer_ = std::make_unique<PodSyncer>(o, rt_, clock_);
  }
  void TearDown() override { (void)RemoveAll(dir_); }

  SyncResult Sync(const api::Pod& pod) {
    SyncRequest req;
    req.pod = pod;
    req.first_seen = first_seen_;
    req.previous_status = last_;
    SyncResult r = syncer_->Sync(req);
    last_ = r.status;
    return r;
  }

  FakeClock clock_;
  runtime::FakeRuntime rt_{clock_};
  std::unique_ptr<PodSyncer> syncer_;
  std::string dir_;
  TimePoint first_seen_ = clock_.Now();
  api::PodStatus last_;
};

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
}  // namespace nanolet::kubelet
