#include "kubelet/backoff.h"

#include <gtest/gtest.h>

#include "api/types.h"
#include "kubelet/restart_backoff.h"
#include "kubelet/runtime_pod.h"
#include "test_util.h"

namespace nanolet::kubelet {
namespace {

using std::chrono::seconds;
using namespace testing;

TEST(Backoff, SequenceDoublesToTheCap) {
  FakeClock clock;
  Backoff b(clock, kCrashLoopBackOffInitial, kCrashLoopBackOffMax);
  EXPECT_EQ(b.Get("k"), Duration(0));
  const int want[] = {10, 20, 40, 80, 160, 300, 300};
  for (int w : want) {
    b.Next("k", clock.Now());
    EXPECT_EQ(b.Get("k"), seconds(w));
    clock.Advance(b.Get("k"));  // fail again right when the window ends
  }
}

TEST(Backoff, IsInBackOffSinceCountsFromTheEvent) {
  FakeClock clock;
  Backoff b(clock, seconds(10), seconds(300));
  EXPECT_FALSE(b.IsInBackOffSince("k", clock.Now()));  // no entry
  TimePoint failed = clock.Now();
  b.Next("k", failed);
  EXPECT_TRUE(b.IsInBackOffSince("k", failed));
  clock.Advance(std::chrono::milliseconds(9999));
  EXPECT_TRUE(b.IsInBackOffSince("k", failed));
  clock.Advance(std::chrono::milliseconds(1));
  EXPECT_FALSE(b.IsInBackOffSince("k", failed));
  EXPECT_TRUE(b.IsInBackOffSince("k", clock.Now()));  // a newer failure is inside the window again
}

TEST(Backoff, IsInBackOffSinceUpdateCountsFromTheLastNext) {
  FakeClock clock;
  Backoff b(clock, seconds(10), seconds(300));
  b.Next("img", clock.Now());
  clock.Advance(seconds(5));
  EXPECT_TRUE(b.IsInBackOffSinceUpdate("img", clock.Now()));
  clock.Advance(seconds(5));
  EXPECT_FALSE(b.IsInBackOffSinceUpdate("img", clock.Now()));
  b.Next("img", clock.Now());
  clock.Advance(seconds(19));
  EXPECT_TRUE(b.IsInBackOffSinceUpdate("img", clock.Now()));
  clock.Advance(seconds(1));
  EXPECT_FALSE(b.IsInBackOffSinceUpdate("img", clock.Now()));
}

// The pod worker comes back when the window since the last pull ends, not a whole window after a sync in
// the middle of it (that doubled the wait); the note keeps the last error for the waiting message.
TEST(Backoff, RemainingSinceUpdateAndNote) {
  FakeClock clock;
  Backoff b(clock, seconds(10), seconds(300));
  EXPECT_EQ(b.RemainingSinceUpdate("img", clock.Now()), seconds(0));
  b.Next("img", clock.Now());
  b.SetNote("img", "manifest unknown");
  EXPECT_EQ(b.RemainingSinceUpdate("img", clock.Now()), seconds(10));
  clock.Advance(seconds(7));
  EXPECT_EQ(b.RemainingSinceUpdate("img", clock.Now()), seconds(3));
  clock.Advance(seconds(5));
  EXPECT_EQ(b.RemainingSinceUpdate("img", clock.Now()), seconds(0));
  EXPECT_EQ(b.Note("img"), "manifest unknown");
  b.Reset("img");
  EXPECT_EQ(b.Note("img"), "");
}

TEST(Backoff, ResetAfterTenMinutesWithoutFailure) {
  FakeClock clock;
  Backoff b(clock, kCrashLoopBackOffInitial, kCrashLoopBackOffMax);
  for (int i = 0; i < 6; ++i) b.Next("k", clock.Now());
  EXPECT_EQ(b.Get("k"), seconds(300));
  // Exactly 10 min (2 x max) later is not yet expired: it doubles (stays at the cap).
  clock.Advance(seconds(600));
  b.Next("k", clock.Now());
  EXPECT_EQ(b.Get("k"), seconds(300));
  // Running well for more than 10 min: the next failure starts again at 10 s.
  clock.Advance(seconds(601));
  EXPECT_FALSE(b.IsInBackOffSince("k", clock.Now()));
  b.Next("k", clock.Now());
  EXPECT_EQ(b.Get("k"), seconds(10));
}

TEST(Backoff, GCDropsStaleEntries) {
  FakeClock clock;
  Backoff b(clock, seconds(10), seconds(300));
  b.Next("old", clock.Now());
  clock.Advance(seconds(500));
  b.Next("new", clock.Now());
  clock.Advance(seconds(101));
  b.GC();
  EXPECT_EQ(b.size(), 1u);
  EXPECT_EQ(b.Get("old"), Duration(0));
  EXPECT_EQ(b.Get("new"), seconds(10));
  b.Reset("new");
  EXPECT_EQ(b.size(), 0u);
}

TEST(Backoff, ImagePullConstantsAsUpstream) {
  EXPECT_EQ(kImagePullBackOffInitial, seconds(10));
  EXPECT_EQ(kImagePullBackOffMax, seconds(300));
}

// doBackOff: the key, the message and the moment of each restart.
TEST(RestartBackOff, KeyAndMessageAsUpstream) {
  api::Pod pod = MakePod("Always", {"app"});
  EXPECT_EQ(FormatPod(pod), "web_default(uid-1)");
  EXPECT_EQ(RestartBackOffKey(pod, pod.spec.containers[0]),
            "web_default_uid-1_app_" + ContainerHash(pod.spec.containers[0]));
}

TEST(RestartBackOff, NeverExitedStartsWithoutBackoff) {
  FakeClock clock;
  Backoff b(clock, kCrashLoopBackOffInitial, kCrashLoopBackOffMax);
  api::Pod pod = MakePod("Always", {"app"});
  RuntimePodStatus st;
  EXPECT_FALSE(CheckRestartBackOff(b, pod, pod.spec.containers[0], st).has_value());
  EXPECT_EQ(b.size(), 0u);
}

TEST(RestartBackOff, CrashLoopWaitsDoublingFromTheLastFinish) {
  FakeClock clock(T(0));
  Backoff b(clock, kCrashLoopBackOffInitial, kCrashLoopBackOffMax);
  api::Pod pod = MakePod("Always", {"app"});
  const api::Container& app = pod.spec.containers[0];
  RuntimePodStatus st;
  st.containers.push_back(MakeRuntimeContainer(pod, app, "c0", runtime::ContainerState::kExited, 0, 1));

  auto finish_now = [&](uint32_t attempt) {
    auto c = MakeRuntimeContainer(pod, app, "c" + std::to_string(attempt), runtime::ContainerState::kExited,
                                  attempt, 1);
    c.finished_at = clock.Now();
    c.created_at = clock.Now();
    st.containers.insert(st.containers.begin(), c);
  };
  st.containers[0].finished_at = clock.Now();
  // The first restart is immediate.
  EXPECT_FALSE(CheckRestartBackOff(b, pod, app, st).has_value());
  const int waits[] = {10, 20, 40, 80, 160, 300, 300};
  uint32_t attempt = 1;
  for (int w : waits) {
    finish_now(attempt++);  // it crashes at once
    auto r = CheckRestartBackOff(b, pod, app, st);
    ASSERT_TRUE(r.has_value()) << w;
    EXPECT_EQ(r->reason, "CrashLoopBackOff");
    std::string shown = w == 300 ? "5m0s" : (w == 160 ? "2m40s" : (w == 80 ? "1m20s" : std::to_string(w) + "s"));
    EXPECT_EQ(r->message, "back-off " + shown + " restarting failed container=app pod=web_default(uid-1)");
    clock.Advance(seconds(w) - std::chrono::milliseconds(1));
    EXPECT_TRUE(CheckRestartBackOff(b, pod, app, st).has_value()) << w;
    clock.Advance(std::chrono::milliseconds(1));
    EXPECT_FALSE(CheckRestartBackOff(b, pod, app, st).has_value()) << w;
  }
}

}  // namespace
}  // namespace nanolet::kubelet
