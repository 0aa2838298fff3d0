#include "kubelet/image_pull.h"

#include <gtest/gtest.h>

#include "kubelet/backoff.h"
#include "runtime/fake_runtime.h"
#include "test_util.h"

namespace nanolet::kubelet {
namespace {

using namespace testing;

TEST(ImagePull, ShouldPullImage) {
  EXPECT_TRUE(ShouldPullImage("Always", true));
  EXPECT_TRUE(ShouldPullImage("Always", false));
  EXPECT_FALSE(ShouldPullImage("IfNotPresent", true));
  EXPECT_TRUE(ShouldPullImage("IfNotPresent", false));
  EXPECT_FALSE(ShouldPullImage("Never", true));
  EXPECT_FALSE(ShouldPullImage("Never", false));
}

struct Fixture {
  FakeClock clock{T(0)};
  runtime::FakeRuntime rt{clock};
  Backoff backoff{clock, kImagePullBackOffInitial, kImagePullBackOffMax};
  api::Pod pod = MakePod("Always", {"app"});
  ImageResult Ensure() { return EnsureImageExists(rt, backoff, pod, pod.spec.containers[0], {}); }
  size_t Pulls() {
    size_t n = 0;
    for (const auto& c : rt.Calls()) n += c.rfind("PullImage", 0) == 0;
    return n;
  }
};

TEST(ImagePull, IfNotPresentUsesLocalImage) {
  Fixture f;
  f.rt.AddImage("busybox:1.36", "sha256:local");
  auto r = f.Ensure();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.image_ref, "sha256:local");
  EXPECT_EQ(f.Pulls(), 0u);
}

TEST(ImagePull, AlwaysPullsAtEveryStart) {
  Fixture f;
  f.pod.spec.containers[0].image_pull_policy = "Always";
  f.rt.AddImage("busybox:1.36");
  EXPECT_TRUE(f.Ensure().pulled);
  EXPECT_TRUE(f.Ensure().pulled);
  EXPECT_EQ(f.Pulls(), 2u);
}

TEST(ImagePull, NeverWithoutImage_ErrImageNeverPull) {
  Fixture f;
  f.pod.spec.containers[0].image_pull_policy = "Never";
  auto r = f.Ensure();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.failure->reason, "ErrImageNeverPull");
  EXPECT_EQ(r.failure->message, "Container image \"busybox:1.36\" is not present with pull policy of Never");
  EXPECT_EQ(f.Pulls(), 0u);
}

TEST(ImagePull, FailureThenBackOffThenRetry) {
  Fixture f;
  f.rt.SetPullError("busybox:1.36", Error("manifest unknown"));
  auto r = f.Ensure();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.failure->reason, "ErrImagePull");
  EXPECT_EQ(r.failure->message, "manifest unknown");
  f.clock.Advance(std::chrono::seconds(9));
  r = f.Ensure();
  EXPECT_EQ(r.failure->reason, "ImagePullBackOff");
  // The last pull's error stays in the message (upstream prevPullErrMsg).
  EXPECT_EQ(r.failure->message, "Back-off pulling image \"busybox:1.36\": manifest unknown");
  EXPECT_EQ(f.Pulls(), 1u);
  f.clock.Advance(std::chrono::seconds(1));
  EXPECT_EQ(f.Ensure().failure->reason, "ErrImagePull");  // window over: pulls again, fails again
  f.clock.Advance(std::chrono::seconds(19));
  EXPECT_EQ(f.Ensure().failure->reason, "ImagePullBackOff");  // now 20 s
  f.clock.Advance(std::chrono::seconds(1));
  f.rt.ClearPullError("busybox:1.36");
  auto ok = f.Ensure();
  EXPECT_TRUE(ok.ok());
  EXPECT_TRUE(ok.pulled);
  EXPECT_EQ(f.Pulls(), 3u);
}

}  // namespace
}  // namespace nanolet::kubelet
