// Kubelet housekeeping on a FakeRuntime and the real loop: orphaned runtime pods are removed, and the scan
// (which copies every sandbox and container) is skipped while nothing it reads changed since a scan that
// found nothing to do.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <thread>

#include "kubelet/kubelet.h"
#include "runtime/fake_runtime.h"
#include "util/clock.h"

namespace nanolet::kubelet {
namespace {

using namespace std::chrono_literals;

bool WaitFor(const std::function<bool()>& cond, std::chrono::milliseconds deadline = 10s) {
  auto end = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(5ms);  // poll interval
  }
  return cond();
}

size_t CountCalls(const runtime::FakeRuntime& rt, const std::string& method) {
  auto calls = rt.Calls();
  return static_cast<size_t>(std::count(calls.begin(), calls.end(), method));
}

std::string AddOrphan(runtime::FakeRuntime& rt, const std::string& uid) {
  runtime::SandboxConfig sc;
  sc.pod_uid = uid;
  sc.pod_name = "gone-" + uid;
  sc.pod_namespace = "default";
  auto id = rt.RunPodSandbox(sc);
  EXPECT_TRUE(id.ok());
  return id.ok() ? *id : "";
}

bool NoSandboxes(runtime::FakeRuntime& rt) {
  auto l = rt.ListPodSandboxes();
  return l.ok() && l->empty();
}

TEST(Housekeeping, SkipsTheScanUntilTheRuntimeChanges) {
  char tmpl[] = "/tmp/nanolet-hk-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string root = tmpl;
  runtime::FakeRuntime rt(RealClock::Instance());
  KubeletOptions o;
  o.root_dir = root;
  o.pod_logs_dir = root + "/logs";
  o.housekeeping_period = 100ms;  // the shortest the kubelet accepts
  {
    Kubelet k(o, rt, RealClock::Instance());
    k.SetSourcesReady([] { return true; });
    AddOrphan(rt, "orphan-1");
    std::thread loop([&] { k.Run(); });

    EXPECT_TRUE(WaitFor([&] { return NoSandboxes(rt); })) << "the orphaned sandbox was not removed";
    // The scan after the removal finds nothing; from then on nothing changes and nothing is listed. Five
    // periods are the window in which a scan would show.
    ASSERT_TRUE(WaitFor([&] { return CountCalls(rt, "ListContainers") >= 2; }));
    std::this_thread::sleep_for(250ms);  // room for the first clean scan after the removal
    size_t before = CountCalls(rt, "ListContainers");
    std::this_thread::sleep_for(500ms);  // the measurement window: five housekeeping periods
    EXPECT_EQ(CountCalls(rt, "ListContainers"), before) << "housekeeping listed the runtime with nothing changed";

    // A change (a new orphan) is seen at the next period.
    AddOrphan(rt, "orphan-2");
    EXPECT_TRUE(WaitFor([&] { return NoSandboxes(rt); })) << "housekeeping did not scan again after a change";
    EXPECT_GT(CountCalls(rt, "ListContainers"), before);

    k.Stop();
    loop.join();
  }
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace nanolet::kubelet
