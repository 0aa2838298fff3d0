#include "node/stats.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <nlohmann/json.hpp>

#include "node/machine_info.h"
#include "util/fs.h"
#include "util/timefmt.h"

namespace nanolet::node {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class TempDir {
 public:
  TempDir() {
    char t[] = "/tmp/nanolet-node-XXXXXX";
    path_ = ::mkdtemp(t);
  }
  ~TempDir() { (void)RemoveAll(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void Put(const std::string& path, const std::string& text) {
  ASSERT_TRUE(MkdirAll(path.substr(0, path.rfind('/'))).ok());
  ASSERT_TRUE(WriteFile(path, text).ok());
}

api::Pod Pod(const std::string& uid) {
  api::Pod p;
  p.metadata.name = "web";
  p.metadata.namespace_ = "default";
  p.metadata.uid = uid;
  p.status.start_time = "2026-11-27T18:00:00Z";
  api::ContainerStatus cs;
  cs.name = "app";
  cs.container_id = "runc://abc";
  cs.state.running = api::ContainerStateRunning{"2026-11-27T18:00:01Z"};
  p.status.container_statuses.push_back(cs);
  return p;
}

TEST(Stats, ContainerIdAndCgroupNames) {
  EXPECT_EQ(StatsProvider::ContainerIdFromStatus("runc://abc"), "abc");
  EXPECT_EQ(StatsProvider::ContainerIdFromStatus("abc"), "abc");
  EXPECT_EQ(StatsProvider::PodCgroup("u1"), "nanolet/podu1");
  EXPECT_EQ(StatsProvider::PodCgroup("u1", "a/b"), "a/b/podu1");
}

TEST(Stats, FollowsConfiguredCgroupParent) {
  TempDir cg, proc, root;
  Put(cg.path() + "/cgroup.controllers", "cpu memory\n");
  std::string ctr = cg.path() + "/test-parent/x/podu3/abc";
  Put(ctr + "/cpu.stat", "usage_usec 1000\n");
  Put(ctr + "/memory.current", "5000\n");
  Put(ctr + "/memory.stat", "anon 4000\n");
  Put(cg.path() + "/test-parent/x/podu3/cpu.stat", "usage_usec 1000\n");
  FakeClock clock;
  StatsOptions o{"n", root.path(), root.path(), cg.path(), proc.path(), &clock};
  o.cgroup_parent = "/test-parent/x/";  // as NANOLET_CGROUP_PARENT may spell it
  StatsProvider sp(o);
  EXPECT_EQ(sp.cgroup_parent(), "test-parent/x");
  sp.Sample({Pod("u3")});
  clock.Advance(10s);
  Put(ctr + "/cpu.stat", "usage_usec 2001000\n");
  sp.Sample({Pod("u3")});
  json s = sp.Summary({Pod("u3")});
  const json& c = s["pods"][0]["containers"][0];
  EXPECT_EQ(c["cpu"]["usageCoreNanoSeconds"], 2001000000);
  EXPECT_EQ(c["cpu"]["usageNanoCores"], 200000000);
  EXPECT_EQ(c["memory"]["usageBytes"], 5000);
  EXPECT_TRUE(s["pods"][0].contains("cpu"));
}

TEST(Stats, CgroupV1UsageAndRate) {
  TempDir cg, proc, root;
  std::string pod = "/nanolet/podu1", ctr = pod + "/abc";
  for (const std::string& rel : {std::string(), pod, ctr}) {
    Put(cg.path() + "/cpuacct" + rel + "/cpuacct.usage", "1000000000\n");
    Put(cg.path() + "/memory" + rel + "/memory.usage_in_bytes", "1000\n");
    Put(cg.path() + "/memory" + rel + "/memory.limit_in_bytes", "9223372036854771712\n");
    Put(cg.path() + "/memory" + rel + "/memory.stat",
        "total_rss 600\ntotal_inactive_file 300\ntotal_pgfault 7\ntotal_pgmajfault 1\n");
  }
  Put(proc.path() + "/meminfo", "MemTotal: 2 kB\n");
  FakeClock clock;
  StatsProvider sp({"node1", root.path(), root.path(), cg.path(), proc.path(), &clock});
  std::vector<api::Pod> pods = {Pod("u1")};
  json s1 = sp.Summary(pods);
  EXPECT_EQ(s1["node"]["nodeName"], "node1");
  EXPECT_EQ(s1["node"]["memory"]["availableBytes"], 2048 - 700);
  const json& c1 = s1["pods"][0]["containers"][0];
  EXPECT_EQ(c1["name"], "app");
  EXPECT_EQ(c1["cpu"]["usageCoreNanoSeconds"], 1000000000);
  EXPECT_FALSE(c1["cpu"].contains("usageNanoCores"));  // one sample only
  EXPECT_EQ(c1["memory"]["workingSetBytes"], 700);
  EXPECT_EQ(c1["memory"]["rssBytes"], 600);
  EXPECT_EQ(c1["memory"]["pageFaults"], 7);
  EXPECT_FALSE(c1["memory"].contains("availableBytes"));  // unlimited

  // Requests alone never sample: no rate however far apart they come.
  clock.Advance(2s);
  Put(cg.path() + "/cpuacct" + ctr + "/cpuacct.usage", "1500000000\n");
  EXPECT_FALSE(sp.Summary(pods)["pods"][0]["containers"][0]["cpu"].contains("usageNanoCores"));

  // Housekeeping samples: half a core for 2 s between two of them.
  sp.Sample(pods);
  clock.Advance(2s);
  Put(cg.path() + "/cpuacct" + ctr + "/cpuacct.usage", "2500000000\n");
  sp.Sample(pods);
  json s2 = sp.Summary(pods);
  EXPECT_EQ(s2["pods"][0]["containers"][0]["cpu"]["usageNanoCores"], 500000000);
  // Later requests repeat the sampled rate, whatever the counter did since.
  clock.Advance(100ms);
  Put(cg.path() + "/cpuacct" + ctr + "/cpuacct.usage", "9500000000\n");
  json s3 = sp.Summary(pods);
  EXPECT_EQ(s3["pods"][0]["containers"][0]["cpu"]["usageNanoCores"], 500000000);
  // A sample under 1 s after the last one does not replace the rate.
  sp.Sample(pods);
  EXPECT_EQ(sp.Summary(pods)["pods"][0]["containers"][0]["cpu"]["usageNanoCores"], 500000000);
  EXPECT_EQ(s3["pods"][0]["podRef"]["uid"], "u1");
  EXPECT_TRUE(s3["pods"][0].contains("cpu"));
}

TEST(Stats, CgroupV2) {
  TempDir cg, proc, root;
  Put(cg.path() + "/cgroup.controllers", "cpu memory\n");
  std::string ctr = cg.path() + "/nanolet/podu2/abc";
  Put(ctr + "/cpu.stat", "usage_usec 3000\nuser_usec 2000\n");
  Put(ctr + "/memory.current", "5000\n");
  Put(ctr + "/memory.max", "max\n");
  Put(ctr + "/memory.stat", "anon 4000\ninactive_file 1000\npgfault 3\npgmajfault 0\n");
  FakeClock clock;
  StatsProvider sp({"n", root.path(), root.path(), cg.path(), proc.path(), &clock});
  json s = sp.Summary({Pod("u2")});
  const json& c = s["pods"][0]["containers"][0];
  EXPECT_EQ(c["cpu"]["usageCoreNanoSeconds"], 3000000);
  EXPECT_EQ(c["memory"]["usageBytes"], 5000);
  EXPECT_EQ(c["memory"]["workingSetBytes"], 4000);
  EXPECT_EQ(c["memory"]["rssBytes"], 4000);
}

TEST(Stats, MissingCgroupsLeaveStatsOut) {
  TempDir cg, proc, root;
  StatsProvider sp({"n", root.path(), root.path(), cg.path(), proc.path(), nullptr});
  json s = sp.Summary({Pod("gone")});
  ASSERT_EQ(s["pods"].size(), 1u);
  EXPECT_FALSE(s["pods"][0]["containers"][0].contains("cpu"));
  EXPECT_TRUE(s["node"]["fs"].contains("capacityBytes"));
}

TEST(MachineInfo, FakeTree) {
  TempDir r;
  const std::string& R = r.path();
  Put(R + "/proc/meminfo", "MemTotal:       4096 kB\nSwapTotal: 0 kB\n");
  Put(R + "/proc/cpuinfo",
      "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu MHz\t\t: 2100.000\n\n"
      "processor\t: 1\nvendor_id\t: GenuineIntel\ncpu MHz\t\t: 2100.000\n");
  Put(R + "/sys/devices/system/cpu/online", "0-1\n");
  for (int c : {0, 1}) {
    std::string d = R + "/sys/devices/system/cpu/cpu" + std::to_string(c);
    Put(d + "/topology/core_id", std::to_string(c) + "\n");
    Put(d + "/topology/physical_package_id", "0\n");
    Put(d + "/cache/index0/level", "1\n");
    Put(d + "/cache/index0/type", "Data\n");
    Put(d + "/cache/index0/size", "32K\n");
    Put(d + "/cache/index0/shared_cpu_list", std::to_string(c) + "\n");
    Put(d + "/cache/index3/level", "3\n");
    Put(d + "/cache/index3/type", "Unified\n");
    Put(d + "/cache/index3/size", "16384K\n");
    Put(d + "/cache/index3/shared_cpu_list", "0-1\n");
  }
  Put(R + "/etc/machine-id", "abc123\n");
  Put(R + "/proc/sys/kernel/random/boot_id", "boot-1\n");
  Put(R + "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", "4\n");
  Put(R + "/sys/block/vda/dev", "254:0\n");
  Put(R + "/sys/block/vda/size", "2048\n");
  Put(R + "/sys/block/vda/queue/scheduler", "[mq-deadline] none\n");
  Put(R + "/sys/class/net/eth0/address", "52:54:00:12:34:56\n");
  Put(R + "/sys/class/net/eth0/mtu", "1500\n");
  Put(R + "/sys/class/net/lo/mtu", "65536\n");
  MachineInfo m = GatherMachineInfo(R);
  EXPECT_EQ(m.num_cores, 2);
  EXPECT_EQ(m.num_physical_cores, 2);
  EXPECT_EQ(m.num_sockets, 1);
  EXPECT_EQ(m.cpu_frequency_khz, 2100000u);
  EXPECT_EQ(m.memory_capacity, 4096u * 1024);
  EXPECT_EQ(m.machine_id, "abc123");
  EXPECT_EQ(m.boot_id, "boot-1");
  EXPECT_EQ(m.system_uuid, "");
  ASSERT_EQ(m.hugepages.size(), 1u);
  EXPECT_EQ(m.hugepages[0].page_size, 2048u);
  EXPECT_EQ(m.hugepages[0].num_pages, 4u);
  ASSERT_EQ(m.disk_map.count("254:0"), 1u);
  EXPECT_EQ(m.disk_map["254:0"].size, 2048u * 512);
  EXPECT_EQ(m.disk_map["254:0"].scheduler, "mq-deadline");
  ASSERT_EQ(m.network_devices.size(), 1u);
  EXPECT_EQ(m.network_devices[0].mac_address, "52:54:00:12:34:56");
  ASSERT_EQ(m.topology.size(), 1u);
  EXPECT_EQ(m.topology[0].cores.size(), 2u);
  EXPECT_EQ(m.topology[0].cores[0].caches.size(), 1u);
  EXPECT_EQ(m.topology[0].caches.size(), 1u);  // the shared L3 once
  json j = ToJson(m);
  EXPECT_EQ(j["num_cores"], 2);
  EXPECT_EQ(j["topology"][0]["cores"][1]["thread_ids"], json::array({1}));
  EXPECT_EQ(j["network_devices"][0]["mtu"], 1500);
  EXPECT_EQ(j["cloud_provider"], "Unknown");
}

TEST(MachineInfo, ThisMachine) {
  MachineInfo m = GatherMachineInfo();
  EXPECT_GT(m.num_cores, 0);
  EXPECT_GT(m.memory_capacity, 0u);
  EXPECT_FALSE(m.boot_id.empty());
}

}  // namespace
}  // namespace nanolet::node
