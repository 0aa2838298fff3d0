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

#include "runtime/image/image_store.h"
#include "runtime/oci/oci_runtime.h"
#include "util/fs.h"
#include "util/subprocess.h"

namespace nanolet::runtime::oci {
namespace {

using std::chrono::milliseconds;

std::string RecoveryBin(const std::string& name) {
  return std::string(NANOLET_BINARY_DIR) + "/" + name;
}

std::string RecoverySh(const std::string& cmd) {
  auto r = Run({"/bin/sh", "-c", cmd}, {.timeout = std::chrono::seconds(30)});
  if (!r.ok()) return "ERROR: " + r.error().message();
  return r->out;
}

bool RecoveryWaitUntil(const std::function<bool()>& cond, milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(10));  // poll interval of a condition wait
  }
  return true;
}

class OciRecoveryLive : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    ::signal(SIGPIPE, SIG_IGN);
    for (const auto& p : {std::string("/usr/sbin/runc"), std::string("/usr/lib/cni/bridge"),
                          RecoveryBin("nanolet-monitor"), RecoveryBin("nanolet-pause")}) {
      if (::access(p.c_str(), X_OK) != 0) GTEST_SKIP() << p << " missing";
    }
    char tmpl[] = "/tmp/nanolet-ocirec-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    id_ = 20 + (::getpid() + 101) % 200;
    opts_.root_dir = dir_ + "/root";
    opts_.runc = "/usr/sbin/runc";
    opts_.monitor_path = RecoveryBin("nanolet-monitor");
    opts_.pause_path = RecoveryBin("nanolet-pause");
    opts_.cni_conf_dir = dir_ + "/net.d";  // absent: the built-in bridge config
    opts_.cni_bridge = "nlr" + std::to_string(id_);
    opts_.cni_subnet = "10.233." + std::to_string(id_) + ".0/24";
    opts_.netns_dir = "/run/nanolet/ocirec-test-" + std::to_string(::getpid());
    opts_.cgroup_parent = "/nanolet-ocirec-test-" + std::to_string(::getpid());
    std::string tar = RecoveryBin("images/busybox.oci.tar");
    auto built =
        nanolet::Run({std::string(NANOLET_SOURCE_DIR) + "/scripts/build-test-image.sh", tar},
                     {.timeout = std::chrono::seconds(120)});
    ASSERT_TRUE(built.ok() && built->success())
        << (built.ok() ? built->Describe() : built.error().message());
    auto store = image::ImageStore::Open(opts_.root_dir);
    ASSERT_TRUE(store.ok()) << store.error().message();
    auto imported = (*store)->Import(tar);
    ASSERT_TRUE(imported.ok()) << imported.error().message();
    runc_root_ = opts_.root_dir + "/runtime/runc";
  }

  void TearDown() override {
    if (dir_.empty()) return;
    rt_.reset();
    RecoverySh("for c in $(runc --root " + runc_root_ + " list -q 2>/dev/null); do runc --root " +
               runc_root_ + " delete -f $c; done; for f in " + opts_.netns_dir +
               "/*; do umount -l $f; rm -f $f; done 2>/dev/null; umount -l " + opts_.netns_dir +
               " 2>/dev/null; rmdir " + opts_.netns_dir +
               " 2>/dev/null; find /sys/fs/cgroup -depth -type d -path '*" + opts_.cgroup_parent +
               "*' -exec rmdir {} \\; 2>/dev/null; grep " + dir_ +
               " /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l; ip "
               "link del " +
               opts_.cni_bridge + " 2>/dev/null; python3 " + NANOLET_SOURCE_DIR +
               "/scripts/nat-cleanup.py " + opts_.cni_bridge + " 10.233." + std::to_string(id_) +
               ".; rm -rf --one-file-system " + dir_);
  }

  // A new runtime on the same root: what a restarted nanolet makes. The old one is dropped (its
  // containers keep running, as when nanolet is killed).
  OciRuntime& Restart() {
    rt_.reset();
    auto rt = OciRuntime::Create(opts_);
    EXPECT_TRUE(rt.ok()) << rt.error().message();
    if (rt.ok()) rt_ = std::move(*rt);
    return *rt_;
  }

  SandboxConfig Pod(const std::string& name) {
    SandboxConfig sc;
    sc.pod_uid = "uid-" + name;
    sc.pod_name = name;
    sc.pod_namespace = "test";
    sc.hostname = name;
    sc.log_directory = dir_ + "/logs/test_" + name;
    sc.wait_for_network = true;
    return sc;
  }
  static ContainerConfig Sleeper() {
    ContainerConfig cc;
    cc.name = "app";
    cc.image = "nanolet.local/busybox:1.35";
    cc.command = {"sleep", "3600"};
    cc.log_path = "app/0.log";
    return cc;
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
    std::string out = RecoverySh("runc --root " + runc_root_ + " state " + id + " 2>/dev/null");
    if (out.empty()) return "absent";
    return nlohmann::json::parse(out).value("status", "");
  }
  size_t Allocated() {
    auto out = RecoverySh("ls " + opts_.root_dir +
                          "/cni/networks/*/ 2>/dev/null | grep -c '^10\\.' || true");
    return std::stoul(out);
  }

  std::string dir_, runc_root_;
  int id_ = 0;
  OciOptions opts_;
  std::unique_ptr<OciRuntime> rt_;
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
  EXPECT_TRUE(RecoveryWaitUntil(
      [&] { return !PathExists(opts_.root_dir + "/runtime/exits/" + *created + ".json"); },
      milliseconds(5000)))
      << "the exit file of a container that is gone stays";
  EXPECT_EQ(b.PodSandboxStatus(*sid)->state, SandboxState::kReady);
  EXPECT_EQ(
      RecoverySh("grep -c " + opts_.root_dir + "/runtime/containers /proc/self/mountinfo || true"),
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
