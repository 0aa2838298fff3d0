// OciRuntime on real runc, CNI plugins and the built monitor/pause programs, as root: exec
// timeouts, runc missing, a CNI plugin failing. Each test has its own root directory, bridge,
// subnet, namespace directory and cgroup parent, and removes what it made. Skipped when not root or
// when runc, the plugins or the built programs are missing.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "live_fixture.h"
#include "runtime/oci/oci_runtime.h"
#include "util/fs.h"
#include "util/strings.h"
#include "util/subprocess.h"

namespace nanolet::runtime::oci {
namespace {

using namespace live_test;
using std::chrono::milliseconds;
using LiveClock = std::chrono::steady_clock;

// PIDs of processes whose command line is exactly argv (NUL-separated).
std::vector<std::string> ProcessesWithCmdline(const std::vector<std::string>& argv) {
  std::string want;
  for (const auto& a : argv) want += a + '\0';
  std::vector<std::string> out;
  auto pids = ListDir("/proc");
  if (!pids.ok()) return out;
  for (const auto& p : *pids) {
    if (p.empty() || p[0] < '0' || p[0] > '9') continue;
    auto cmd = ReadFile("/proc/" + p + "/cmdline", 4096);
    if (cmd.ok() && *cmd == want) out.push_back(p);
  }
  return out;
}

class OciRuntimeLive : public OciLiveTest {
 protected:
  OciRuntimeLive() : OciLiveTest({.tag = "oci", .bridge = "nlo", .subnet_octet = 232, .id_offset = 0}) {}

  OciRuntime& Runtime() {
    if (!rt_) {
      auto rt = OciRuntime::Create(opts_);
      EXPECT_TRUE(rt.ok()) << rt.error().message();
      if (rt.ok()) rt_ = std::move(*rt);
    }
    return *rt_;
  }

  // Nothing of a pod is left: sandbox and container state, namespace files, runc containers,
  // mounts, IPs.
  void ExpectNothingLeft() {
    auto dir_empty = [](const std::string& d) {
      auto names = ListDir(d);
      return !names.ok() || names->empty();
    };
    EXPECT_TRUE(dir_empty(opts_.root_dir + "/runtime/sandboxes"));
    EXPECT_TRUE(dir_empty(opts_.root_dir + "/runtime/containers"));
    EXPECT_TRUE(dir_empty(opts_.root_dir + "/runtime/exits"));
    EXPECT_TRUE(dir_empty(opts_.netns_dir));
    EXPECT_TRUE(dir_empty(opts_.root_dir + "/cni/cache/results"));
    EXPECT_EQ(Sh("runc --root " + opts_.root_dir + "/runtime/runc list -q"), "");
    EXPECT_EQ(Sh("grep -c " + dir_ + "/root/runtime /proc/self/mountinfo || true"), "0\n");
    EXPECT_EQ(Allocated(), 0u);
    EXPECT_EQ(Sh("pgrep -f 'nanolet-[m]onitor.*" + opts_.root_dir + "' | wc -l"), "0\n");
  }
};

TEST_F(OciRuntimeLive, ExecSyncTimeoutKillsTheProcessAndWhatItStarted) {
  auto& rt = Runtime();
  const uint64_t g0 = rt.StateGeneration();
  EXPECT_NE(g0, 0u) << "OciRuntime tells when its state changes (housekeeping skips scans on it)";
  auto sc = Pod("exec");
  auto sid = rt.RunPodSandbox(sc);
  ASSERT_TRUE(sid.ok()) << sid.error().message();
  const uint64_t g1 = rt.StateGeneration();
  EXPECT_GT(g1, g0);
  auto cid = rt.CreateContainer(*sid, Sleeper(), sc);
  ASSERT_TRUE(cid.ok()) << cid.error().message();
  EXPECT_GT(rt.StateGeneration(), g1);
  ASSERT_TRUE(rt.StartContainer(*cid).ok());
  auto again = rt.StartContainer(*cid);
  ASSERT_FALSE(again.ok()) << "a container is started once";
  EXPECT_TRUE(again.error().is(ErrorCode::kAlreadyExists)) << again.error().message();
  // Waits for CNI ADD too (the fast path), so the generation below is the settled one.
  ASSERT_TRUE(WaitUntil([&] { auto s = rt.PodSandboxStatus(*sid); return s.ok() && !s->ip.empty(); },
                        milliseconds(10000)));
  const uint64_t started = rt.StateGeneration();

  auto quick =
      rt.ExecSync(*cid, {"sh", "-c", "echo out; echo err >&2; exit 7"}, milliseconds(10000));
  ASSERT_TRUE(quick.ok()) << quick.error().message();
  EXPECT_EQ(quick->exit_code, 7);
  EXPECT_FALSE(quick->timed_out);
  EXPECT_EQ(quick->out, "out\n");
  EXPECT_EQ(quick->err, "err\n");

  // The exec'd shell starts a background child, then blocks: both must be gone after the timeout.
  auto t0 = LiveClock::now();
  auto slow =
      rt.ExecSync(*cid, {"sh", "-c", "sleep 7351 & sleep 7352; echo never"}, milliseconds(500));
  auto took = LiveClock::now() - t0;
  ASSERT_TRUE(slow.ok()) << slow.error().message();
  EXPECT_TRUE(slow->timed_out);
  EXPECT_EQ(slow->out.find("never"), std::string::npos);
  EXPECT_LT(took, std::chrono::seconds(3));
  EXPECT_TRUE(WaitUntil(
      [] {
        return ProcessesWithCmdline({"sleep", "7351"}).empty() &&
               ProcessesWithCmdline({"sleep", "7352"}).empty() &&
               ProcessesWithCmdline({"sh", "-c", "sleep 7351 & sleep 7352; echo never"}).empty();
      },
      milliseconds(5000)))
      << "exec'd processes left after the timeout";
  // The container itself is untouched.
  auto st = rt.GetContainerStatus(*cid);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->state, ContainerState::kRunning);
  EXPECT_EQ(::kill(static_cast<pid_t>(st->pid), 0), 0);
  EXPECT_EQ(rt.StateGeneration(), started) << "execs and reads change no state";

  ASSERT_TRUE(rt.StopPodSandbox(*sid).ok());
  const uint64_t stopped = rt.StateGeneration();
  EXPECT_GT(stopped, started);
  ASSERT_TRUE(rt.RemovePodSandbox(*sid).ok());
  EXPECT_GT(rt.StateGeneration(), stopped);
  ExpectNothingLeft();
}

TEST_F(OciRuntimeLive, RuncMissingFailsNamingItAndLeavesNothing) {
  opts_.runc = "/nonexistent/runc";
  auto& rt = Runtime();  // nanolet keeps running without runc
  auto sc = Pod("norunc");
  auto sid = rt.RunPodSandbox(sc);
  ASSERT_FALSE(sid.ok());
  EXPECT_NE(sid.error().message().find("/nonexistent/runc"), std::string::npos)
      << sid.error().message();
  auto listed = rt.ListPodSandboxes();
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());
  ExpectNothingLeft();
}

TEST_F(OciRuntimeLive, RuncFailingFailsWithItsMessageAndLeavesNothing) {
  // A "runc" that fails every command, as a broken install would.
  ASSERT_TRUE(
      WriteFile(dir_ + "/runc", "#!/bin/sh\necho \"runc is broken here\" >&2\nexit 1\n", 0755)
          .ok());
  opts_.runc = dir_ + "/runc";
  auto& rt = Runtime();
  auto sc = Pod("badrunc");
  auto sid = rt.RunPodSandbox(sc);
  ASSERT_FALSE(sid.ok());
  EXPECT_NE(sid.error().message().find("runc is broken here"), std::string::npos)
      << sid.error().message();
  ExpectNothingLeft();
}

TEST_F(OciRuntimeLive, FailingCniPluginFailsNamingItAndLeavesNothing) {
  // A good pod first, on the same runtime: it keeps running through the failures.
  auto& good_rt = Runtime();
  auto good = Pod("good");
  auto good_sid = good_rt.RunPodSandbox(good);
  ASSERT_TRUE(good_sid.ok()) << good_sid.error().message();
  auto good_cid = good_rt.CreateContainer(*good_sid, Sleeper(), good);
  ASSERT_TRUE(good_cid.ok()) << good_cid.error().message();
  ASSERT_TRUE(good_rt.StartContainer(*good_cid).ok());
  auto good_pid = good_rt.GetContainerStatus(*good_cid)->pid;

  // A second runtime on its own root whose CNI config names a plugin that always exits 1.
  OciOptions bad = opts_;
  bad.root_dir = dir_ + "/badroot";
  bad.cni_conf_dir = dir_ + "/bad.d";
  bad.cni_bin_dirs = {dir_ + "/badbin", "/usr/lib/cni"};
  ASSERT_TRUE(MkdirAll(bad.cni_conf_dir).ok());
  ASSERT_TRUE(MkdirAll(dir_ + "/badbin").ok());
  ASSERT_TRUE(
      WriteFile(
          bad.cni_conf_dir + "/10-bad.conflist",
          R"({"cniVersion":"1.0.0","name":"badnet","plugins":[{"type":"nanolet-failing-plugin"}]})")
          .ok());
  ASSERT_TRUE(WriteFile(dir_ + "/badbin/nanolet-failing-plugin",
                        "#!/bin/sh\necho '{\"cniVersion\":\"1.0.0\",\"code\":11,\"msg\":\"plugin "
                        "exploded\"}'\nexit 1\n",
                        0755)
                  .ok());
  auto rt = OciRuntime::Create(bad);
  ASSERT_TRUE(rt.ok()) << rt.error().message();
  // wait_for_network: RunPodSandbox itself fails with the plugin's error.
  auto sc = Pod("badnet");
  sc.wait_for_network = true;
  auto sid = (*rt)->RunPodSandbox(sc);
  ASSERT_FALSE(sid.ok());
  EXPECT_NE(sid.error().message().find("nanolet-failing-plugin"), std::string::npos)
      << sid.error().message();
  EXPECT_NE(sid.error().message().find("plugin exploded"), std::string::npos)
      << sid.error().message();
  // The fast path: RunPodSandbox fails when ADD failed before the pause container ran; otherwise the
  // sandbox turns NotReady and StartContainer fails with kUnavailable, naming the cause; the container
  // never ran.
  auto fast_fails = [&](const std::string& pod, const std::string& needle) {
    SandboxConfig fsc = Pod(pod);
    auto fsid = (*rt)->RunPodSandbox(fsc);
    std::string msg;
    if (!fsid.ok()) {
      msg = fsid.error().message();
    } else {
      auto cid = (*rt)->CreateContainer(*fsid, Sleeper(), fsc);
      ASSERT_TRUE(cid.ok()) << cid.error().message();
      auto st = (*rt)->StartContainer(*cid);
      ASSERT_FALSE(st.ok());
      EXPECT_TRUE(st.error().is(ErrorCode::kUnavailable)) << st.error().message();
      msg = st.error().message();
      EXPECT_EQ((*rt)->PodSandboxStatus(*fsid)->state, SandboxState::kNotReady);
      EXPECT_NE((*rt)->GetContainerStatus(*cid)->state, ContainerState::kRunning);
      EXPECT_TRUE((*rt)->RemoveContainer(*cid).ok());
      EXPECT_TRUE((*rt)->StopPodSandbox(*fsid).ok());
      EXPECT_TRUE((*rt)->RemovePodSandbox(*fsid).ok());
    }
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
  };
  fast_fails("badnet-fast", "plugin exploded");
  // A plugin missing altogether.
  ASSERT_TRUE(::unlink((dir_ + "/badbin/nanolet-failing-plugin").c_str()) == 0);
  fast_fails("noplugin", "not found");
  auto listed = (*rt)->ListPodSandboxes();
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());
  rt->reset();
  {
    auto names = ListDir(bad.root_dir + "/runtime/sandboxes");
    EXPECT_TRUE(names.ok() && names->empty());
    auto cache = ListDir(bad.root_dir + "/cni/cache/results");
    EXPECT_TRUE(!cache.ok() || cache->empty());
    EXPECT_EQ(Sh("runc --root " + bad.root_dir + "/runtime/runc list -q"), "");
    EXPECT_EQ(Sh("grep -c " + bad.root_dir + " /proc/self/mountinfo || true"), "0\n");
  }

  // The good pod did not notice.
  auto st = good_rt.GetContainerStatus(*good_cid);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->state, ContainerState::kRunning);
  EXPECT_EQ(st->pid, good_pid);
  EXPECT_EQ(::kill(static_cast<pid_t>(good_pid), 0), 0);
  ASSERT_TRUE(good_rt.StopPodSandbox(*good_sid).ok());
  ASSERT_TRUE(good_rt.RemovePodSandbox(*good_sid).ok());
  // Only the bad runtime's namespace files would be in netns_dir (shared): none.
  ExpectNothingLeft();
}

}  // namespace
// The fast path: RunPodSandbox returns before CNI ADD ends, yet the container process starts only with the
// network up: its first command sees eth0's address and /etc/hosts already carries the pod IP.
TEST_F(OciRuntimeLive, ContainerProcessStartsWithThePodNetworkUp) {
  auto& rt = Runtime();
  SandboxConfig sc = Pod("fast");
  auto sid = rt.RunPodSandbox(sc);
  ASSERT_TRUE(sid.ok()) << sid.error().message();
  ContainerConfig cc = Sleeper();
  cc.command = {"sh", "-c", "ip -4 -o addr show eth0; grep -c fast /etc/hosts; exec sleep 3600"};
  auto cid = rt.CreateContainer(*sid, cc, sc);
  ASSERT_TRUE(cid.ok()) << cid.error().message();
  ASSERT_TRUE(rt.StartContainer(*cid).ok());
  auto sb = rt.PodSandboxStatus(*sid);
  ASSERT_TRUE(sb.ok());
  EXPECT_EQ(sb->state, SandboxState::kReady);
  ASSERT_FALSE(sb->ip.empty());
  std::string log;
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto r = ReadFile(sc.log_directory + "/app/0.log");
        log = r.ok() ? *r : "";
        return log.find(" stdout F 1") != std::string::npos || log.find(" stdout F 0") != std::string::npos;
      },
      milliseconds(10000)))
      << log;
  EXPECT_NE(log.find("inet " + sb->ip + "/"), std::string::npos) << log;
  EXPECT_NE(log.find(" stdout F 1"), std::string::npos) << log;  // the hosts line "<ip>\tfast"
  ASSERT_TRUE(rt.StopPodSandbox(*sid).ok());
  ASSERT_TRUE(rt.RemovePodSandbox(*sid).ok());
  ExpectNothingLeft();
}

}  // namespace nanolet::runtime::oci
