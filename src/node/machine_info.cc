#include "node/machine_info.h"

#include <sys/statvfs.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "util/fs.h"
#include "util/strings.h"
#include "util/timefmt.h"

namespace nanolet::node {
namespace {

std::string ReadTrimmed(const std::string& path) {
  auto r = ReadFile(path, 1 << 20);
  return r.ok() ? std::string(Trim(*r)) : std::string();
}

uint64_t ReadU64(const std::string& path, uint64_t fallback = 0) {
  std::string s = ReadTrimmed(path);
  if (s.empty()) return fallback;
  char* end = nullptr;
  unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  return end == s.c_str() ? fallback : v;
}

// "key:  value kB" lines of /proc/meminfo (or a node's meminfo, "Node 0 MemTotal: ...") → bytes.
uint64_t MeminfoBytes(const std::string& text, std::string_view key) {
  for (const auto& line : Split(text, '\n')) {
    size_t p = line.find(std::string(key) + ":");
    if (p == std::string::npos) continue;
    if (p > 0 && line[p - 1] != ' ') continue;
    uint64_t v = std::strtoull(line.c_str() + p + key.size() + 1, nullptr, 10);
    return line.find("kB") != std::string::npos ? v * 1024 : v;
  }
  return 0;
}

// "0-3,5,7-8" → {0,1,2,3,5,7,8}.
std::vector<int> ParseCpuList(std::string_view s) {
  std::vector<int> out;
  for (const auto& part : Split(Trim(s), ',')) {
    if (part.empty()) continue;
    size_t dash = part.find('-');
    int a = std::atoi(part.c_str());
    int b = dash == std::string::npos ? a : std::atoi(part.c_str() + dash + 1);
    for (int i = a; i <= b && i - a < 4096; ++i) out.push_back(i);
  }
  return out;
}

// "32K" → 32768.
uint64_t ParseSize(std::string_view s) {
  std::string t(Trim(s));
  if (t.empty()) return 0;
  uint64_t v = std::strtoull(t.c_str(), nullptr, 10);
  switch (t.back()) {
    case 'K':
      return v << 10;
    case 'M':
      return v << 20;
    case 'G':
      return v << 30;
    default:
      return v;
  }
}

std::vector<HugePagesInfo> ReadHugePages(const std::string& dir) {
  std::vector<HugePagesInfo> out;
  auto names = ListDir(dir);
  if (!names.ok()) return out;
  for (const auto& n : *names) {
    // hugepages-2048kB
    if (!StartsWith(n, "hugepages-")) continue;
    HugePagesInfo h;
    h.page_size = std::strtoull(n.c_str() + 10, nullptr, 10);
    h.num_pages = ReadU64(JoinPath(JoinPath(dir, n), "nr_hugepages"));
    out.push_back(h);
  }
  std::sort(out.begin(), out.end(), [](const HugePagesInfo& a, const HugePagesInfo& b) {
    return a.page_size < b.page_size;
  });
  return out;
}

struct CpuTopo {
  int cpu = 0;
  int core_id = 0;
  int package_id = 0;
  std::vector<Cache> caches;  // with id = first CPU sharing it (for dedup)
};

CpuTopo ReadCpu(const std::string& sys_cpu, int cpu) {
  CpuTopo t;
  t.cpu = cpu;
  std::string dir = sys_cpu + "/cpu" + std::to_string(cpu);
  t.core_id = static_cast<int>(ReadU64(dir + "/topology/core_id", cpu));
  t.package_id = static_cast<int>(ReadU64(dir + "/topology/physical_package_id", 0));
  auto idx = ListDir(dir + "/cache");
  if (idx.ok()) {
    for (const auto& n : *idx) {
      if (!StartsWith(n, "index")) continue;
      std::string cd = dir + "/cache/" + n;
      Cache c;
      c.level = static_cast<int>(ReadU64(cd + "/level"));
      c.type = ReadTrimmed(cd + "/type");
      c.size = ParseSize(ReadTrimmed(cd + "/size"));
      auto shared = ParseCpuList(ReadTrimmed(cd + "/shared_cpu_list"));
      c.id = shared.empty() ? cpu : shared.front();
      if (c.level > 0) t.caches.push_back(c);
    }
  }
  return t;
}

void GatherTopology(const std::string& root, MachineInfo& m, const std::vector<int>& online) {
  std::string sys_cpu = JoinPath(root, "sys/devices/system/cpu");
  std::string sys_node = JoinPath(root, "sys/devices/system/node");
  // CPU → NUMA node; every CPU on node 0 when the kernel has no NUMA directory.
  std::map<int, std::vector<int>> node_cpus;
  auto node_names = ListDir(sys_node);
  if (node_names.ok()) {
    for (const auto& n : *node_names) {
      if (!StartsWith(n, "node") || n.size() < 5 || !std::isdigit(static_cast<unsigned char>(n[4])))
        continue;
      int id = std::atoi(n.c_str() + 4);
      node_cpus[id] = ParseCpuList(ReadTrimmed(sys_node + "/" + n + "/cpulist"));
    }
  }
  if (node_cpus.empty()) node_cpus[0] = online;
  std::set<int> online_set(online.begin(), online.end());
  std::set<std::pair<int, int>> physical;
  std::set<int> sockets;
  for (const auto& [id, cpus] : node_cpus) {
    NumaNode node;
    node.node_id = id;
    std::string nd = sys_node + "/node" + std::to_string(id);
    auto meminfo = ReadFile(nd + "/meminfo", 1 << 20);
    node.memory = meminfo.ok() ? MeminfoBytes(*meminfo, "MemTotal") : 0;
    if (node.memory == 0 && node_cpus.size() == 1) node.memory = m.memory_capacity;
    node.hugepages = ReadHugePages(nd + "/hugepages");
    if (node.hugepages.empty() && node_cpus.size() == 1) node.hugepages = m.hugepages;
    std::map<std::pair<int, int>, Core> cores;  // (socket, core id)
    std::set<std::pair<int, int>> shared_seen;  // (level, id) of node caches
    for (int cpu : cpus) {
      if (!online_set.count(cpu)) continue;
      CpuTopo t = ReadCpu(sys_cpu, cpu);
      auto key = std::make_pair(t.package_id, t.core_id);
      physical.insert(key);
      sockets.insert(t.package_id);
      Core& core = cores[key];
      core.core_id = t.core_id;
      core.socket_id = t.package_id;
      bool first_thread = core.thread_ids.empty();
      core.thread_ids.push_back(cpu);
      for (const auto& c : t.caches) {
        if (c.level <= 2) {
          if (first_thread) core.caches.push_back(Cache{0, c.size, c.type, c.level});
        } else if (shared_seen.insert({c.level, c.id}).second) {
          node.caches.push_back(
              Cache{static_cast<int>(shared_seen.size() - 1), c.size, c.type, c.level});
        }
      }
    }
    for (auto& [k, c] : cores) node.cores.push_back(std::move(c));
    m.topology.push_back(std::move(node));
  }
  m.num_physical_cores = static_cast<int>(physical.size());
  m.num_sockets = static_cast<int>(sockets.size());
}

void GatherFilesystems(const std::string& root, MachineInfo& m) {
  auto text = ReadFile(JoinPath(root, "proc/self/mountinfo"), 16 << 20);
  if (!text.ok()) return;
  std::set<std::string> seen;
  for (const auto& line : Split(*text, '\n')) {
    // id parent major:minor root mountpoint options ... - fstype source superoptions
    size_t sep = line.find(" - ");
    if (sep == std::string::npos) continue;
    std::istringstream pre(line.substr(0, sep)), post(line.substr(sep + 3));
    std::string id, parent, devno, mroot, mountpoint, fstype, source;
    pre >> id >> parent >> devno >> mroot >> mountpoint;
    post >> fstype >> source;
    if (!StartsWith(source, "/dev/") || !seen.insert(source).second) continue;
    FsInfo fs;
    fs.device = source;
    fs.mountpoint = mountpoint;
    fs.type = fstype;
    m.filesystems.push_back(fs);
  }
  RefreshFilesystems(m);
}

void GatherDisks(const std::string& root, MachineInfo& m) {
  std::string sys_block = JoinPath(root, "sys/block");
  auto names = ListDir(sys_block);
  if (!names.ok()) return;
  for (const auto& n : *names) {
    if (StartsWith(n, "loop") || StartsWith(n, "ram")) continue;
    std::string d = sys_block + "/" + n;
    std::string dev = ReadTrimmed(d + "/dev");
    size_t colon = dev.find(':');
    if (colon == std::string::npos) continue;
    DiskInfo di;
    di.name = n;
    di.major = std::strtoull(dev.c_str(), nullptr, 10);
    di.minor = std::strtoull(dev.c_str() + colon + 1, nullptr, 10);
    di.size = ReadU64(d + "/size") * 512;
    std::string sched = ReadTrimmed(d + "/queue/scheduler");
    size_t a = sched.find('['), b = sched.find(']');
    di.scheduler = (a != std::string::npos && b > a) ? sched.substr(a + 1, b - a - 1) : "none";
    m.disk_map[dev] = di;
  }
}

void GatherNetwork(const std::string& root, MachineInfo& m) {
  std::string sys_net = JoinPath(root, "sys/class/net");
  auto names = ListDir(sys_net);
  if (!names.ok()) return;
  for (const auto& n : *names) {
    // As cAdvisor: skip loopback, veths and bridges of container engines.
    if (n == "lo" || StartsWith(n, "veth") || StartsWith(n, "docker") || StartsWith(n, "cni") ||
        StartsWith(n, "nanolet")) {
      continue;
    }
    std::string d = sys_net + "/" + n;
    NetInfo ni;
    ni.name = n;
    ni.mac_address = ReadTrimmed(d + "/address");
    std::string speed = ReadTrimmed(d + "/speed");
    ni.speed = speed.empty() ? 0 : std::max<int64_t>(0, std::strtoll(speed.c_str(), nullptr, 10));
    ni.mtu = static_cast<int64_t>(ReadU64(d + "/mtu"));
    m.network_devices.push_back(ni);
  }
}

}  // namespace

MachineInfo GatherMachineInfo(const std::string& root) {
  MachineInfo m;
  m.timestamp = RealClock::Instance().Now();
  auto meminfo = ReadFile(JoinPath(root, "proc/meminfo"), 1 << 20);
  if (meminfo.ok()) {
    m.memory_capacity = MeminfoBytes(*meminfo, "MemTotal");
    m.swap_capacity = MeminfoBytes(*meminfo, "SwapTotal");
  }
  m.hugepages = ReadHugePages(JoinPath(root, "sys/kernel/mm/hugepages"));

  std::string sys_cpu = JoinPath(root, "sys/devices/system/cpu");
  std::vector<int> online = ParseCpuList(ReadTrimmed(sys_cpu + "/online"));
  auto cpuinfo = ReadFile(JoinPath(root, "proc/cpuinfo"), 16 << 20);
  double mhz = 0;
  if (cpuinfo.ok()) {
    int processors = 0;
    for (const auto& line : Split(*cpuinfo, '\n')) {
      auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string key(Trim(std::string_view(line).substr(0, colon)));
      std::string val(Trim(std::string_view(line).substr(colon + 1)));
      if (key == "processor") ++processors;
      if (key == "vendor_id" && m.vendor_id.empty()) m.vendor_id = val;
      if (key == "cpu MHz" && mhz == 0) mhz = std::atof(val.c_str());
    }
    if (online.empty()) {
      for (int i = 0; i < processors; ++i) online.push_back(i);
    }
  }
  m.num_cores = static_cast<int>(online.size());
  // As cAdvisor: the maximum frequency from cpufreq, else /proc/cpuinfo's "cpu MHz".
  m.cpu_frequency_khz = ReadU64(sys_cpu + "/cpu0/cpufreq/cpuinfo_max_freq");
  if (m.cpu_frequency_khz == 0) m.cpu_frequency_khz = static_cast<uint64_t>(mhz * 1000);

  m.machine_id = ReadTrimmed(JoinPath(root, "etc/machine-id"));
  if (m.machine_id.empty()) m.machine_id = ReadTrimmed(JoinPath(root, "var/lib/dbus/machine-id"));
  m.system_uuid = ReadTrimmed(JoinPath(root, "sys/class/dmi/id/product_uuid"));
  if (m.system_uuid.empty())
    m.system_uuid = ReadTrimmed(JoinPath(root, "sys/devices/virtual/dmi/id/product_uuid"));
  if (m.system_uuid.empty()) m.system_uuid = ReadTrimmed(JoinPath(root, "sys/hypervisor/uuid"));
  m.boot_id = ReadTrimmed(JoinPath(root, "proc/sys/kernel/random/boot_id"));

  GatherTopology(root, m, online);
  if (m.num_physical_cores == 0) m.num_physical_cores = m.num_cores;
  if (m.num_sockets == 0 && m.num_cores > 0) m.num_sockets = 1;
  GatherFilesystems(root, m);
  GatherDisks(root, m);
  GatherNetwork(root, m);
  return m;
}

void RefreshFilesystems(MachineInfo& info) {
  for (auto& fs : info.filesystems) {
    struct statvfs st;
    if (::statvfs(fs.mountpoint.c_str(), &st) != 0) continue;
    fs.capacity = static_cast<uint64_t>(st.f_blocks) * st.f_frsize;
    fs.inodes = st.f_files;
    fs.has_inodes = st.f_files > 0;
  }
}

namespace {

nlohmann::json CacheJson(const Cache& c) {
  return {{"id", c.id}, {"size", c.size}, {"type", c.type}, {"level", c.level}};
}
nlohmann::json HugeJson(const std::vector<HugePagesInfo>& hp) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& h : hp) a.push_back({{"page_size", h.page_size}, {"num_pages", h.num_pages}});
  return a;
}

}  // namespace

nlohmann::json ToJson(const MachineInfo& m) {
  nlohmann::json j;
  j["timestamp"] = FormatRFC3339Nano(m.timestamp);
  j["vendor_id"] = m.vendor_id;
  j["num_cores"] = m.num_cores;
  j["num_physical_cores"] = m.num_physical_cores;
  j["num_sockets"] = m.num_sockets;
  j["cpu_frequency_khz"] = m.cpu_frequency_khz;
  j["memory_capacity"] = m.memory_capacity;
  j["swap_capacity"] = m.swap_capacity;
  j["memory_by_type"] =
      nlohmann::json::object();  // DIMM inventory needs EDAC/DMI; cAdvisor often has none
  j["nvm"] = {
      {"memory_mode_capacity", 0}, {"app_direct_mode_capacity", 0}, {"avg_power_budget", 0}};
  j["hugepages"] = HugeJson(m.hugepages);
  j["machine_id"] = m.machine_id;
  j["system_uuid"] = m.system_uuid;
  j["boot_id"] = m.boot_id;
  auto& fss = j["filesystems"] = nlohmann::json::array();
  for (const auto& f : m.filesystems) {
    fss.push_back({{"device", f.device},
                   {"capacity", f.capacity},
                   {"type", f.type},
                   {"inodes", f.inodes},
                   {"has_inodes", f.has_inodes}});
  }
  auto& dm = j["disk_map"] = nlohmann::json::object();
  for (const auto& [k, d] : m.disk_map) {
    dm[k] = {{"name", d.name},
             {"major", d.major},
             {"minor", d.minor},
             {"size", d.size},
             {"scheduler", d.scheduler}};
  }
  auto& nd = j["network_devices"] = nlohmann::json::array();
  for (const auto& n : m.network_devices) {
    nd.push_back(
        {{"name", n.name}, {"mac_address", n.mac_address}, {"speed", n.speed}, {"mtu", n.mtu}});
  }
  auto& topo = j["topology"] = nlohmann::json::array();
  for (const auto& node : m.topology) {
    nlohmann::json cores = nlohmann::json::array();
    for (const auto& c : node.cores) {
      nlohmann::json caches = nlohmann::json::array();
      for (const auto& ca : c.caches) caches.push_back(CacheJson(ca));
      cores.push_back({{"core_id", c.core_id},
                       {"thread_ids", c.thread_ids},
                       {"caches", caches},
                       {"uncore_caches", nullptr},
                       {"socket_id", c.socket_id}});
    }
    nlohmann::json caches = nlohmann::json::array();
    for (const auto& ca : node.caches) caches.push_back(CacheJson(ca));
    topo.push_back({{"node_id", node.node_id},
                    {"memory", node.memory},
                    {"hugepages", HugeJson(node.hugepages)},
                    {"cores", cores},
                    {"caches", caches},
                    {"distances", nlohmann::json::array()}});
  }
  j["cloud_provider"] = m.cloud_provider;
  j["instance_type"] = m.instance_type;
  j["instance_id"] = m.instance_id;
  return j;
}

}  // namespace nanolet::node
