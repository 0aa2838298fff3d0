#include "node/stats.h"

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <cctype>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>

#include "util/fs.h"
#include "util/strings.h"
#include "util/timefmt.h"

namespace nanolet::node {
namespace {

using nlohmann::json;

std::optional<uint64_t> ReadU64(const std::string& path) {
  auto r = ReadFile(path, 1 << 16);
  if (!r.ok()) return std::nullopt;
  std::string s(Trim(*r));
  if (s.empty() || !std::isdigit(static_cast<unsigned char>(s[0]))) return std::nullopt;
  return std::strtoull(s.c_str(), nullptr, 10);
}

// "key value" lines (memory.stat, cpu.stat).
std::map<std::string, uint64_t> ReadKeyed(const std::string& path) {
  std::map<std::string, uint64_t> out;
  auto r = ReadFile(path, 1 << 20);
  if (!r.ok()) return out;
  for (const auto& line : Split(*r, '\n')) {
    size_t sp = line.find(' ');
    if (sp == std::string::npos) continue;
    out[line.substr(0, sp)] = std::strtoull(line.c_str() + sp + 1, nullptr, 10);
  }
  return out;
}

uint64_t Get(const std::map<std::string, uint64_t>& m, const std::string& k) {
  auto it = m.find(k);
  return it == m.end() ? 0 : it->second;
}

json FsJson(const std::string& path, TimePoint now, std::optional<uint64_t> used = std::nullopt) {
  json j;
  struct statvfs st;
  if (path.empty() || ::statvfs(path.c_str(), &st) != 0) return j;
  j["time"] = FormatRFC3339(now);
  j["availableBytes"] = static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
  j["capacityBytes"] = static_cast<uint64_t>(st.f_blocks) * st.f_frsize;
  j["usedBytes"] = used ? *used : static_cast<uint64_t>(st.f_blocks - st.f_bfree) * st.f_frsize;
  if (st.f_files > 0) {
    j["inodesFree"] = static_cast<uint64_t>(st.f_ffree);
    j["inodes"] = static_cast<uint64_t>(st.f_files);
    j["inodesUsed"] = static_cast<uint64_t>(st.f_files - st.f_ffree);
  }
  return j;
}

// Bytes used by the regular files below `dir` (a container's log directory: a handful of files).
uint64_t DirUsage(const std::string& dir, int depth = 0) {
  auto names = ListDir(dir);
  if (!names.ok() || depth > 4) return 0;
  uint64_t total = 0;
  for (const auto& n : *names) {
    std::string p = JoinPath(dir, n);
    struct stat st;
    if (::lstat(p.c_str(), &st) != 0) continue;
    if (S_ISREG(st.st_mode))
      total += static_cast<uint64_t>(st.st_blocks) * 512;
    else if (S_ISDIR(st.st_mode))
      total += DirUsage(p, depth + 1);
  }
  return total;
}

json MemoryJson(const CgroupFs::Sample& s, std::optional<uint64_t> capacity) {
  json j;
  j["time"] = FormatRFC3339(s.time);
  std::optional<uint64_t> limit = capacity ? capacity : s.memory_limit;
  if (limit && *limit >= s.working_set) j["availableBytes"] = *limit - s.working_set;
  j["usageBytes"] = s.memory_usage;
  j["workingSetBytes"] = s.working_set;
  j["rssBytes"] = s.rss;
  j["pageFaults"] = s.page_faults;
  j["majorPageFaults"] = s.major_page_faults;
  return j;
}

json CpuJson(const CgroupFs::Sample& s, std::optional<uint64_t> rate) {
  json j;
  j["time"] = FormatRFC3339(s.time);
  if (rate) j["usageNanoCores"] = *rate;
  j["usageCoreNanoSeconds"] = s.cpu_usage_ns;
  return j;
}

}  // namespace

CgroupFs::CgroupFs(std::string root) : root_(std::move(root)) {
  v2_ = PathExists(JoinPath(root_, "cgroup.controllers"));
  cpuacct_ = JoinPath(root_, "cpuacct");
  if (!v2_ && !IsDirectory(cpuacct_)) cpuacct_ = JoinPath(root_, "cpu,cpuacct");
}

std::string CgroupFs::Path(const std::string& ctl, const std::string& rel) const {
  std::string base = v2_ ? root_ : ctl == "cpuacct" ? cpuacct_ : JoinPath(root_, ctl);
  return rel.empty() ? base : JoinPath(base, rel);
}

Result<uint64_t> CgroupFs::ReadCpuUsage(const std::string& rel) const {
  if (v2_) {
    auto r = ReadFile(JoinPath(Path("", rel), "cpu.stat"), 1 << 16);
    if (!r.ok()) return NotFound("cgroup " + rel + " not found");
    for (const auto& line : Split(*r, '\n')) {
      if (StartsWith(line, "usage_usec "))
        return std::strtoull(line.c_str() + 11, nullptr, 10) * 1000;
    }
    return uint64_t{0};
  }
  auto v = ReadU64(JoinPath(Path("cpuacct", rel), "cpuacct.usage"));
  if (!v) return NotFound("cgroup " + rel + " not found");
  return *v;
}

Result<CgroupFs::Sample> CgroupFs::Read(const std::string& rel, TimePoint now) const {
  Sample s;
  s.time = now;
  if (v2_) {
    std::string dir = Path("", rel);
    if (!IsDirectory(dir)) return NotFound("cgroup " + dir + " not found");
    auto cpu = ReadKeyed(dir + "/cpu.stat");
    s.cpu_usage_ns = Get(cpu, "usage_usec") * 1000;
    auto mem = ReadKeyed(dir + "/memory.stat");
    s.memory_usage = ReadU64(dir + "/memory.current").value_or(0);
    uint64_t inactive = Get(mem, "inactive_file");
    s.working_set = s.memory_usage > inactive ? s.memory_usage - inactive : 0;
    s.rss = Get(mem, "anon");
    s.page_faults = Get(mem, "pgfault");
    s.major_page_faults = Get(mem, "pgmajfault");
    s.memory_limit = ReadU64(dir + "/memory.max");  // "max" parses as none
    return s;
  }
  std::string cpu_dir = Path("cpuacct", rel), mem_dir = Path("memory", rel);
  if (!IsDirectory(cpu_dir) && !IsDirectory(mem_dir))
    return NotFound("cgroup " + rel + " not found");
  s.cpu_usage_ns = ReadU64(cpu_dir + "/cpuacct.usage").value_or(0);
  auto mem = ReadKeyed(mem_dir + "/memory.stat");
  s.memory_usage = ReadU64(mem_dir + "/memory.usage_in_bytes").value_or(0);
  uint64_t inactive = Get(mem, "total_inactive_file");
  s.working_set = s.memory_usage > inactive ? s.memory_usage - inactive : 0;
  s.rss = Get(mem, "total_rss");
  s.page_faults = Get(mem, "total_pgfault");
  s.major_page_faults = Get(mem, "total_pgmajfault");
  auto limit = ReadU64(mem_dir + "/memory.limit_in_bytes");
  if (limit && *limit < (uint64_t{1} << 62)) s.memory_limit = limit;  // v1 "unlimited" is ~2^63
  return s;
}

StatsProvider::StatsProvider(StatsOptions opts)
    : opts_(std::move(opts)),
      clock_(opts_.clock ? *opts_.clock : static_cast<const Clock&>(RealClock::Instance())),
      cg_(opts_.cgroup_root),
      parent_([&] {
        std::string p = opts_.cgroup_parent;
        while (!p.empty() && p.front() == '/') p.erase(0, 1);
        while (!p.empty() && p.back() == '/') p.pop_back();
        return p.empty() ? std::string("nanolet") : p;
      }()) {}

std::string StatsProvider::PodCgroup(const std::string& uid, const std::string& parent) {
  return parent + "/pod" + uid;
}

std::string StatsProvider::ContainerIdFromStatus(const std::string& id) {
  size_t p = id.find("://");
  return p == std::string::npos ? id : id.substr(p + 3);
}

void StatsProvider::Record(const std::string& rel, const CgroupFs::Sample& s) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = cpu_.find(rel);
  if (it == cpu_.end()) {
    cpu_[rel] = CpuState{s.time, s.cpu_usage_ns, std::nullopt};
    return;
  }
  CpuState& st = it->second;
  auto dt = std::chrono::duration_cast<std::chrono::nanoseconds>(s.time - st.time).count();
  if (dt < 1'000'000'000) return;
  if (s.cpu_usage_ns >= st.usage_ns) {
    st.rate = static_cast<uint64_t>(static_cast<double>(s.cpu_usage_ns - st.usage_ns) * 1e9 / dt);
  } else {
    st.rate.reset();  // the cgroup was recreated
  }
  st.time = s.time;
  st.usage_ns = s.cpu_usage_ns;
}

std::optional<uint64_t> StatsProvider::Rate(const std::string& rel) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = cpu_.find(rel);
  return it == cpu_.end() ? std::nullopt : it->second.rate;
}

void StatsProvider::Sample(const std::vector<api::Pod>& pods) {
  TimePoint now = clock_.Now();
  std::set<std::string> seen;
  auto take = [&](const std::string& rel) {
    seen.insert(rel);
    if (auto cpu = cg_.ReadCpuUsage(rel); cpu.ok()) {
      CgroupFs::Sample s;
      s.time = now;
      s.cpu_usage_ns = *cpu;
      Record(rel, s);
    }
  };
  take("");
  take(parent_);
  if (auto self = SelfCgroup(); !self.empty()) take(self);
  for (const auto& pod : pods) {
    std::string pod_cg = PodCgroup(pod.metadata.uid, parent_);
    take(pod_cg);
    for (const auto& cs : pod.status.container_statuses) {
      if (cs.container_id.empty()) continue;
      take(pod_cg + "/" + ContainerIdFromStatus(cs.container_id));
    }
  }
  std::lock_guard<std::mutex> l(mu_);
  for (auto it = cpu_.begin(); it != cpu_.end();) {
    it = seen.count(it->first) ? std::next(it) : cpu_.erase(it);
  }
}

std::string StatsProvider::SelfCgroup() const {
  auto self = ReadFile(JoinPath(opts_.proc_root, "self/cgroup"), 1 << 16);
  if (!self.ok()) return "";
  for (const auto& line : Split(*self, '\n')) {
    auto parts = Split(line, ':');
    if (parts.size() < 3) continue;
    bool match = cg_.v2() ? parts[0] == "0" : (parts[1] == "memory");
    if (!match) continue;
    return parts[2].size() > 1 ? parts[2].substr(1) : "";
  }
  return "";
}

json StatsProvider::NodeJson(TimePoint now) {
  json node;
  node["nodeName"] = opts_.node_name;
  auto mem_total = [&]() -> std::optional<uint64_t> {
    auto r = ReadFile(JoinPath(opts_.proc_root, "meminfo"), 1 << 20);
    if (!r.ok()) return std::nullopt;
    for (const auto& line : Split(*r, '\n')) {
      if (StartsWith(line, "MemTotal:")) return std::strtoull(line.c_str() + 9, nullptr, 10) * 1024;
    }
    return std::nullopt;
  }();
  auto root = cg_.Read("", now);
  if (root.ok() && root->memory_usage == 0 && mem_total) {
    // v2 root: no memory.current; take /proc/meminfo as cAdvisor's machine-level fallback does.
    auto r = ReadFile(JoinPath(opts_.proc_root, "meminfo"), 1 << 20);
    uint64_t avail = 0;
    for (const auto& line : Split(r.ok() ? *r : "", '\n')) {
      if (StartsWith(line, "MemAvailable:"))
        avail = std::strtoull(line.c_str() + 13, nullptr, 10) * 1024;
    }
    root->memory_usage = *mem_total - std::min(avail, *mem_total);
    root->working_set = root->memory_usage;
  }
  if (root.ok()) {
    node["cpu"] = CpuJson(*root, Rate(""));
    node["memory"] = MemoryJson(*root, mem_total);
  }
  // The kubelet's own cgroup and the pods' parent, as upstream's systemContainers "kubelet" and
  // "pods".
  json sys = json::array();
  if (std::string rel = SelfCgroup(); !rel.empty()) {  // empty: the root, same as the node
    if (auto s = cg_.Read(rel, now); s.ok()) {
      sys.push_back({{"name", "kubelet"},
                     {"startTime", FormatRFC3339(now)},
                     {"cpu", CpuJson(*s, Rate(rel))},
                     {"memory", MemoryJson(*s, std::nullopt)}});
    }
  }
  if (auto s = cg_.Read(parent_, now); s.ok()) {
    sys.push_back({{"name", "pods"},
                   {"startTime", FormatRFC3339(now)},
                   {"cpu", CpuJson(*s, Rate(parent_))},
                   {"memory", MemoryJson(*s, std::nullopt)}});
  }
  node["systemContainers"] = sys;
  node["startTime"] = FormatRFC3339(now);
  node["fs"] = FsJson(opts_.root_dir, now);
  std::string images = JoinPath(opts_.root_dir, "images");
  node["runtime"] = {{"imageFs", FsJson(IsDirectory(images) ? images : opts_.root_dir, now)}};
  json rlimit;
  rlimit["time"] = FormatRFC3339(now);
  if (auto v = ReadU64(JoinPath(opts_.proc_root, "sys/kernel/pid_max"))) rlimit["maxpid"] = *v;
  if (auto la = ReadFile(JoinPath(opts_.proc_root, "loadavg"), 4096); la.ok()) {
    // "0.00 0.01 0.05 1/89 11249": the total after the slash counts threads, as sysinfo's procs
    // does.
    size_t slash = la->find('/');
    if (slash != std::string::npos)
      rlimit["curproc"] = std::strtoull(la->c_str() + slash + 1, nullptr, 10);
  }
  node["rlimit"] = rlimit;
  return node;
}

json StatsProvider::Summary(const std::vector<api::Pod>& pods) {
  TimePoint now = clock_.Now();
  json out;
  out["node"] = NodeJson(now);
  json pods_json = json::array();
  for (const auto& pod : pods) {
    json p;
    p["podRef"] = {{"name", pod.metadata.name},
                   {"namespace", pod.metadata.namespace_},
                   {"uid", pod.metadata.uid}};
    p["startTime"] =
        pod.status.start_time.empty() ? pod.metadata.creation_timestamp : pod.status.start_time;
    std::string pod_cg = PodCgroup(pod.metadata.uid, parent_);
    std::string pod_logs =
        JoinPath(opts_.pod_logs_dir,
                 pod.metadata.namespace_ + "_" + pod.metadata.name + "_" + pod.metadata.uid);
    uint64_t logs_total = 0;
    json containers = json::array();
    for (const auto& cs : pod.status.container_statuses) {
      json c;
      c["name"] = cs.name;
      if (cs.state.running)
        c["startTime"] = cs.state.running->started_at;
      else if (cs.state.terminated)
        c["startTime"] = cs.state.terminated->started_at;
      if (!cs.container_id.empty()) {
        std::string rel = pod_cg + "/" + ContainerIdFromStatus(cs.container_id);
        if (auto s = cg_.Read(rel, now); s.ok()) {
          c["cpu"] = CpuJson(*s, Rate(rel));
          c["memory"] = MemoryJson(*s, std::nullopt);
        }
      }
      c["rootfs"] = FsJson(opts_.root_dir, now, 0);
      uint64_t logs = DirUsage(JoinPath(pod_logs, cs.name));
      logs_total += logs;
      c["logs"] = FsJson(opts_.pod_logs_dir, now, logs);
      containers.push_back(std::move(c));
    }
    p["containers"] = std::move(containers);
    if (auto s = cg_.Read(pod_cg, now); s.ok()) {
      p["cpu"] = CpuJson(*s, Rate(pod_cg));
      p["memory"] = MemoryJson(*s, std::nullopt);
    }
    p["ephemeral-storage"] = FsJson(opts_.pod_logs_dir, now, logs_total);
    pods_json.push_back(std::move(p));
  }
  out["pods"] = std::move(pods_json);
  return out;
}

}  // namespace nanolet::node
