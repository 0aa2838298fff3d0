#include "kubelet/node_status.h"

#include <sys/statvfs.h>
#include <sys/utsname.h>

#include "api/encode.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strings.h"
#include "util/timefmt.h"

namespace nanolet::kubelet {
namespace node_status_detail {

constexpr const char* kLeaseNamespace = "kube-node-lease";

std::string GoArch(const std::string& machine) {
  if (machine == "x86_64") return "amd64";
  if (machine == "aarch64") return "arm64";
  if (machine == "armv7l") return "arm";
  return machine;
}

std::string OsImage() {
  auto data = ReadFile("/etc/os-release", 1 << 16);
  if (!data.ok()) return "Linux";
  for (const auto& line : Split(*data, '\n')) {
    if (StartsWith(line, "PRETTY_NAME=")) {
      std::string v = line.substr(12);
      if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'')) v = v.substr(1, v.size() - 2);
      return v;
    }
  }
  return "Linux";
}

uint64_t FsCapacity(const std::string& dir) {
  struct statvfs s {};
  std::string d = dir;
  while (statvfs(d.c_str(), &s) != 0) {  // the root dir may not exist yet: use the nearest ancestor
    auto slash = d.rfind('/');
    if (slash == std::string::npos || d == "/") return 0;
    d = slash == 0 ? "/" : d.substr(0, slash);
  }
  return static_cast<uint64_t>(s.f_blocks) * s.f_frsize;
}

std::string LeasePath(const std::string& name) {
  return std::string("/apis/coordination.k8s.io/v1/namespaces/") + kLeaseNamespace + "/leases/" +
         name;
}

struct FsReading {
  uint64_t available = 0, capacity = 0, inodes_free = 0, inodes = 0;
};
std::optional<FsReading> StatFs(const std::string& dir) {
  struct statvfs s {};
  std::string d = dir;
  while (statvfs(d.c_str(), &s) != 0) {
    auto slash = d.rfind('/');
    if (slash == std::string::npos || d == "/") return std::nullopt;
    d = slash == 0 ? "/" : d.substr(0, slash);
  }
  FsReading r;
  r.available = static_cast<uint64_t>(s.f_bavail) * s.f_frsize;
  r.capacity = static_cast<uint64_t>(s.f_blocks) * s.f_frsize;
  r.inodes_free = s.f_ffree;
  r.inodes = s.f_files;
  return r;
}

std::optional<uint64_t> ReadUint(const std::string& path) {
  auto data = ReadFile(path, 4096);
  if (!data.ok()) return std::nullopt;
  std::string t(Trim(*data));
  if (t.empty() || !std::isdigit(static_cast<unsigned char>(t[0]))) return std::nullopt;
  return std::strtoull(t.c_str(), nullptr, 10);
}

void ReportCondition(api::EventSink* events, const std::string& node, const api::NodeCondition& c,
                     std::map<std::string, std::string>& reported) {
  auto& last = reported[c.type];
  if (last == c.status) return;
  last = c.status;
  if (!events) return;
  // As upstream's setters (recordNodeStatusEvent): "Node <name> status is now: <event>".
  bool t = c.status == "True";
  std::string ev;
  if (c.type == "MemoryPressure") ev = t ? "NodeHasInsufficientMemory" : "NodeHasSufficientMemory";
  if (c.type == "DiskPressure") ev = t ? "NodeHasDiskPressure" : "NodeHasNoDiskPressure";
  if (c.type == "PIDPressure") ev = t ? "NodeHasInsufficientPID" : "NodeHasSufficientPID";
  if (c.type == "Ready") ev = t ? "NodeReady" : "NodeNotReady";
  if (!ev.empty())
    events->RecordNode(api::kEventNormal, ev, "Node " + node + " status is now: " + ev);
}

}  // namespace node_status_detail

using namespace node_status_detail;

NodeReadings ReadNodeReadings(const std::string& root_dir) {
  NodeReadings r;
  if (auto mem = ReadFile("/proc/meminfo", 1 << 16); mem.ok()) {
    for (const auto& line : Split(*mem, '\n')) {
      if (StartsWith(line, "MemAvailable:")) {
        r.memory_available = std::strtoull(line.c_str() + 13, nullptr, 10) * 1024;  // kB
      }
    }
  }
  if (auto fs = StatFs(root_dir)) {
    r.nodefs_available = fs->available;
    r.nodefs_capacity = fs->capacity;
    r.nodefs_inodes_free = fs->inodes_free;
    r.nodefs_inodes = fs->inodes;
  }
  if (auto fs = StatFs(root_dir + "/images")) {
    r.imagefs_available = fs->available;
    r.imagefs_capacity = fs->capacity;
    r.imagefs_inodes_free = fs->inodes_free;
    r.imagefs_inodes = fs->inodes;
  }
  // As upstream's pid signal: min(pid_max, threads-max) less the tasks running (loadavg's 4th field
  // is running/total scheduling entities).
  auto pid_max = ReadUint("/proc/sys/kernel/pid_max");
  auto threads_max = ReadUint("/proc/sys/kernel/threads-max");
  if (pid_max && threads_max && *threads_max < *pid_max) pid_max = threads_max;
  if (auto la = ReadFile("/proc/loadavg", 4096); la.ok() && pid_max) {
    auto parts = Split(*la, ' ');
    if (parts.size() >= 4) {
      auto slash = parts[3].find('/');
      if (slash != std::string::npos) {
        uint64_t tasks = std::strtoull(parts[3].c_str() + slash + 1, nullptr, 10);
        r.pid_max = *pid_max;
        r.pid_available = tasks < *pid_max ? *pid_max - tasks : 0;
      }
    }
  }
  return r;
}

NodePressure ComputePressure(const NodeReadings& r, const EvictionThresholds& t) {
  auto below = [](const std::optional<uint64_t>& v, const std::optional<uint64_t>& total,
                  double fraction) {
    return v && total && *total > 0 &&
           static_cast<double>(*v) < fraction * static_cast<double>(*total);
  };
  NodePressure p;
  p.memory = r.memory_available && *r.memory_available < t.memory_available;
  p.disk = below(r.nodefs_available, r.nodefs_capacity, t.nodefs_available) ||
           below(r.nodefs_inodes_free, r.nodefs_inodes, t.nodefs_inodes_free) ||
           below(r.imagefs_available, r.imagefs_capacity, t.imagefs_available);
  p.pid = t.pid_available && below(r.pid_available, r.pid_max, *t.pid_available);
  return p;
}

api::Node BuildNode(const NodeStatusOptions& opts, const node::MachineInfo& mi, TimePoint now,
                    const NodePressure& pressure) {
  struct utsname u {};
  uname(&u);
  std::string arch = GoArch(u.machine);
  api::Node n;
  n.metadata.name = opts.node_name;
  // As upstream initialNode: hostname, os and arch labels (and their deprecated beta forms).
  n.metadata.labels = opts.extra_labels;
  n.metadata.labels["kubernetes.io/hostname"] = opts.node_name;
  n.metadata.labels["kubernetes.io/os"] = "linux";
  n.metadata.labels["kubernetes.io/arch"] = arch;
  n.metadata.labels["beta.kubernetes.io/os"] = "linux";
  n.metadata.labels["beta.kubernetes.io/arch"] = arch;
  auto& st = n.status;
  uint64_t storage = FsCapacity(opts.root_dir);
  st.capacity["cpu"] = api::Quantity::FromInt(mi.num_cores);
  st.capacity["memory"] = api::Quantity::FromInt(static_cast<int64_t>(mi.memory_capacity),
                                                 api::Quantity::Format::kBinarySI);
  st.capacity["pods"] = api::Quantity::FromInt(opts.max_pods);
  st.capacity["ephemeral-storage"] =
      api::Quantity::FromInt(static_cast<int64_t>(storage), api::Quantity::Format::kBinarySI);
  st.capacity["hugepages-2Mi"] = api::Quantity::FromInt(0);
  st.capacity["hugepages-1Gi"] = api::Quantity::FromInt(0);
  // Allocatable: capacity less upstream's default hard eviction thresholds (memory.available<100Mi,
  // nodefs.available<10%); nanolet reserves nothing else.
  st.allocatable = st.capacity;
  int64_t mem = static_cast<int64_t>(mi.memory_capacity) - (100LL << 20);
  st.allocatable["memory"] =
      api::Quantity::FromInt(mem < 0 ? 0 : mem, api::Quantity::Format::kBinarySI);
  st.allocatable["ephemeral-storage"] =
      api::Quantity::FromInt(static_cast<int64_t>(storage - storage / 10));
  std::string t = FormatRFC3339(now);
  auto cond = [&](const char* type, const char* status, const char* reason, const char* message) {
    st.conditions.push_back(api::NodeCondition{type, status, t, t, reason, message});
  };
  if (pressure.memory) {
    cond("MemoryPressure", "True", "KubeletHasInsufficientMemory",
         "kubelet has insufficient memory available");
  } else {
    cond("MemoryPressure", "False", "KubeletHasSufficientMemory",
         "kubelet has sufficient memory available");
  }
  if (pressure.disk) {
    cond("DiskPressure", "True", "KubeletHasDiskPressure", "kubelet has disk pressure");
  } else {
    cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure");
  }
  if (pressure.pid) {
    cond("PIDPressure", "True", "KubeletHasInsufficientPID",
         "kubelet has insufficient PID available");
  } else {
    cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available");
  }
  cond("Ready", "True", "KubeletReady", "kubelet is posting ready status");
  if (!opts.host_ips.empty()) st.addresses.push_back({"InternalIP", opts.host_ips.front()});
  st.addresses.push_back({"Hostname", opts.node_name});
  st.kubelet_endpoint_port = opts.kubelet_port;
  auto& i = st.node_info;
  i.machine_id = mi.machine_id;
  i.system_uuid = mi.system_uuid;
  i.boot_id = mi.boot_id;
  i.kernel_version = u.release;
  i.os_image = OsImage();
  i.container_runtime_version = opts.runtime_version;
  i.kubelet_version = opts.kubelet_version;
  i.operating_system = "linux";
  i.architecture = arch;
  return n;
}

bool NodeStatusEqual(const api::NodeStatus& a, const api::NodeStatus& b) {
  api::NodeStatus x = a, y = b;
  for (auto* s : {&x, &y}) {
    for (auto& c : s->conditions) c.last_heartbeat_time.clear();
  }
  return x == y;
}

NodeStatusAgent::NodeStatusAgent(client::RestClient& client, NodeStatusOptions opts,
                                 const Clock& clock)
    : client_(client),
      opts_(std::move(opts)),
      clock_(clock),
      machine_(node::GatherMachineInfo("/")) {}

NodeStatusAgent::~NodeStatusAgent() { Stop(); }

void NodeStatusAgent::Start() {
  if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
}

void NodeStatusAgent::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::string NodeStatusAgent::NodeUID() const {
  std::lock_guard<std::mutex> l(const_cast<std::mutex&>(mu_));
  return node_uid_;
}

void NodeStatusAgent::SleepFor(Duration d) {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait_for(l, d, [this] { return stop_; });
}

Result<void> NodeStatusAgent::Register() {
  api::Node n = BuildNode(opts_, machine_, clock_.Now());
  nlohmann::json body = api::Encode(n);
  auto created = client_.Post("/api/v1/nodes", body);
  nlohmann::json node;
  if (created.ok()) {
    node = std::move(*created);
    log::Info("node registered", {{"node", opts_.node_name}});
  } else if (created.error().is(ErrorCode::kAlreadyExists)) {
    auto existing = client_.Get("/api/v1/nodes/" + opts_.node_name);
    if (!existing.ok()) return std::move(existing).error();
    node = std::move(*existing);
    // Take the node over: put back the default labels when they differ (upstream
    // updateDefaultLabels).
    nlohmann::json want = nlohmann::json::object();
    auto have = node["metadata"].value("labels", nlohmann::json::object());
    for (const auto& [k, v] : n.metadata.labels) {
      if (!have.is_object() || have.value(k, "") != v) want[k] = v;
    }
    if (!want.empty()) {
      auto p =
          client_.Patch("/api/v1/nodes/" + opts_.node_name, {{"metadata", {{"labels", want}}}});
      if (!p.ok()) return std::move(p).error().Wrap("update node labels");
    }
    log::Info("node already registered: taken over", {{"node", opts_.node_name}});
  } else {
    return std::move(created).error();
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    node_uid_ = node["metadata"].value("uid", "");
  }
  registered_ = true;
  return Ok();
}

Result<void> NodeStatusAgent::UpdateStatus(bool force) {
  TimePoint now = clock_.Now();
  // As upstream's eviction manager: a pressure observed stays reported for the transition period.
  NodeReadings readings = opts_.readings ? opts_.readings() : ReadNodeReadings(opts_.root_dir);
  NodePressure seen = ComputePressure(readings, opts_.eviction_hard);
  if (seen.memory) memory_seen_ = now;
  if (seen.disk) disk_seen_ = now;
  if (seen.pid) pid_seen_ = now;
  auto recent = [&](TimePoint t) {
    return t != TimePoint{} && now - t < opts_.pressure_transition_period;
  };
  NodePressure pressure{seen.memory || recent(memory_seen_), seen.disk || recent(disk_seen_),
                        seen.pid || recent(pid_seen_)};
  api::Node n = BuildNode(opts_, machine_, now, pressure);
  // lastTransitionTime stays when a condition's status did not change.
  for (auto& c : n.status.conditions) {
    auto it = transition_.find(c.type + "=" + c.status);
    if (it != transition_.end()) c.last_transition_time = it->second;
  }
  if (!force && sent_ && NodeStatusEqual(n.status, last_sent_) &&
      now - last_report_ < opts_.status_report_frequency) {
    return Ok();
  }
  nlohmann::json st = api::Encode(n)["status"];
  auto r = client_.Patch("/api/v1/nodes/" + opts_.node_name + "/status", {{"status", st}});
  if (!r.ok()) {
    if (r.error().is(ErrorCode::kNotFound))
      registered_ = false;  // deleted behind our back: register again
    return std::move(r).error().Wrap("update node status");
  }
  patches_++;
  for (const auto& c : n.status.conditions)
    ReportCondition(opts_.events, opts_.node_name, c, reported_);
  transition_.clear();
  for (const auto& c : n.status.conditions)
    transition_[c.type + "=" + c.status] = c.last_transition_time;
  last_sent_ = n.status;
  sent_ = true;
  last_report_ = now;
  return Ok();
}

Result<void> NodeStatusAgent::RenewLease() {
  std::string path = LeasePath(opts_.node_name);
  std::string uid = NodeUID();
  auto fill = [&](nlohmann::json& lease) {
    lease["apiVersion"] = "coordination.k8s.io/v1";
    lease["kind"] = "Lease";
    auto& m = lease["metadata"];
    m["name"] = opts_.node_name;
    m["namespace"] = kLeaseNamespace;
    if (!uid.empty()) {
      m["ownerReferences"] = nlohmann::json::array(
          {{{"apiVersion", "v1"}, {"kind", "Node"}, {"name", opts_.node_name}, {"uid", uid}}});
    }
    auto& s = lease["spec"];
    s["holderIdentity"] = opts_.node_name;
    s["leaseDurationSeconds"] = opts_.lease_duration_seconds;
    s["renewTime"] = FormatRFC3339Micro(clock_.Now());
  };
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (lease_.is_null()) {
      auto got = client_.Get(path);
      if (!got.ok() && got.error().is(ErrorCode::kNotFound)) {
        nlohmann::json lease = nlohmann::json::object();
        fill(lease);
        auto created = client_.Post(
            std::string("/apis/coordination.k8s.io/v1/namespaces/") + kLeaseNamespace + "/leases",
            lease);
        if (created.ok()) {
          lease_ = std::move(*created);
          renewals_++;
          return Ok();
        }
        if (created.error().is(ErrorCode::kAlreadyExists)) continue;  // raced: fetch it
        return std::move(created).error().Wrap("create lease");
      }
      if (!got.ok()) return std::move(got).error().Wrap("get lease");
      lease_ = std::move(*got);
    }
    nlohmann::json lease = lease_;
    fill(lease);  // keeps metadata.resourceVersion: an optimistic-concurrency update
    auto put = client_.Put(path, lease);
    if (put.ok()) {
      lease_ = std::move(*put);
      renewals_++;
      return Ok();
    }
    lease_ = nullptr;  // refetch before the next attempt
    if (!put.error().is(ErrorCode::kAlreadyExists) && !put.error().is(ErrorCode::kNotFound)) {
      return std::move(put).error().Wrap("renew lease");
    }
  }
  return Error("renew lease: conflicts persisted", ErrorCode::kAlreadyExists);
}

void NodeStatusAgent::Run() {
  Duration backoff = std::chrono::milliseconds(100);
  TimePoint next_status{}, next_lease{};
  bool first = true;
  for (;;) {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (stop_) return;
    }
    if (!registered_) {
      if (!opts_.register_node) {
        // --register-node=false: the Node exists already (made by an administrator); learn its UID.
        auto got = client_.Get("/api/v1/nodes/" + opts_.node_name);
        if (!got.ok()) {
          log::Warn("node not found in the apiserver; retrying",
                    {{"node", opts_.node_name}, {"error", got.error().message()}});
          SleepFor(backoff);
          backoff = std::min<Duration>(backoff * 2, std::chrono::seconds(7));
          continue;
        }
        {
          std::lock_guard<std::mutex> l(mu_);
          node_uid_ = (*got)["metadata"].value("uid", "");
        }
        registered_ = true;
      } else if (auto r = Register(); !r.ok()) {
        log::Warn("unable to register node with the apiserver; retrying",
                  {{"node", opts_.node_name}, {"error", r.error().message()}});
        SleepFor(backoff);
        backoff = std::min<Duration>(backoff * 2, std::chrono::seconds(7));
        continue;
      }
      backoff = std::chrono::milliseconds(100);
      first = true;
    }
    TimePoint now = clock_.Now();
    if (now >= next_status) {
      if (auto r = UpdateStatus(first); !r.ok()) {
        log::Warn("node status update failed",
                  {{"node", opts_.node_name}, {"error", r.error().message()}});
        next_status = now + std::chrono::seconds(1);
      } else {
        first = false;
        next_status = now + opts_.status_update_frequency;
      }
    }
    if (now >= next_lease) {
      if (auto r = RenewLease(); !r.ok()) {
        log::Warn("lease renewal failed",
                  {{"node", opts_.node_name}, {"error", r.error().message()}});
        // As upstream: retry sooner than the renew interval (200 ms doubling to 7 s would be exact;
        // 1 s here).
        next_lease = now + std::chrono::seconds(1);
      } else {
        next_lease = now + opts_.lease_renew_interval;
      }
    }
    TimePoint wake = std::min(next_status, next_lease);
    Duration d = wake - clock_.Now();
    SleepFor(std::max<Duration>(d, std::chrono::milliseconds(10)));
  }
}

}  // namespace nanolet::kubelet
