#include "runtime/oci/oci_runtime.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <random>
#include <set>

#include <nlohmann/json.hpp>

#include "runtime/image/image_store.h"
#include "runtime/network/cni_network.h"
#include "runtime/oci/oci_glue.h"
#include "runtime/oci/spec_builder.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strings.h"
#include "util/subprocess.h"
#include "util/timefmt.h"

namespace nanolet::runtime::oci {

using nlohmann::json;
using std::chrono::milliseconds;

struct OciRuntime::SandboxRecord {
  SandboxStatus status;
  SandboxConfig config;
  std::string dir;
  NamespacePaths ns;  // paths of the namespaces nanolet made ("host" when shared with the host)
  int64_t pause_pid = 0;
  bool network_set_up = false;
  bool stopped = false;
  // The fast path: CNI ADD runs on cni_thread after RunPodSandbox returned. network_pending (persisted) and
  // network_error are guarded by mu_; waiters use net_cv_. cni_thread is joined under join_mu.
  bool network_pending = false;
  std::string network_error;
  std::mutex join_mu;
  std::thread cni_thread;
  std::mutex save_mu;  // orders meta.json writes from the CNI thread and the caller
};

struct OciRuntime::ContainerRecord {
  ContainerStatus status;
  std::string stop_signal;
  std::string pod_uid;
  std::string dir;
  bool rootfs_mounted = false;
  bool exit_seen = false;
};

namespace {

std::string NewId() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string raw(32, '\0');
  for (size_t i = 0; i < raw.size(); i += 8) {
    uint64_t v = rng();
    std::memcpy(&raw[i], &v, 8);
  }
  return HexEncode(raw);
}

std::string SelfDir() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  std::string p(buf, n);
  return p.substr(0, p.find_last_of('/'));
}

std::string FindOnPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (const auto& dir : Split(p, ':')) {
    std::string cand = JoinPath(dir.empty() ? "." : dir, name);
    if (::access(cand.c_str(), X_OK) == 0) return cand;
  }
  return "";
}

int64_t ToNs(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}
TimePoint FromNs(int64_t ns) {
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(std::chrono::nanoseconds(ns)));
}

const char* StateName(ContainerState s) {
  switch (s) {
    case ContainerState::kCreated: return "created";
    case ContainerState::kRunning: return "running";
    case ContainerState::kExited: return "exited";
    default: return "unknown";
  }
}
ContainerState StateFromName(const std::string& s) {
  if (s == "created") return ContainerState::kCreated;
  if (s == "running") return ContainerState::kRunning;
  if (s == "exited") return ContainerState::kExited;
  return ContainerState::kUnknown;
}

json SandboxToJson(const OciRuntime::SandboxRecord& s);
json ContainerToJson(const OciRuntime::ContainerRecord& c);

bool ProcessAlive(int64_t pid) {
  if (pid <= 0) return false;
  if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) return false;
  // A zombie is dead for our purposes.
  auto stat = ReadFile("/proc/" + std::to_string(pid) + "/stat", 4096);
  if (!stat.ok()) return false;
  auto rp = stat->rfind(')');
  return rp == std::string::npos || rp + 2 >= stat->size() || (*stat)[rp + 2] != 'Z';
}

// Reads the cgroup's OOM-kill counter (v1 memory.oom_control, v2 memory.events).
int64_t OomKills(const std::string& cgroup_rel) {
  for (const auto& path : {"/sys/fs/cgroup/memory" + cgroup_rel + "/memory.oom_control",
                           "/sys/fs/cgroup" + cgroup_rel + "/memory.events"}) {
    auto data = ReadFile(path, 8192);
    if (!data.ok()) continue;
    for (const auto& line : Split(*data, '\n')) {
      if (StartsWith(line, "oom_kill ")) return std::atoll(line.c_str() + 9);
    }
  }
  return 0;
}

const char* kCgroupControllers[] = {"cpu",     "cpuacct", "cpuset", "memory", "pids",   "blkio",
                                    "devices", "freezer", "hugetlb", "net_cls", "net_prio",
                                    "perf_event", "rdma", "misc", "systemd", "unified"};

}  // namespace

namespace {
json SandboxToJson(const OciRuntime::SandboxRecord& s) {
  json j;
  j["id"] = s.status.id;
  j["podUID"] = s.status.pod_uid;
  j["podName"] = s.status.pod_name;
  j["podNamespace"] = s.status.pod_namespace;
  j["attempt"] = s.status.attempt;
  j["ip"] = s.status.ip;
  j["ips"] = s.status.ips;
  j["createdAt"] = ToNs(s.status.created_at);
  j["netnsPath"] = s.status.network_namespace_path;
  j["labels"] = s.status.labels;
  j["annotations"] = s.status.annotations;
  j["ns"] = {{"network", s.ns.network}, {"ipc", s.ns.ipc}, {"uts", s.ns.uts}, {"pid", s.ns.pid}};
  j["pausePid"] = s.pause_pid;
  j["networkSetUp"] = s.network_set_up;
  j["networkPending"] = s.network_pending;
  j["networkError"] = s.network_error;
  j["stopped"] = s.stopped;
  j["hostNetwork"] = s.config.host_network;
  j["hostname"] = s.config.hostname;
  j["logDirectory"] = s.config.log_directory;
  json ports = json::array();
  for (const auto& p : s.config.port_mappings) {
    ports.push_back({{"protocol", p.protocol}, {"containerPort", p.container_port},
                     {"hostPort", p.host_port}, {"hostIP", p.host_ip}});
  }
  j["ports"] = ports;
  return j;
}

json ContainerToJson(const OciRuntime::ContainerRecord& c) {
  const auto& s = c.status;
  json j;
  j["id"] = s.id;
  j["sandboxId"] = s.sandbox_id;
  j["podUID"] = c.pod_uid;
  j["name"] = s.name;
  j["attempt"] = s.attempt;
  j["state"] = StateName(s.state);
  j["createdAt"] = ToNs(s.created_at);
  j["startedAt"] = ToNs(s.started_at);
  j["finishedAt"] = ToNs(s.finished_at);
  j["exitCode"] = s.exit_code;
  j["signal"] = s.signal;
  j["reason"] = s.reason;
  j["image"] = s.image;
  j["imageId"] = s.image_id;
  j["pid"] = s.pid;
  j["logPath"] = s.log_path;
  j["labels"] = s.labels;
  j["annotations"] = s.annotations;
  j["stopSignal"] = c.stop_signal;
  j["rootfsMounted"] = c.rootfs_mounted;
  return j;
}

void SandboxFromJson(const json& j, OciRuntime::SandboxRecord& s) {
  s.status.id = j.value("id", "");
  s.status.pod_uid = j.value("podUID", "");
  s.status.pod_name = j.value("podName", "");
  s.status.pod_namespace = j.value("podNamespace", "");
  s.status.attempt = j.value("attempt", 0u);
  s.status.ip = j.value("ip", "");
  s.status.ips = j.value("ips", std::vector<std::string>{});
  s.status.created_at = FromNs(j.value("createdAt", int64_t{0}));
  s.status.network_namespace_path = j.value("netnsPath", "");
  s.status.labels = j.value("labels", Labels{});
  s.status.annotations = j.value("annotations", Labels{});
  if (j.contains("ns")) {
    s.ns.network = j["ns"].value("network", "");
    s.ns.ipc = j["ns"].value("ipc", "");
    s.ns.uts = j["ns"].value("uts", "");
    s.ns.pid = j["ns"].value("pid", "");
  }
  s.pause_pid = j.value("pausePid", int64_t{0});
  s.network_set_up = j.value("networkSetUp", false);
  s.network_pending = j.value("networkPending", false);
  s.network_error = j.value("networkError", "");
  s.status.network_error = s.network_error;
  s.stopped = j.value("stopped", false);
  s.config.pod_uid = s.status.pod_uid;
  s.config.pod_name = s.status.pod_name;
  s.config.pod_namespace = s.status.pod_namespace;
  s.config.host_network = j.value("hostNetwork", false);
  s.config.hostname = j.value("hostname", "");
  s.config.log_directory = j.value("logDirectory", "");
  for (const auto& p : j.value("ports", json::array())) {
    s.config.port_mappings.push_back({p.value("protocol", "TCP"), p.value("containerPort", 0),
                                      p.value("hostPort", 0), p.value("hostIP", "")});
  }
}

void ContainerFromJson(const json& j, OciRuntime::ContainerRecord& c) {
  auto& s = c.status;
  s.id = j.value("id", "");
  s.sandbox_id = j.value("sandboxId", "");
  c.pod_uid = j.value("podUID", "");
  s.name = j.value("name", "");
  s.attempt = j.value("attempt", 0u);
  s.state = StateFromName(j.value("state", ""));
  s.created_at = FromNs(j.value("createdAt", int64_t{0}));
  s.started_at = FromNs(j.value("startedAt", int64_t{0}));
  s.finished_at = FromNs(j.value("finishedAt", int64_t{0}));
  s.exit_code = j.value("exitCode", 0);
  s.signal = j.value("signal", 0);
  s.reason = j.value("reason", "");
  s.image = j.value("image", "");
  s.image_id = j.value("imageId", "");
  s.pid = j.value("pid", int64_t{0});
  s.log_path = j.value("logPath", "");
  s.labels = j.value("labels", Labels{});
  s.annotations = j.value("annotations", Labels{});
  c.stop_signal = j.value("stopSignal", "");
  c.rootfs_mounted = j.value("rootfsMounted", false);
}
// /etc/hosts as the kubelet writes it (managed hosts file); `ip` is "" until CNI ADD returned.
std::string HostsFile(const SandboxConfig& config, const std::string& hostname, const std::string& ip) {
  std::string hosts;
  if (config.host_network) {
    if (auto host = ReadFile("/etc/hosts"); host.ok()) hosts = std::move(*host);
  } else {
    hosts =
        "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost "
        "ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\n"
        "fe00::2\tip6-allrouters\n";
    if (!ip.empty()) hosts += ip + "\t" + hostname + "\n";
  }
  for (const auto& [alias_ip, names] : config.host_aliases) {
    hosts += "\n# Entries added by HostAliases.\n" + alias_ip + "\t" + Join(names, "\t") + "\n";
  }
  return hosts;
}

}  // namespace

OciRuntime::OciRuntime(const OciOptions& options) : opts_(options) {}

Result<std::unique_ptr<OciRuntime>> OciRuntime::Create(const OciOptions& options) {
  std::unique_ptr<OciRuntime> rt(new OciRuntime(options));
  RETURN_IF_ERROR_CTX(rt->Init(), "runtime");
  return rt;
}

Result<void> OciRuntime::Init() {
  if (opts_.runc.empty()) opts_.runc = FindOnPath("runc");
  if (opts_.runc.empty()) opts_.runc = "runc";
  // A missing runc does not stop nanolet (its API, its status reports, adoption after runc comes back):
  // every pod sandbox or container it is asked for fails, naming the cause (RuncUsable).
  if (auto usable = RuncUsable(); !usable.ok()) log::Error(usable.error().message());
  std::string self = SelfDir();
  if (opts_.monitor_path.empty()) opts_.monitor_path = self + "/nanolet-monitor";
  if (opts_.pause_path.empty()) opts_.pause_path = self + "/nanolet-pause";
  for (const auto& p : {opts_.monitor_path, opts_.pause_path}) {
    if (::access(p.c_str(), X_OK) != 0) return Error(p + ": not found or not executable");
  }
  state_dir_ = opts_.root_dir + "/runtime";
  runc_root_ = state_dir_ + "/runc";
  exits_dir_ = state_dir_ + "/exits";
  pause_rootfs_ = state_dir_ + "/pause/rootfs";
  netns_dir_ = opts_.netns_dir;
  for (const auto& d : {runc_root_, exits_dir_, pause_rootfs_, state_dir_ + "/sandboxes",
                        state_dir_ + "/containers", netns_dir_}) {
    RETURN_IF_ERROR(MkdirAll(d, 0711));
  }
  for (const auto& d : {"/proc", "/dev", "/etc"}) RETURN_IF_ERROR(MkdirAll(pause_rootfs_ + d));
  ASSIGN_OR_RETURN(std::string pause_bin, ReadFile(opts_.pause_path));
  auto existing = ReadFile(pause_rootfs_ + "/pause");
  if (!existing.ok() || *existing != pause_bin) {
    RETURN_IF_ERROR(WriteFileAtomic(pause_rootfs_ + "/pause", pause_bin, 0755));
  }
  auto ver = Run({opts_.runc, "--version"}, {.timeout = milliseconds(10000)});
  if (ver.ok() && ver->success()) {
    auto first = Split(ver->out, '\n')[0];  // "runc version 1.1.5+ds1"
    auto pos = first.rfind(' ');
    runc_version_ = pos == std::string::npos ? first : first.substr(pos + 1);
  }
  ASSIGN_OR_RETURN(images_, glue::NewImageStore(opts_));
  ASSIGN_OR_RETURN(cni_, glue::NewCniNetwork(opts_));

  inotify_fd_ = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (inotify_fd_ < 0) return ErrnoError("inotify_init1");
  if (::inotify_add_watch(inotify_fd_, exits_dir_.c_str(), IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
    return ErrnoError("inotify_add_watch " + exits_dir_);
  }
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  LoadState();
  watcher_ = std::thread([this] { WatchExits(); });
  // Sandboxes the earlier nanolet left half made or whose pause container died: stop them now (their pause
  // container, containers and network), as the kubelet would before replacing them, so that no pause
  // container or pod IP of a sandbox nobody will use again outlives the restart. The kubelet removes them.
  std::vector<std::string> dead;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& [id, rec] : sandboxes_) {
      if (rec->status.state != SandboxState::kReady && !rec->stopped) dead.push_back(id);
    }
  }
  for (const auto& id : dead) {
    log::Info("stopping pod sandbox that is not ready after a restart", {{"sandbox", id}});
    if (auto r = StopPodSandbox(id); !r.ok()) {
      log::Warn("stop pod sandbox", {{"sandbox", id}, {"error", r.error().message()}});
    }
  }
  return Ok();
}

OciRuntime::~OciRuntime() {
  if (wake_fd_ >= 0) {
    uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof one);
  }
  if (watcher_.joinable()) watcher_.join();
  std::vector<std::shared_ptr<SandboxRecord>> all;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& [id, rec] : sandboxes_) all.push_back(rec);
  }
  for (const auto& rec : all) JoinNetwork(*rec);
  if (inotify_fd_ >= 0) ::close(inotify_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

Result<void> OciRuntime::RuncUsable() const {
  if (opts_.runc.find('/') == std::string::npos || ::access(opts_.runc.c_str(), X_OK) != 0) {
    return Error("OCI runtime " + (opts_.runc == "runc" ? std::string("runc (not on PATH)") : opts_.runc) +
                 " not found or not executable; install Debian's runc or pass --container-runtime-binary");
  }
  return Ok();
}

std::vector<std::string> OciRuntime::Runc(std::vector<std::string> args) const {
  args.insert(args.begin(), {opts_.runc, "--root", runc_root_});
  return args;
}

std::string OciRuntime::PodCgroup(const std::string& pod_uid) const { return opts_.cgroup_parent + "/pod" + pod_uid; }

Result<void> OciRuntime::SaveSandbox(SandboxRecord& s) {
  // The CNI thread and the pod's caller both save: snapshot and write under save_mu so that the last file
  // written holds the latest state.
  std::lock_guard<std::mutex> order(s.save_mu);
  std::string data;
  {
    std::lock_guard<std::mutex> l(mu_);
    // replace: a label or annotation with invalid UTF-8 must not throw (here on the CNI thread: terminate).
    data = SandboxToJson(s).dump(-1, ' ', false, json::error_handler_t::replace);
  }
  Changed();
  return WriteFileAtomic(s.dir + "/meta.json", data);
}
Result<void> OciRuntime::SaveContainer(const ContainerRecord& c) {
  Changed();
  return WriteFileAtomic(c.dir + "/meta.json",
                         ContainerToJson(c).dump(-1, ' ', false, json::error_handler_t::replace));
}

namespace oci_recovery_detail {

// What the processes an earlier nanolet left behind tell about our state (one pass over /proc). Nothing
// stops them when nanolet is SIGKILLed: a monitor's `runc run`, a `runc delete`, a CNI plugin may still be
// changing runc state, mounts and IPAM after the new nanolet started.
struct ProcScan {
  bool in_flight = false;          // runc on our --root, a monitor not yet a daemon, a CNI plugin on our netns dir
  std::string example;             // the first such command line, for the log
  std::set<std::string> monitors;  // IDs whose monitor daemon is alive (it writes the exit file later)
};

ProcScan ScanProcesses(const std::string& runc_root, const std::string& netns_dir) {
  ProcScan out;
  auto pids = ListDir("/proc");
  if (!pids.ok()) return out;
  const std::string self = std::to_string(::getpid());
  const std::string cni_env = "CNI_NETNS=" + netns_dir + "/";
  for (const auto& pid : *pids) {
    auto digit = [](char ch) { return ch >= '0' && ch <= '9'; };
    if (pid.empty() || pid == self || !std::all_of(pid.begin(), pid.end(), digit)) continue;
    auto cmd = ReadFile("/proc/" + pid + "/cmdline", 65536);
    if (!cmd.ok() || cmd->empty()) continue;  // kernel threads, zombies, gone
    std::vector<std::string> argv = Split(*cmd, '\0');
    auto arg_after = [&](std::string_view flag) -> std::string {
      for (size_t i = 0; i + 1 < argv.size(); ++i) {
        if (argv[i] == flag) return argv[i + 1];
      }
      return "";
    };
    bool flight = false;
    if (EndsWith(argv[0], "nanolet-monitor")) {
      if (arg_after("--runc-root") != runc_root) continue;
      // The daemon is a session leader; the process nanolet started waits for its report and is not.
      auto stat = ReadFile("/proc/" + pid + "/stat", 4096);
      std::vector<std::string> f;
      if (stat.ok() && stat->rfind(')') != std::string::npos) f = Split(stat->substr(stat->rfind(')') + 2), ' ');
      if (f.size() > 3 && f[3] == pid) {
        out.monitors.insert(arg_after("--id"));
      } else {
        flight = true;
      }
    } else if (arg_after("--root") == runc_root) {
      flight = true;  // runc run/create/start/kill/delete/exec on our containers
    } else if (auto env = ReadFile("/proc/" + pid + "/environ", 65536);
               env.ok() && env->find(cni_env) != std::string::npos) {
      flight = true;  // a CNI plugin (ADD or DEL) on one of our namespaces
    }
    if (flight && !out.in_flight) {
      out.in_flight = true;
      std::string line = *cmd;
      std::replace(line.begin(), line.end(), '\0', ' ');
      out.example = pid + ": " + line.substr(0, 200);
    }
  }
  return out;
}

struct RuncEntry {
  std::string status;  // created, running, stopped, paused
  int64_t pid = 0;
};

TimePoint FileMtime(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return TimePoint{};
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(std::chrono::seconds(st.st_mtim.tv_sec) +
                                                                   std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
}

// Waits (at most 30 s) until no process of an earlier nanolet is still changing our state, then returns
// what runc (`runc_list`: the runc command line of `list -f json`) knows of our containers; nullopt when runc
// could not be asked. `live_monitors` gets the IDs whose monitor daemon is alive.
std::optional<std::map<std::string, RuncEntry>> SettleAndListRunc(const std::string& runc_root,
                                                                 const std::string& netns_dir,
                                                                 const std::vector<std::string>& runc_list,
                                                                 std::set<std::string>& live_monitors) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  ProcScan scan = ScanProcesses(runc_root, netns_dir);
  if (scan.in_flight) log::Info("waiting for operations of the previous nanolet", {{"process", scan.example}});
  while (scan.in_flight && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(20));  // polling other processes' exit: nothing to wait on
    scan = ScanProcesses(runc_root, netns_dir);
  }
  if (scan.in_flight) log::Warn("previous nanolet's operations still running", {{"process", scan.example}});
  live_monitors = std::move(scan.monitors);
  auto r = Run(runc_list, {.timeout = milliseconds(20000)});
  if (!r.ok() || !r->success()) return std::nullopt;
  std::map<std::string, RuncEntry> out;
  try {
    auto j = json::parse(r->out);
    if (j.is_array()) {
      for (const auto& e : j) out[e.value("id", "")] = {e.value("status", ""), e.value("pid", int64_t{0})};
    }
  } catch (const std::exception&) {
    return std::nullopt;
  }
  return out;
}

}  // namespace oci_recovery_detail

// Adopts what an earlier nanolet left: records from meta.json, reconciled with runc (a container the
// earlier nanolet saved as "created" may have been started by its monitor since, or never run at all);
// containers whose exit file appeared while we were away are reported exited; running ones keep running
// untouched. Containers that never ran are removed: nothing of them is worth reporting, and the next
// attempt keeps their restart count.
void OciRuntime::LoadState() {
  std::set<std::string> live_monitors;
  std::optional<std::map<std::string, oci_recovery_detail::RuncEntry>> runc_state;
  if (RuncUsable().ok()) {
    runc_state = oci_recovery_detail::SettleAndListRunc(runc_root_, netns_dir_, Runc({"list", "-f", "json"}),
                                                        live_monitors);
  }
  std::vector<std::string> never_ran;
  std::lock_guard<std::mutex> l(mu_);
  if (auto names = ListDir(state_dir_ + "/sandboxes"); names.ok()) {
    for (const auto& id : *names) {
      std::string dir = state_dir_ + "/sandboxes/" + id;
      auto data = ReadFile(dir + "/meta.json");
      if (!data.ok()) {
        log::Warn("sandbox state without meta.json: removing", {{"sandbox", id}});
        (void)RemoveAll(dir);
        continue;
      }
      auto rec = std::make_shared<SandboxRecord>();
      try {
        SandboxFromJson(json::parse(*data), *rec);
      } catch (const std::exception& e) {
        log::Warn("unreadable sandbox state", {{"sandbox", id}, {"error", e.what()}});
        continue;
      }
      rec->dir = dir;
      if (runc_state) {
        // The pause container may have started after the earlier nanolet last saved (pausePid 0).
        if (auto rs = runc_state->find(id); rs != runc_state->end() && rs->second.status == "running" &&
                                            rs->second.pid > 0) {
          rec->pause_pid = rs->second.pid;
        }
      }
      bool alive = ProcessAlive(rec->pause_pid) && !PathExists(exits_dir_ + "/" + id + ".json");
      if (rec->network_pending) {
        // The earlier nanolet died during CNI ADD: the pod IP is unknown. NotReady makes the kubelet replace
        // the sandbox; DEL (idempotent) at teardown releases whatever ADD had allocated.
        rec->network_pending = false;
        rec->network_set_up = true;
        rec->network_error = "network setup interrupted by a restart of nanolet";
        rec->status.network_error = rec->network_error;
        alive = false;
      }
      rec->status.state = alive && !rec->stopped ? SandboxState::kReady : SandboxState::kNotReady;
      sandboxes_[id] = rec;
    }
  }
  if (auto names = ListDir(state_dir_ + "/containers"); names.ok()) {
    for (const auto& id : *names) {
      std::string dir = state_dir_ + "/containers/" + id;
      auto data = ReadFile(dir + "/meta.json");
      if (!data.ok()) {
        // Died between mkdir and the first save: nothing ran. Clean up.
        ::umount2((dir + "/rootfs").c_str(), MNT_DETACH);
        (void)RemoveAll(dir);
        continue;
      }
      auto rec = std::make_shared<ContainerRecord>();
      try {
        ContainerFromJson(json::parse(*data), *rec);
      } catch (const std::exception& e) {
        log::Warn("unreadable container state", {{"container", id}, {"error", e.what()}});
        continue;
      }
      rec->dir = dir;
      if (rec->status.state == ContainerState::kCreated && runc_state) {
        // Saved before its process started: did the monitor's `runc run` (or a `runc start`) go through?
        // runc removes exec.fifo when the process is started; a created or stopped container that still has
        // it never ran.
        auto rs = runc_state->find(id);
        bool started = rs != runc_state->end() && rs->second.status != "created" &&
                       !PathExists(runc_root_ + "/" + id + "/exec.fifo");
        if (started) {
          rec->status.state = ContainerState::kRunning;
          if (rs->second.pid > 0) rec->status.pid = rs->second.pid;
          if (rec->status.started_at == TimePoint{}) {
            rec->status.started_at = oci_recovery_detail::FileMtime(dir + "/pid");
            if (rec->status.started_at == TimePoint{}) rec->status.started_at = std::chrono::system_clock::now();
          }
          log::Info("adopting container started after the last save", {{"container", id}});
          (void)SaveContainer(*rec);
        } else if (rs != runc_state->end() || !PathExists(exits_dir_ + "/" + id + ".json")) {
          never_ran.push_back(id);
        }
      }
      containers_[id] = rec;
    }
  }
  for (const auto& id : never_ran) containers_.erase(id);
  // Exit files that appeared meanwhile.
  std::vector<std::string> exited;
  for (const auto& [id, rec] : containers_) {
    if (rec->status.state != ContainerState::kExited && PathExists(exits_dir_ + "/" + id + ".json")) {
      exited.push_back(id);
    } else if (rec->status.state == ContainerState::kRunning && !ProcessAlive(rec->status.pid) &&
               !live_monitors.count(id) && !PathExists(exits_dir_ + "/" + id + ".json")) {
      // Its monitor died too (e.g. a reboot): the exit status is lost.
      rec->status.state = ContainerState::kExited;
      rec->status.exit_code = 255;
      rec->status.reason = "Error";
      rec->status.message = "container exit status unknown: its monitor was gone";
      rec->status.finished_at = std::chrono::system_clock::now();
      (void)SaveContainer(*rec);
    }
  }
  mu_.unlock();
  for (const auto& id : exited) OnExitFile(id);
  for (const auto& id : never_ran) {
    // Its monitor (if any) writes an exit file once runc delete killed the waiting init: OnExitFile drops it.
    log::Info("removing container that never started (nanolet was restarted before it started)",
              {{"container", id}});
    (void)Run(Runc({"delete", "--force", id}), {.timeout = milliseconds(10000)});
    if (auto r = CleanupContainerFiles(id); !r.ok()) {
      log::Warn("remove container files", {{"container", id}, {"error", r.error().message()}});
    }
  }
  mu_.lock();
  log::Info("runtime state loaded", {{"sandboxes", std::to_string(sandboxes_.size())},
                                     {"containers", std::to_string(containers_.size())}});
}

void OciRuntime::WatchExits() {
  alignas(inotify_event) char buf[8192];
  for (;;) {
    pollfd fds[2] = {{inotify_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents) return;
    ssize_t n = ::read(inotify_fd_, buf, sizeof buf);
    if (n <= 0) continue;
    for (char* p = buf; p < buf + n;) {
      auto* ev = reinterpret_cast<inotify_event*>(p);
      p += sizeof(inotify_event) + ev->len;
      if (!ev->len) continue;
      std::string name(ev->name);
      if (!EndsWith(name, ".json")) continue;
      OnExitFile(name.substr(0, name.size() - 5));
    }
  }
}

void OciRuntime::OnExitFile(const std::string& id) {
  auto data = ReadFile(exits_dir_ + "/" + id + ".json", 65536);
  if (!data.ok()) return;
  int exit_code = 255, sig = 0;
  TimePoint finished = std::chrono::system_clock::now();
  try {
    auto j = json::parse(*data);
    exit_code = j.value("exitCode", 255);
    sig = j.value("signal", 0);
    if (auto t = ParseRFC3339(j.value("finishedAt", "")); t.ok()) finished = *t;
  } catch (const std::exception&) {
  }
  ContainerEvent ev;
  std::function<void(const ContainerEvent&)> handler;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (auto sit = sandboxes_.find(id); sit != sandboxes_.end()) {
      sit->second->status.state = SandboxState::kNotReady;
      Changed();
      exit_cv_.notify_all();
      ev = {ContainerEvent::Type::kExited, id, id, sit->second->status.pod_uid, finished};
      handler = handler_;
    } else {
      auto it = containers_.find(id);
      if (it == containers_.end()) {
        // Nothing of ours (records exist before their monitor starts): the exit of a container removed
        // before its process ended, e.g. one that never started after a restart of nanolet.
        (void)::unlink((exits_dir_ + "/" + id + ".json").c_str());
        return;
      }
      auto& rec = *it->second;
      if (rec.exit_seen) return;
      rec.exit_seen = true;
      if (rec.status.state != ContainerState::kExited) {
        rec.status.state = ContainerState::kExited;
        rec.status.exit_code = exit_code;
        rec.status.signal = sig;
        rec.status.finished_at = finished;
        bool oom = OomKills(PodCgroup(rec.pod_uid) + "/" + id) > 0;
        rec.status.reason = oom ? "OOMKilled" : exit_code == 0 ? "Completed" : "Error";
        (void)SaveContainer(rec);
      }
      exit_cv_.notify_all();
      ev = {ContainerEvent::Type::kExited, id, rec.status.sandbox_id, rec.pod_uid, finished};
      handler = handler_;
    }
  }
  if (handler) handler(ev);
}

bool OciRuntime::WaitExit(const std::string& id, std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> l(mu_);
  auto done = [&] {
    if (auto it = containers_.find(id); it != containers_.end()) {
      return it->second->status.state == ContainerState::kExited;
    }
    if (auto it = sandboxes_.find(id); it != sandboxes_.end()) {
      return PathExists(exits_dir_ + "/" + id + ".json");
    }
    return true;
  };
  return exit_cv_.wait_until(l, deadline, done);
}

Result<void> OciRuntime::KillAndWait(const std::string& id, int signal, milliseconds grace) {
  auto deadline = std::chrono::steady_clock::now() + grace;
  if (signal != SIGKILL) {
    auto r = Run(Runc({"kill", id, std::to_string(signal)}), {.timeout = milliseconds(10000)});
    if (r.ok() && r->success() && WaitExit(id, deadline)) return Ok();
  }
  if (WaitExit(id, std::chrono::steady_clock::now())) return Ok();
  auto r = Run(Runc({"kill", id, "KILL"}), {.timeout = milliseconds(10000)});
  // "container not running" means it is already gone.
  if (WaitExit(id, std::chrono::steady_clock::now() + std::chrono::seconds(10))) return Ok();
  if (r.ok() && !r->success()) return Error("runc kill " + id + ": " + r->Describe());
  return Error("container " + id + " did not exit after SIGKILL", ErrorCode::kTimeout);
}

Result<VersionInfo> OciRuntime::Version() { return VersionInfo{"runc", runc_version_}; }

// ---- sandboxes ----

Result<std::string> OciRuntime::RunPodSandbox(const SandboxConfig& config) {
  RETURN_IF_ERROR_CTX(RuncUsable(), "run pod sandbox for " + config.pod_namespace + "/" + config.pod_name);
  std::string id = NewId();
  auto rec = std::make_shared<SandboxRecord>();
  rec->dir = state_dir_ + "/sandboxes/" + id;
  rec->config = config;
  rec->status.id = id;
  rec->status.pod_uid = config.pod_uid;
  rec->status.pod_name = config.pod_name;
  rec->status.pod_namespace = config.pod_namespace;
  rec->status.attempt = config.attempt;
  rec->status.labels = config.labels;
  rec->status.annotations = config.annotations;
  rec->status.created_at = std::chrono::system_clock::now();
  std::string ctx = "run pod sandbox for " + config.pod_namespace + "/" + config.pod_name;
  RETURN_IF_ERROR_CTX(MkdirAll(rec->dir + "/bundle"), ctx);
  {
    std::lock_guard<std::mutex> l(mu_);
    sandboxes_[id] = rec;
  }
  auto fail = [&](Error e) -> Result<std::string> {
    (void)CleanupSandbox(*rec);
    std::lock_guard<std::mutex> l(mu_);
    sandboxes_.erase(id);
    Changed();
    return std::move(e).Wrap(ctx);
  };
  RETURN_IF_ERROR_CTX(SaveSandbox(*rec), ctx);

  // Namespaces first (nanolet's own bind-mounted files), so CNI ADD and the pause container overlap.
  auto ns = glue::CreateNamespaces(netns_dir_, id, config);
  if (!ns.ok()) return fail(std::move(ns).error());
  rec->ns = *ns;
  rec->ns.pid = config.host_pid ? "host" : "";
  rec->status.network_namespace_path = config.host_network ? "" : rec->ns.network;
  (void)SaveSandbox(*rec);

  // Pod-level files shared by every container. /etc/hosts gets its pod IP line when CNI ADD returns,
  // written in place (containers bind-mount the file) before any container process starts.
  std::string hostname = config.hostname.empty() ? config.pod_name : config.hostname;
  (void)WriteFile(rec->dir + "/hostname", hostname + "\n");
  std::string resolv;
  if (config.dns.servers.empty()) {
    if (auto host = ReadFile("/etc/resolv.conf"); host.ok()) resolv = std::move(*host);
  } else {
    for (const auto& s : config.dns.servers) resolv += "nameserver " + s + "\n";
    if (!config.dns.searches.empty()) resolv += "search " + Join(config.dns.searches, " ") + "\n";
    if (!config.dns.options.empty()) resolv += "options " + Join(config.dns.options, " ") + "\n";
  }
  (void)WriteFile(rec->dir + "/resolv.conf", resolv);
  (void)WriteFile(rec->dir + "/hosts", HostsFile(config, hostname, ""));
  RETURN_IF_ERROR(MkdirAll(rec->dir + "/shm", 01777));
  if (::mount("shm", (rec->dir + "/shm").c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              "mode=1777,size=65536k") != 0) {
    return fail(ErrnoError("mount pod /dev/shm"));
  }
  if (!config.log_directory.empty()) (void)MkdirAll(config.log_directory, 0755);

  // CNI ADD on its own thread, in parallel with the pause container and, after we return, with the creation
  // of the app containers (DESIGN.md, "The fast path").
  if (!config.host_network) {
    {
      std::lock_guard<std::mutex> l(mu_);
      rec->network_pending = true;
      rec->status.network_pending = true;
    }
    if (auto saved = SaveSandbox(*rec); !saved.ok()) return fail(saved.error());
    std::lock_guard<std::mutex> j(rec->join_mu);
    rec->cni_thread = std::thread([this, rec, hostname] { SetUpNetworkAsync(rec, hostname); });
  }
  Result<void> pause = Ok();
  {
    NamespacePaths pns = rec->ns;
    json spec = BuildSandboxSpec(pause_rootfs_, pns, PodCgroup(config.pod_uid) + "/" + id, hostname);
    pause = WriteFile(rec->dir + "/bundle/config.json", spec.dump());
    if (pause.ok()) {
      auto mon = Run({opts_.monitor_path, "--runc", opts_.runc, "--runc-root", runc_root_, "--id", id,
                      "--bundle", rec->dir + "/bundle", "--log", rec->dir + "/pause.log", "--exit-file",
                      exits_dir_ + "/" + id + ".json", "--pid-file", rec->dir + "/pause.pid", "--start"},
                     {.timeout = milliseconds(60000)});
      if (!mon.ok()) {
        pause = std::move(mon).error();
      } else if (!mon->success()) {
        pause = Error("run pause container: " + mon->Describe());
      } else {
        std::lock_guard<std::mutex> l(mu_);  // the CNI thread may be saving the record
        rec->pause_pid = std::atoll(mon->out.c_str());
      }
    }
  }
  if (!pause.ok()) {
    JoinNetwork(*rec);
    return fail(std::move(pause).error());
  }
  if (config.wait_for_network) {
    if (auto up = WaitNetwork(*rec); !up.ok()) {
      JoinNetwork(*rec);
      return fail(std::move(up).error());
    }
  }
  std::string early_error;
  {
    std::lock_guard<std::mutex> l(mu_);
    early_error = rec->network_error;
    if (early_error.empty()) rec->status.state = SandboxState::kReady;
  }
  if (!early_error.empty()) {
    // CNI ADD failed before the pause container ran: fail the whole sandbox now.
    JoinNetwork(*rec);
    return fail(Error("set up pod network: " + early_error, ErrorCode::kUnavailable));
  }
  RETURN_IF_ERROR_CTX(SaveSandbox(*rec), ctx);
  log::V(2, "sandbox running", {{"pod", config.pod_namespace + "/" + config.pod_name}, {"sandbox", id}});
  return id;
}

void OciRuntime::SetUpNetworkAsync(const std::shared_ptr<SandboxRecord>& rec, const std::string& hostname) {
  const std::string& id = rec->status.id;
  auto net = glue::SetUpNetwork(*cni_, id, rec->ns.network, rec->config);
  if (net.ok()) {
    std::string ip = net->ips.empty() ? "" : net->ips[0];
    (void)WriteFile(rec->dir + "/hosts", HostsFile(rec->config, hostname, ip));
  }
  std::function<void(const ContainerEvent&)> handler;
  {
    std::lock_guard<std::mutex> l(mu_);
    rec->network_pending = false;
    rec->status.network_pending = false;
    if (net.ok()) {
      rec->network_set_up = true;
      rec->status.ip = net->ips.empty() ? "" : net->ips[0];
      rec->status.ips = net->ips;
    } else {
      rec->network_error = net.error().message();
      rec->status.network_error = rec->network_error;
      rec->status.state = SandboxState::kNotReady;
    }
    handler = handler_;
  }
  (void)SaveSandbox(*rec);
  net_cv_.notify_all();
  if (net.ok()) {
    log::V(2, "sandbox network ready", {{"pod", rec->config.pod_namespace + "/" + rec->config.pod_name},
                                        {"sandbox", id}, {"ip", rec->status.ip}});
  } else {
    log::Error("failed to set up pod network", {{"pod", rec->config.pod_namespace + "/" + rec->config.pod_name},
                                                {"sandbox", id}, {"error", net.error().message()}});
  }
  if (handler) {
    handler({ContainerEvent::Type::kSandboxNetwork, id, id, rec->status.pod_uid, std::chrono::system_clock::now()});
  }
}

Result<void> OciRuntime::WaitNetwork(SandboxRecord& rec) {
  std::unique_lock<std::mutex> l(mu_);
  net_cv_.wait(l, [&] { return !rec.network_pending; });
  if (!rec.network_error.empty()) {
    return Error("set up pod network: " + rec.network_error, ErrorCode::kUnavailable);
  }
  return Ok();
}

void OciRuntime::JoinNetwork(SandboxRecord& rec) {
  std::lock_guard<std::mutex> j(rec.join_mu);
  if (rec.cni_thread.joinable()) rec.cni_thread.join();
}

Result<void> OciRuntime::StopPodSandbox(const std::string& sandbox_id) {
  std::shared_ptr<SandboxRecord> rec;
  std::vector<std::string> members;
  bool was_stopped = false;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = sandboxes_.find(sandbox_id);
    if (it == sandboxes_.end()) return Ok();
    rec = it->second;
    was_stopped = rec->stopped;
    for (const auto& [cid, c] : containers_) {
      if (c->status.sandbox_id == sandbox_id && c->status.state != ContainerState::kExited) members.push_back(cid);
    }
  }
  if (members.empty() && was_stopped && !ProcessAlive(rec->pause_pid)) return Ok();  // stopped before
  for (const auto& cid : members) {
    auto r = StopContainer(cid, milliseconds(0));
    if (!r.ok()) log::Warn("stop container in sandbox", {{"container", cid}, {"error", r.error().message()}});
  }
  JoinNetwork(*rec);  // a CNI ADD in flight ends before DEL
  if (ProcessAlive(rec->pause_pid)) RETURN_IF_ERROR(KillAndWait(sandbox_id, SIGKILL, milliseconds(0)));
  if (rec->network_set_up) {
    RETURN_IF_ERROR_CTX(glue::TearDownNetwork(*cni_, sandbox_id, rec->ns.network, rec->config),
                        "stop pod sandbox " + sandbox_id);
    rec->network_set_up = false;
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    rec->stopped = true;
    rec->status.state = SandboxState::kNotReady;
  }
  return SaveSandbox(*rec);
}

Result<void> OciRuntime::CleanupSandbox(SandboxRecord& s) {
  const std::string& id = s.status.id;
  JoinNetwork(s);
  if (ProcessAlive(s.pause_pid)) (void)KillAndWait(id, SIGKILL, milliseconds(0));
  (void)Run(Runc({"delete", "--force", id}), {.timeout = milliseconds(10000)});
  if (s.network_set_up) {
    RETURN_IF_ERROR(glue::TearDownNetwork(*cni_, id, s.ns.network, s.config));
    s.network_set_up = false;
  }
  RETURN_IF_ERROR(glue::RemoveNamespaces(netns_dir_, id));
  ::umount2((s.dir + "/shm").c_str(), MNT_DETACH);
  (void)::unlink((exits_dir_ + "/" + id + ".json").c_str());
  RETURN_IF_ERROR(RemoveAll(s.dir));
  // The pod cgroup, when no other sandbox of the pod is left.
  bool last = true;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& [sid, other] : sandboxes_) {
      if (sid != id && other->status.pod_uid == s.status.pod_uid) last = false;
    }
  }
  if (last) {
    for (const char* ctrl : kCgroupControllers) {
      std::string base = std::string("/sys/fs/cgroup/") + ctrl + PodCgroup(s.status.pod_uid);
      if (auto kids = ListDir(base); kids.ok()) {
        for (const auto& k : *kids) ::rmdir((base + "/" + k).c_str());
      }
      ::rmdir(base.c_str());
    }
    std::string v2 = "/sys/fs/cgroup" + PodCgroup(s.status.pod_uid);
    ::rmdir(v2.c_str());
  }
  return Ok();
}

Result<void> OciRuntime::RemovePodSandbox(const std::string& sandbox_id) {
  std::shared_ptr<SandboxRecord> rec;
  std::vector<std::string> members;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = sandboxes_.find(sandbox_id);
    if (it == sandboxes_.end()) return Ok();
    rec = it->second;
    for (const auto& [cid, c] : containers_) {
      if (c->status.sandbox_id == sandbox_id) members.push_back(cid);
    }
  }
  for (const auto& cid : members) {
    auto st = GetContainerStatus(cid);
    if (st.ok() && st->state != ContainerState::kExited) (void)StopContainer(cid, milliseconds(0));
    RETURN_IF_ERROR_CTX(RemoveContainer(cid), "remove pod sandbox " + sandbox_id);
  }
  RETURN_IF_ERROR_CTX(CleanupSandbox(*rec), "remove pod sandbox " + sandbox_id);
  std::lock_guard<std::mutex> l(mu_);
  sandboxes_.erase(sandbox_id);
  Changed();
  return Ok();
}

Result<SandboxStatus> OciRuntime::PodSandboxStatus(const std::string& sandbox_id) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = sandboxes_.find(sandbox_id);
  if (it == sandboxes_.end()) return NotFound("pod sandbox " + sandbox_id + " not found");
  return it->second->status;
}

Result<std::vector<SandboxStatus>> OciRuntime::ListPodSandboxes() {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<SandboxStatus> out;
  out.reserve(sandboxes_.size());
  for (const auto& [id, s] : sandboxes_) out.push_back(s->status);
  return out;
}

// ---- containers ----

Result<std::string> OciRuntime::CreateContainer(const std::string& sandbox_id, const ContainerConfig& config,
                                                const SandboxConfig& sandbox_config) {
  std::string ctx = "create container \"" + config.name + "\"";
  std::shared_ptr<SandboxRecord> sb;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = sandboxes_.find(sandbox_id);
    if (it == sandboxes_.end()) return NotFound(ctx + ": pod sandbox " + sandbox_id + " not found");
    sb = it->second;
  }
  RETURN_IF_ERROR_CTX(RuncUsable(), ctx);
  ASSIGN_OR_RETURN_CTX(glue::ResolvedImage image, glue::ResolveImage(*images_, config.image), ctx);

  std::string id = NewId();
  auto rec = std::make_shared<ContainerRecord>();
  rec->dir = state_dir_ + "/containers/" + id;
  rec->pod_uid = sb->status.pod_uid;
  rec->stop_signal = image.config.stop_signal;
  auto& st = rec->status;
  st.id = id;
  st.sandbox_id = sandbox_id;
  st.name = config.name;
  st.attempt = config.attempt;
  st.state = ContainerState::kCreated;
  st.created_at = std::chrono::system_clock::now();
  st.image = config.image;
  st.image_id = image.image_id;
  st.labels = config.labels;
  st.annotations = config.annotations;
  std::string log_dir = sb->config.log_directory.empty() ? sandbox_config.log_directory : sb->config.log_directory;
  st.log_path = config.log_path.empty() || log_dir.empty() ? "" : JoinPath(log_dir, config.log_path);

  std::string rootfs = rec->dir + "/rootfs";
  for (const auto& d : {rootfs, rec->dir + "/upper", rec->dir + "/work"}) RETURN_IF_ERROR_CTX(MkdirAll(d), ctx);
  auto cleanup = [&](Error e) -> Result<std::string> {
    if (rec->rootfs_mounted) ::umount2(rootfs.c_str(), MNT_DETACH);
    (void)RemoveAll(rec->dir);
    return std::move(e).Wrap(ctx);
  };
  // Overlay: lowerdir lists the top layer first.
  std::string opts = "lowerdir=" + Join(image.layers_top_first, ":") + ",upperdir=" + rec->dir + "/upper" +
                     ",workdir=" + rec->dir + "/work";
  if (image.layers_top_first.empty()) return cleanup(Error("image " + config.image + " has no layers"));
  if (::mount("overlay", rootfs.c_str(), "overlay", 0, opts.c_str()) != 0) {
    return cleanup(ErrnoError("mount overlay rootfs"));
  }
  rec->rootfs_mounted = true;
  if (!st.log_path.empty()) {
    auto slash = st.log_path.find_last_of('/');
    (void)MkdirAll(st.log_path.substr(0, slash), 0755);
  }

  ContainerSpecInput in;
  in.rootfs = rootfs;
  in.ns = sb->ns;
  if (sandbox_config.share_process_namespace && !sandbox_config.host_pid) {
    in.ns.pid = "/proc/" + std::to_string(sb->pause_pid) + "/ns/pid";
  }
  in.shm_path = sandbox_config.host_ipc ? "" : sb->dir + "/shm";
  in.hosts_path = sb->dir + "/hosts";
  in.resolv_path = sb->dir + "/resolv.conf";
  in.hostname_path = sb->dir + "/hostname";
  in.hostname = sb->config.hostname.empty() ? sb->status.pod_name : sb->config.hostname;
  in.cgroups_path = PodCgroup(rec->pod_uid) + "/" + id;
  in.supplemental_groups = sandbox_config.supplemental_groups;
  auto spec = BuildContainerSpec(config, image.config, in);
  if (!spec.ok()) return cleanup(std::move(spec).error());
  if (auto w = WriteFile(rec->dir + "/config.json", spec->dump()); !w.ok()) return cleanup(w.error());
  if (auto s = SaveContainer(*rec); !s.ok()) return cleanup(s.error());
  {
    std::lock_guard<std::mutex> l(mu_);
    containers_[id] = rec;
    Changed();
  }
  // runc runs at StartContainer (`runc run --detach` under the monitor: one runc process, not create + start),
  // as containerd creates the task at start. The record stays "created" with no process until then.
  return id;
}

Result<void> OciRuntime::StartContainer(const std::string& container_id) {
  std::shared_ptr<ContainerRecord> rec;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = containers_.find(container_id);
    if (it == containers_.end()) return NotFound("container " + container_id + " not found");
    rec = it->second;
  }
  std::string ctx = "start container \"" + rec->status.name + "\"";
  RETURN_IF_ERROR_CTX(RuncUsable(), ctx);
  std::shared_ptr<SandboxRecord> sb;
  bool network_pending = false;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (auto it = sandboxes_.find(rec->status.sandbox_id); it != sandboxes_.end()) {
      sb = it->second;
      if (!sb->network_error.empty()) {
        return Error(ctx + ": set up pod network: " + sb->network_error, ErrorCode::kUnavailable);
      }
      network_pending = sb->network_pending;
    }
  }
  if (rec->status.pid == 0) {
    // The monitor runs `runc run --detach` and reports the container's PID once it runs. While the pod's
    // CNI ADD is still in flight it runs `runc create` instead (the costly part: namespaces joined, rootfs
    // and cgroup set up), the network is awaited, and `runc start` lets the process run: no container
    // process ever runs without the pod network.
    std::string log_path = rec->status.log_path.empty() ? "/dev/null" : rec->status.log_path;
    std::vector<std::string> argv = {opts_.monitor_path, "--runc", opts_.runc, "--runc-root", runc_root_,
                                     "--id", container_id, "--bundle", rec->dir, "--log", log_path,
                                     "--exit-file", exits_dir_ + "/" + container_id + ".json",
                                     "--pid-file", rec->dir + "/pid",
                                     "--log-max-size", std::to_string(opts_.log_max_size),
                                     "--log-max-files", std::to_string(opts_.log_max_files)};
    if (!network_pending) argv.push_back("--start");
    auto mon = Run(argv, {.timeout = milliseconds(60000)});
    if (!mon.ok()) return std::move(mon).error().Wrap(ctx);
    if (!mon->success()) {
      (void)Run(Runc({"delete", "--force", container_id}), {.timeout = milliseconds(10000)});
      return Error(ctx + (network_pending ? ": runc create: " : ": runc run: ") + mon->Describe());
    }
    {
      std::lock_guard<std::mutex> l(mu_);
      rec->status.pid = std::atoll(mon->out.c_str());
    }
    if (network_pending) {
      (void)SaveContainer(*rec);
      if (auto up = WaitNetwork(*sb); !up.ok()) {
        (void)KillAndWait(container_id, SIGKILL, milliseconds(0));
        return std::move(up).error().Wrap(ctx);
      }
      auto r = Run(Runc({"start", container_id}), {.timeout = milliseconds(30000)});
      if (!r.ok()) return std::move(r).error().Wrap(ctx);
      if (!r->success()) return Error(ctx + ": runc start: " + r->Describe());
    }
  } else {
    // Its process was started before (a container is started once; recovery removes the ones an earlier
    // nanolet created and never started).
    return Error(ctx + ": already started", ErrorCode::kAlreadyExists);
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    if (rec->status.state == ContainerState::kCreated) rec->status.state = ContainerState::kRunning;
    rec->status.started_at = std::chrono::system_clock::now();
  }
  (void)SaveContainer(*rec);
  std::function<void(const ContainerEvent&)> handler;
  {
    std::lock_guard<std::mutex> l(mu_);
    handler = handler_;
  }
  if (handler) {
    handler({ContainerEvent::Type::kStarted, container_id, rec->status.sandbox_id, rec->pod_uid,
             rec->status.started_at});
  }
  return Ok();
}

Result<void> OciRuntime::StopContainer(const std::string& container_id, milliseconds grace) {
  std::shared_ptr<ContainerRecord> rec;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = containers_.find(container_id);
    if (it == containers_.end()) return Ok();
    rec = it->second;
    if (rec->status.state == ContainerState::kExited) return Ok();
  }
  int sig = rec->stop_signal.empty() ? SIGTERM : ParseSignal(rec->stop_signal);
  if (sig == 0) sig = SIGTERM;
  if (grace.count() <= 0) sig = SIGKILL;
  if (rec->status.state == ContainerState::kCreated && !ProcessAlive(rec->status.pid)) return Ok();
  return KillAndWait(container_id, sig, grace).ok()
             ? Ok()
             : KillAndWait(container_id, SIGKILL, milliseconds(0));
}

Result<void> OciRuntime::CleanupContainerFiles(const std::string& id) {
  std::string dir = state_dir_ + "/containers/" + id;
  if (::umount2((dir + "/rootfs").c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
    return ErrnoError("unmount rootfs of " + id);
  }
  (void)::unlink((exits_dir_ + "/" + id + ".json").c_str());
  return RemoveAll(dir);
}

Result<void> OciRuntime::RemoveContainer(const std::string& container_id) {
  std::shared_ptr<ContainerRecord> rec;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = containers_.find(container_id);
    if (it == containers_.end()) return Ok();
    rec = it->second;
  }
  if (rec->status.state != ContainerState::kExited && ProcessAlive(rec->status.pid)) {
    return Error("remove container " + container_id + ": it is still running");
  }
  auto del = Run(Runc({"delete", "--force", container_id}), {.timeout = milliseconds(10000)});
  if (del.ok() && !del->success() && del->err.find("does not exist") == std::string::npos &&
      del->err.find("not exist") == std::string::npos) {
    log::Warn("runc delete", {{"container", container_id}, {"error", del->Describe()}});
  }
  RETURN_IF_ERROR_CTX(CleanupContainerFiles(container_id), "remove container " + container_id);
  std::lock_guard<std::mutex> l(mu_);
  containers_.erase(container_id);
  Changed();
  return Ok();
}

Result<ContainerStatus> OciRuntime::GetContainerStatus(const std::string& container_id) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = containers_.find(container_id);
  if (it == containers_.end()) return NotFound("container " + container_id + " not found");
  return it->second->status;
}

Result<std::vector<ContainerStatus>> OciRuntime::ListContainers() {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<ContainerStatus> out;
  out.reserve(containers_.size());
  for (const auto& [id, c] : containers_) out.push_back(c->status);
  return out;
}

Result<std::vector<SandboxStatus>> OciRuntime::ListPodSandboxesOf(const std::string& pod_uid) {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<SandboxStatus> out;
  for (const auto& [id, s] : sandboxes_) {
    if (s->status.pod_uid == pod_uid) out.push_back(s->status);
  }
  return out;
}

Result<std::vector<ContainerStatus>> OciRuntime::ListContainersOf(const std::string& pod_uid) {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<ContainerStatus> out;
  for (const auto& [id, c] : containers_) {
    if (c->pod_uid == pod_uid) out.push_back(c->status);
  }
  return out;
}

Result<ExecResult> OciRuntime::ExecSync(const std::string& container_id, const std::vector<std::string>& cmd,
                                        milliseconds timeout) {
  std::string pidfile;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = containers_.find(container_id);
    if (it == containers_.end()) return NotFound("container " + container_id + " not found");
    pidfile = it->second->dir + "/exec-" + NewId().substr(0, 12) + ".pid";
  }
  std::vector<std::string> argv = Runc({"exec", "--pid-file", pidfile, container_id});
  argv.insert(argv.end(), cmd.begin(), cmd.end());
  auto r = Run(argv, {.timeout = timeout});
  // On timeout the exec'd process lives inside the container's PID namespace: kill it by its host PID, and
  // its process group (runc makes it a session and group leader), so that what it started dies with it.
  if (r.ok() && r->timed_out) {
    if (auto pid = ReadFile(pidfile, 64); pid.ok() && std::atoll(pid->c_str()) > 0) {
      auto p = static_cast<pid_t>(std::atoll(pid->c_str()));
      ::kill(-p, SIGKILL);
      ::kill(p, SIGKILL);
    }
  }
  ::unlink(pidfile.c_str());
  if (!r.ok()) return std::move(r).error().Wrap("exec in container " + container_id);
  ExecResult out;
  out.exit_code = r->exit_code;
  out.timed_out = r->timed_out;
  out.out = std::move(r->out);
  out.err = std::move(r->err);
  return out;
}

// ---- images ----

Result<ImageInfo> OciRuntime::ImageStatus(const std::string& ref) { return glue::ImageStatus(*images_, ref); }
Result<ImageInfo> OciRuntime::PullImage(const std::string& ref, const PullAuth& auth) {
  return glue::PullImage(*images_, ref, auth, opts_.insecure_registries);
}
Result<std::vector<ImageInfo>> OciRuntime::ListImages() { return glue::ListImages(*images_); }
Result<void> OciRuntime::RemoveImage(const std::string& ref) { return glue::RemoveImage(*images_, ref); }

void OciRuntime::SetEventHandler(std::function<void(const ContainerEvent&)> handler) {
  std::lock_guard<std::mutex> l(mu_);
  handler_ = std::move(handler);
}

}  // namespace nanolet::runtime::oci
