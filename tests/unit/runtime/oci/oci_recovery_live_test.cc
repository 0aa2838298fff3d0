// OciRuntime's recovery after nanolet was SIGKILLed (bench/restart_survival.sh), on real runc, CNI
// plugins and the built monitor/pause programs, as root: a second OciRuntime on the same root
// adopts what runs, even when the first died before saving it, and removes what never ran. The kill
// is simulated by destroying the first runtime (which leaves containers running) after rewriting
// its meta.json as it was before the last save. Own root, bridge, subnet, namespace directory and
// cgroup parent; removes what it made. Skipped when not root or when runc, the plugins or the built
// programs are missing.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "live_fixture.h"
#include "runtime/oci/oci_runtime.h"
#include "util/fs.h"
#include "util/subprocess.h"

namespace nanolet::runtime::oci {
namespace {

using namespace live_test;
using std::chrono::milliseconds;

class OciRecoveryLive : public OciLiveTest {
 protected:
  OciRecoveryLive()
      : OciLiveTest({.tag = "ocirec", .bridge = "nlr", .subnet_octet = 233, .id_offset = 101}) {}

  // A new runtime on the same root: what a restarted nanolet makes. The old one is dropped (its
  // containers keep running, as when nanolet is killed).
  OciRuntime& Restart() {
    rt_.reset();
    auto rt = OciRuntime::Create(opts_);
    EXPECT_TRUE(rt.ok()) << rt.error().message();
    if (rt.ok()) rt_ = std::move(*rt);
    return *rt_;
  }

  // The recovery cases need the pod's network up when RunPodSandbox returns.
  SandboxConfig Pod(const std::string& name) {
    SandboxConfig sc = OciLiveTest::Pod(name);
    sc.wait_for_network = true;
    return sc;
  }
  // Rewrites a record as the earlier nanolet had last saved it.
  void EditMeta(const std::string& kind, const std::string& id,
                const std::function<void(nlohmann::json&)>& f) {
    std::string path = opts_.root_dir + "/runtime/" + kind + "/" + id + "/meta.json";
    auto data = ReadFile(path);
    ASSERT_TRUE(data.ok());
    auto j = nlohmann::json::parse(*data);
    f(j);
    ASSERT_TRUE(WriteFileAtomic(path, j.dump()).ok());
  }
  std::string RuncStatus(const std::string& id) {
    std::string out = Sh("runc --root " + runc_root_ + " state " + id + " 2>/dev/null");
    if (out.empty()) return "absent";
    return nlohmann::json::parse(out).value("status", "");
  }
};

// Killed after the monitor's `runc run` went through but before "running" was saved: adopted, same
// ID, its process untouched; and a pause container whose PID was never saved is found through runc.
TEST_F(OciRecoveryLive, StartedAfterTheLastSave_Adopted) {
  OciRuntime& a = Restart();
  auto sid = a.RunPodSandbox(Pod("adopt"));
  ASSERT_TRUE(sid.ok()) << sid.error().message();
  auto cid = a.CreateContainer(*sid, Sleeper(), Pod("adopt"));
  ASSERT_TRUE(cid.ok()) << cid.error().message();
  ASSERT_TRUE(a.StartContainer(*cid).ok());
  int64_t pid = a.GetContainerStatus(*cid)->pid;
  std::string ip = a.PodSandboxStatus(*sid)->ip;
  EditMeta("containers", *cid, [](nlohmann::json& j) {
    j["state"] = "created";
    j["pid"] = 0;
    j["startedAt"] = 0;
  });
  EditMeta("sandboxes", *sid, [](nlohmann::json& j) { j["pausePid"] = 0; });

  OciRuntime& b = Restart();
  auto st = b.GetContainerStatus(*cid);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->state, ContainerState::kRunning);
  EXPECT_EQ(st->pid, pid);
  EXPECT_NE(st->started_at, TimePoint{});
  auto sb = b.PodSandboxStatus(*sid);
  ASSERT_TRUE(sb.ok());
  EXPECT_EQ(sb->state, SandboxState::kReady);
  EXPECT_EQ(sb->ip, ip);
  EXPECT_EQ(RuncStatus(*cid), "running");
  EXPECT_EQ(::kill(static_cast<pid_t>(pid), 0), 0) << "the adopted process still runs";
  EXPECT_EQ(b.ListPodSandboxes()->size(), 1u);
  EXPECT_EQ(b.ListContainers()->size(), 1u);
  ASSERT_TRUE(b.RemovePodSandbox(*sid).ok());
  EXPECT_EQ(Allocated(), 0u);
}

// Killed between CreateContainer and StartContainer (no runc container), or while the monitor's
// `runc create` waited for the network (a runc container in "created"): the container never ran;
// the restarted runtime removes it (runc state, rootfs mount, files; the exit file its monitor
// writes is dropped) and adopts the sandbox, so that the kubelet starts the same attempt again.
TEST_F(OciRecoveryLive, NeverStarted_RemovedAndTheSandboxAdopted) {
  OciRuntime& a = Restart();
  auto sid = a.RunPodSandbox(Pod("never"));
  ASSERT_TRUE(sid.ok()) << sid.error().message();
  auto bare = a.CreateContainer(*sid, Sleeper(), Pod("never"));
  ASSERT_TRUE(bare.ok()) << bare.error().message();
  auto created = a.CreateContainer(*sid, Sleeper(), Pod("never"));
  ASSERT_TRUE(created.ok()) << created.error().message();
  // What StartContainer does while CNI ADD is in flight: the monitor runs `runc create` only.
  std::string cdir = opts_.root_dir + "/runtime/containers/" + *created;
  auto mon = nanolet::Run(
      {opts_.monitor_path, "--runc", opts_.runc, "--runc-root", runc_root_, "--id", *created,
       "--bundle", cdir, "--log", dir_ + "/created.log", "--exit-file",
       opts_.root_dir + "/runtime/exits/" + *created + ".json", "--pid-file", cdir + "/pid"},
      {.timeout = std::chrono::seconds(30)});
  ASSERT_TRUE(mon.ok() && mon->success()) << (mon.ok() ? mon->Describe() : mon.error().message());
  EditMeta("containers", *created,
           [&](nlohmann::json& j) { j["pid"] = std::atoll(mon->out.c_str()); });
  ASSERT_EQ(RuncStatus(*created), "created");

  OciRuntime& b = Restart();
  EXPECT_FALSE(b.GetContainerStatus(*bare).ok());
  EXPECT_FALSE(b.GetContainerStatus(*created).ok());
  EXPECT_EQ(RuncStatus(*created), "absent");
  EXPECT_FALSE(PathExists(cdir));
  EXPECT_FALSE(PathExists(opts_.root_dir + "/runtime/containers/" + *bare));
  EXPECT_TRUE(WaitUntil(
      [&] { return !PathExists(opts_.root_dir + "/runtime/exits/" + *created + ".json"); },
      milliseconds(5000)))
      << "the exit file of a container that is gone stays";
  EXPECT_EQ(b.PodSandboxStatus(*sid)->state, SandboxState::kReady);
  EXPECT_EQ(
      Sh("grep -c " + opts_.root_dir + "/runtime/containers /proc/self/mountinfo || true"),
      "0\n");
  ASSERT_TRUE(b.RemovePodSandbox(*sid).ok());
}

// Killed while CNI ADD was in flight: the pod IP is unknown, the sandbox comes back not ready and
// is stopped at once (pause container killed, the IP released), not left running beside its
// replacement.
TEST_F(OciRecoveryLive, NetworkSetupInterrupted_SandboxStoppedAndIPReleased) {
  OciRuntime& a = Restart();
  auto sid = a.RunPodSandbox(Pod("netcut"));
  ASSERT_TRUE(sid.ok()) << sid.error().message();
  ASSERT_EQ(Allocated(), 1u);
  EditMeta("sandboxes", *sid, [](nlohmann::json& j) {
    j["networkPending"] = true;
    j["networkSetUp"] = false;
    j["ip"] = "";
    j["ips"] = nlohmann::json::array();
  });

  OciRuntime& b = Restart();
  auto sb = b.PodSandboxStatus(*sid);
  ASSERT_TRUE(sb.ok());
  EXPECT_EQ(sb->state, SandboxState::kNotReady);
  EXPECT_NE(RuncStatus(*sid), "running");
  EXPECT_EQ(Allocated(), 0u);
  ASSERT_TRUE(b.RemovePodSandbox(*sid).ok());
  EXPECT_EQ(RuncStatus(*sid), "absent");
}

}  // namespace
}  // namespace nanolet::runtime::oci
