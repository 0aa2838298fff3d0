#pragma once
// The fixture of the live OciRuntime tests (real runc, CNI plugins and the built monitor/pause
// programs, as root): a temporary directory with the runtime's root (the test image imported), and a
// bridge, subnet, namespace directory and cgroup parent of the fixture's own, so that the live test
// binaries of different fixtures may run at the same time. TearDown removes everything the runtime
// made: runc containers, namespace files, cgroups, mounts, the bridge, its nat rules, the directory.
// Skipped when not root or when runc, the bridge plugin or the built programs are missing.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "runtime/image/image_store.h"
#include "runtime/oci/oci_runtime.h"
#include "util/subprocess.h"

namespace nanolet::runtime::oci::live_test {

inline constexpr const char* kImage = "nanolet.local/busybox:1.35";

// A program built next to the tests (nanolet-monitor, nanolet-pause, images/...).
inline std::string Bin(const std::string& name) {
  return std::string(NANOLET_BINARY_DIR) + "/" + name;
}

// The output of a shell command ("ERROR: ..." when it could not run).
inline std::string Sh(const std::string& cmd) {
  auto r = Run({"/bin/sh", "-c", cmd}, {.timeout = std::chrono::seconds(30)});
  if (!r.ok()) return "ERROR: " + r.error().message();
  return r->out;
}

inline bool WaitUntil(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // poll interval of a condition wait
  }
  return true;
}

// What makes a fixture's resources its own. With id = 20 + (pid + id_offset) % 200: temporary
// directory /tmp/nanolet-<tag>-XXXXXX, bridge <bridge><id>, subnet 10.<subnet_octet>.<id>.0/24,
// namespace directory /run/nanolet/<tag>-test-<pid>, cgroup parent /nanolet-<tag>-test-<pid>.
struct LiveNames {
  std::string tag;
  std::string bridge;
  int subnet_octet;
  int id_offset;
};

class OciLiveTest : public ::testing::Test {
 protected:
  explicit OciLiveTest(LiveNames names) : names_(std::move(names)) {}

  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    ::signal(SIGPIPE, SIG_IGN);  // as nanolet's main does: a plugin that ignores its stdin gives EPIPE
    for (const auto& p : {std::string("/usr/sbin/runc"), std::string("/usr/lib/cni/bridge"),
                          Bin("nanolet-monitor"), Bin("nanolet-pause")}) {
      if (::access(p.c_str(), X_OK) != 0) GTEST_SKIP() << p << " missing";
    }
    std::string tmpl = "/tmp/nanolet-" + names_.tag + "-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    std::string pid = std::to_string(::getpid());
    id_ = 20 + (::getpid() + names_.id_offset) % 200;
    opts_.root_dir = dir_ + "/root";
    opts_.runc = "/usr/sbin/runc";
    opts_.monitor_path = Bin("nanolet-monitor");
    opts_.pause_path = Bin("nanolet-pause");
    opts_.cni_conf_dir = dir_ + "/net.d";  // absent: the built-in bridge config
    opts_.cni_bridge = names_.bridge + std::to_string(id_);
    opts_.cni_subnet = SubnetPrefix() + "0/24";
    opts_.netns_dir = "/run/nanolet/" + names_.tag + "-test-" + pid;
    opts_.cgroup_parent = "/nanolet-" + names_.tag + "-test-" + pid;
    runc_root_ = opts_.root_dir + "/runtime/runc";
    std::string tar = Bin("images/busybox.oci.tar");
    auto built = nanolet::Run({std::string(NANOLET_SOURCE_DIR) + "/scripts/build-test-image.sh", tar},
                              {.timeout = std::chrono::seconds(120)});
    ASSERT_TRUE(built.ok() && built->success())
        << (built.ok() ? built->Describe() : built.error().message());
    auto store = image::ImageStore::Open(opts_.root_dir);
    ASSERT_TRUE(store.ok()) << store.error().message();
    auto imported = (*store)->Import(tar);
    ASSERT_TRUE(imported.ok()) << imported.error().message();
  }

  void TearDown() override {
    if (dir_.empty()) return;
    rt_.reset();
    Sh("for c in $(runc --root " + runc_root_ + " list -q 2>/dev/null); do runc --root " + runc_root_ +
       " delete -f $c; done; for f in " + opts_.netns_dir + "/*; do umount -l $f; rm -f $f; done 2>/dev/null; umount -l " +
       opts_.netns_dir + " 2>/dev/null; rmdir " + opts_.netns_dir +
       " 2>/dev/null; find /sys/fs/cgroup -depth -type d -path '*" + opts_.cgroup_parent +
       "*' -exec rmdir {} \\; 2>/dev/null; grep " + dir_ +
       " /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l; ip link del " +
       opts_.cni_bridge + " 2>/dev/null; python3 " + NANOLET_SOURCE_DIR + "/scripts/nat-cleanup.py " +
       opts_.cni_bridge + " " + SubnetPrefix() + "; rm -rf --one-file-system " + dir_);
  }

  // "10.<octet>.<id>.": the fixture's subnet, as nat-cleanup.py and the IPAM files name it.
  std::string SubnetPrefix() const {
    return "10." + std::to_string(names_.subnet_octet) + "." + std::to_string(id_) + ".";
  }

  SandboxConfig Pod(const std::string& name) {
    SandboxConfig sc;
    sc.pod_uid = "uid-" + name;
    sc.pod_name = name;
    sc.pod_namespace = "test";
    sc.hostname = name;
    sc.log_directory = dir_ + "/logs/test_" + name;
    return sc;
  }
  static ContainerConfig Sleeper() {
    ContainerConfig cc;
    cc.name = "app";
    cc.image = kImage;
    cc.command = {"sleep", "3600"};
    cc.log_path = "app/0.log";
    return cc;
  }

  // Pod IPs the host-local IPAM holds in the root's networks.
  size_t Allocated() {
    return std::stoul(Sh("ls " + opts_.root_dir + "/cni/networks/*/ 2>/dev/null | grep -c '^10\\.' || true"));
  }

  const LiveNames names_;
  std::string dir_, runc_root_;
  int id_ = 0;
  OciOptions opts_;
  std::unique_ptr<OciRuntime> rt_;
};

}  // namespace nanolet::runtime::oci::live_test
