#include "runtime/oci/spec_builder.h"

#include <csignal>
#include <set>

#include <nlohmann/json.hpp>

#include "util/fs.h"
#include "util/strings.h"

namespace nanolet::runtime::oci {
namespace {
using nlohmann::json;

// The default capability set of containerd's CRI plugin and Docker.
const std::vector<std::string> kDefaultCaps = {
    "CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",     "CAP_MKNOD",
    "CAP_NET_RAW", "CAP_SETGID",      "CAP_SETUID",           "CAP_SETFCAP",    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"};

const std::vector<std::string> kAllCaps = {
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
    "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"};

const std::vector<std::string> kMaskedPaths = {
    "/proc/acpi",          "/proc/asound",    "/proc/kcore",       "/proc/keys",
    "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
    "/proc/scsi",          "/sys/firmware"};
const std::vector<std::string> kReadonlyPaths = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                                 "/proc/sysrq-trigger"};

std::string CapName(std::string c) {
  for (auto& ch : c) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  if (!StartsWith(c, "CAP_") && c != "ALL") c = "CAP_" + c;
  return c;
}

json Mount(const std::string& dst, const std::string& type, const std::string& src,
           std::vector<std::string> options) {
  return json{{"destination", dst}, {"type", type}, {"source", src}, {"options", options}};
}

json BindMount(const std::string& dst, const std::string& src, bool ro, const std::string& propagation) {
  std::vector<std::string> opts = {"rbind", propagation.empty() ? "rprivate" : propagation};
  if (propagation == "private") opts[1] = "rprivate";
  opts.push_back(ro ? "ro" : "rw");
  return Mount(dst, "bind", src, opts);
}

json Namespaces(const NamespacePaths& ns, bool new_mount) {
  json out = json::array();
  auto add = [&](const char* type, const std::string& path) {
    if (path == "host") return;
    json n{{"type", type}};
    if (!path.empty()) n["path"] = path;
    out.push_back(n);
  };
  add("pid", ns.pid);
  add("network", ns.network);
  add("ipc", ns.ipc);
  add("uts", ns.uts);
  if (new_mount) out.push_back({{"type", "mount"}});
  return out;
}

json DefaultMounts(bool privileged, const std::string& shm_path) {
  json m = json::array();
  m.push_back(Mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}));
  m.push_back(Mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}));
  m.push_back(Mount("/dev/pts", "devpts", "devpts",
                    {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}));
  m.push_back(Mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}));
  m.push_back(Mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", privileged ? "rw" : "ro"}));
  m.push_back(Mount("/sys/fs/cgroup", "cgroup", "cgroup",
                    {"nosuid", "noexec", "nodev", "relatime", privileged ? "rw" : "ro"}));
  if (shm_path.empty()) {
    m.push_back(Mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}));
  } else {
    m.push_back(BindMount("/dev/shm", shm_path, false, "rprivate"));
  }
  return m;
}

// Reads "name:x:uid:gid:..." records from a file inside the rootfs without following symlinks out of it.
std::vector<std::vector<std::string>> ReadColonFile(const std::string& rootfs, const std::string& rel) {
  std::vector<std::vector<std::string>> out;
  std::string path = rootfs + rel;
  auto data = ReadFile(path, 4 << 20);
  if (!data.ok()) return out;
  for (const auto& line : Split(*data, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    out.push_back(Split(line, ':'));
  }
  return out;
}

bool ParseInt(const std::string& s, int64_t* v) {
  if (s.empty() || s.size() > 18) return false;
  int64_t r = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    r = r * 10 + (c - '0');
  }
  *v = r;
  return true;
}
}  // namespace

int ParseSignal(const std::string& in) {
  std::string s = in;
  for (auto& ch : s) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  if (StartsWith(s, "SIG")) s = s.substr(3);
  int64_t n;
  if (ParseInt(s, &n)) return n > 0 && n < 65 ? static_cast<int>(n) : 0;
  static const std::pair<const char*, int> kSignals[] = {
      {"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"KILL", SIGKILL}, {"USR1", SIGUSR1},
      {"USR2", SIGUSR2}, {"TERM", SIGTERM}, {"STOP", SIGSTOP}, {"CONT", SIGCONT}, {"WINCH", SIGWINCH},
      {"PWR", SIGPWR},   {"ABRT", SIGABRT}, {"ALRM", SIGALRM}};
  for (const auto& [name, num] : kSignals) {
    if (s == name) return num;
  }
  if (StartsWith(s, "RTMIN+")) {
    int64_t k;
    if (ParseInt(s.substr(6), &k)) return SIGRTMIN + static_cast<int>(k);
  }
  return 0;
}

std::vector<std::string> MergeCommand(const ContainerConfig& c, const ImageConfig& image) {
  std::vector<std::string> out;
  if (!c.command.empty()) {
    out = c.command;
    out.insert(out.end(), c.args.begin(), c.args.end());
    return out;
  }
  out = image.entrypoint;
  const auto& tail = c.args.empty() ? image.cmd : c.args;
  out.insert(out.end(), tail.begin(), tail.end());
  return out;
}

std::vector<std::string> MergeEnv(const ContainerConfig& c, const ImageConfig& image) {
  std::vector<std::string> out;
  std::map<std::string, size_t> index;
  auto put = [&](const std::string& k, const std::string& v) {
    auto it = index.find(k);
    if (it != index.end()) {
      out[it->second] = k + "=" + v;
    } else {
      index[k] = out.size();
      out.push_back(k + "=" + v);
    }
  };
  for (const auto& kv : image.env) {
    auto eq = kv.find('=');
    if (eq == std::string::npos) put(kv, "");
    else put(kv.substr(0, eq), kv.substr(eq + 1));
  }
  for (const auto& [k, v] : c.env) put(k, v);
  if (!index.count("PATH")) put("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  return out;
}

Result<ResolvedUser> ResolveUser(const std::string& rootfs, const std::string& image_user,
                                 const SecurityContext& sc) {
  ResolvedUser u;
  std::string user = image_user, group;
  if (auto colon = user.find(':'); colon != std::string::npos) {
    group = user.substr(colon + 1);
    user = user.substr(0, colon);
  }
  if (!sc.run_as_username.empty()) user = sc.run_as_username;
  std::string username;
  bool gid_set = false;
  if (sc.run_as_user) {
    u.uid = *sc.run_as_user;
  } else if (!user.empty() && !ParseInt(user, &u.uid)) {
    bool found = false;
    for (const auto& rec : ReadColonFile(rootfs, "/etc/passwd")) {
      if (rec.size() >= 4 && rec[0] == user) {
        ParseInt(rec[2], &u.uid);
        gid_set = ParseInt(rec[3], &u.gid);
        found = true;
        break;
      }
    }
    if (!found) return Invalid("unable to find user " + user + ": no matching entries in passwd file");
    username = user;
  }
  if (!gid_set && !sc.run_as_user) {
    // A numeric USER takes its primary group from passwd when the uid is listed there.
    for (const auto& rec : ReadColonFile(rootfs, "/etc/passwd")) {
      int64_t uid;
      if (rec.size() >= 4 && ParseInt(rec[2], &uid) && uid == u.uid) {
        ParseInt(rec[3], &u.gid);
        if (username.empty()) username = rec[0];
        break;
      }
    }
  }
  if (!group.empty()) {
    if (!ParseInt(group, &u.gid)) {
      bool found = false;
      for (const auto& rec : ReadColonFile(rootfs, "/etc/group")) {
        if (rec.size() >= 3 && rec[0] == group) {
          ParseInt(rec[2], &u.gid);
          found = true;
          break;
        }
      }
      if (!found) return Invalid("unable to find group " + group + ": no matching entries in group file");
    }
  }
  if (sc.run_as_group) u.gid = *sc.run_as_group;
  if (!username.empty()) {
    for (const auto& rec : ReadColonFile(rootfs, "/etc/group")) {
      if (rec.size() < 4) continue;
      for (const auto& member : Split(rec[3], ',')) {
        int64_t gid;
        if (member == username && ParseInt(rec[2], &gid) && gid != u.gid) u.additional_gids.push_back(gid);
      }
    }
  }
  return u;
}

Result<json> BuildContainerSpec(const ContainerConfig& c, const ImageConfig& image,
                                const ContainerSpecInput& in) {
  json spec;
  spec["ociVersion"] = "1.0.2";
  auto args = MergeCommand(c, image);
  if (args.empty()) return Invalid("no command specified: the image has no ENTRYPOINT or CMD and the container no command");
  ASSIGN_OR_RETURN(ResolvedUser user, ResolveUser(in.rootfs, image.user, c.security));

  json process;
  process["terminal"] = c.tty;
  process["args"] = args;
  process["env"] = MergeEnv(c, image);
  process["cwd"] = !c.working_dir.empty() ? c.working_dir
                   : !image.working_dir.empty() ? image.working_dir
                                                : "/";
  std::set<int64_t> gids(user.additional_gids.begin(), user.additional_gids.end());
  gids.insert(in.supplemental_groups.begin(), in.supplemental_groups.end());
  gids.insert(c.security.supplemental_groups.begin(), c.security.supplemental_groups.end());
  json juser{{"uid", user.uid}, {"gid", user.gid}};
  if (!gids.empty()) juser["additionalGids"] = std::vector<int64_t>(gids.begin(), gids.end());
  process["user"] = juser;

  // Capabilities: the default set, or all when privileged; then drop, then add (as upstream: drop ALL
  // keeps only what is added).
  std::vector<std::string> caps;
  if (c.security.privileged) {
    caps = kAllCaps;
  } else {
    std::set<std::string> drop, add;
    bool drop_all = false, add_all = false;
    for (const auto& d : c.security.drop_capabilities) {
      auto n = CapName(d);
      if (n == "ALL") drop_all = true;
      drop.insert(n);
    }
    for (const auto& a : c.security.add_capabilities) {
      auto n = CapName(a);
      if (n == "ALL") add_all = true;
      add.insert(n);
    }
    if (add_all) {
      caps = kAllCaps;
    } else {
      if (!drop_all) {
        for (const auto& cap : kDefaultCaps) {
          if (!drop.count(cap)) caps.push_back(cap);
        }
      }
      for (const auto& a : add) {
        if (std::find(caps.begin(), caps.end(), a) == caps.end()) caps.push_back(a);
      }
    }
  }
  process["capabilities"] = {{"bounding", caps}, {"effective", caps}, {"permitted", caps}};
  if (user.uid == 0) process["capabilities"]["inheritable"] = json::array();
  process["noNewPrivileges"] = c.security.no_new_privs;
  if (c.resources.oom_score_adj > 0) process["oomScoreAdj"] = c.resources.oom_score_adj;
  spec["process"] = process;
  spec["root"] = {{"path", in.rootfs}, {"readonly", c.security.readonly_rootfs}};
  // In the host's UTS namespace (hostNetwork) runc refuses a hostname: the host's name is the pod's.
  if (in.ns.uts != "host") spec["hostname"] = in.hostname;

  json mounts = DefaultMounts(c.security.privileged, in.shm_path);
  if (!in.hosts_path.empty()) mounts.push_back(BindMount("/etc/hosts", in.hosts_path, false, "rprivate"));
  if (!in.resolv_path.empty())
    mounts.push_back(BindMount("/etc/resolv.conf", in.resolv_path, false, "rprivate"));
  if (!in.hostname_path.empty())
    mounts.push_back(BindMount("/etc/hostname", in.hostname_path, false, "rprivate"));
  for (const auto& m : c.mounts) {
    std::string prop = m.propagation == "rshared" ? "rshared" : m.propagation == "rslave" ? "rslave" : "rprivate";
    mounts.push_back(BindMount(m.container_path, m.host_path, m.readonly, prop));
  }
  spec["mounts"] = mounts;

  json linux;
  linux["namespaces"] = Namespaces(in.ns, true);
  linux["cgroupsPath"] = in.cgroups_path;
  json resources;
  resources["devices"] = json::array({{{"allow", c.security.privileged}, {"access", "rwm"}}});
  if (c.resources.cpu_shares > 0) resources["cpu"]["shares"] = c.resources.cpu_shares;
  if (c.resources.cpu_quota_us > 0) {
    resources["cpu"]["quota"] = c.resources.cpu_quota_us;
    resources["cpu"]["period"] = c.resources.cpu_period_us > 0 ? c.resources.cpu_period_us : 100000;
  }
  if (c.resources.memory_limit_bytes > 0) resources["memory"]["limit"] = c.resources.memory_limit_bytes;
  linux["resources"] = resources;
  if (!c.security.privileged) {
    linux["maskedPaths"] = kMaskedPaths;
    linux["readonlyPaths"] = kReadonlyPaths;
  }
  spec["linux"] = linux;
  if (!c.annotations.empty()) spec["annotations"] = c.annotations;
  return spec;
}

json BuildSandboxSpec(const std::string& rootfs, const NamespacePaths& ns, const std::string& cgroups_path,
                      const std::string& hostname) {
  json spec;
  spec["ociVersion"] = "1.0.2";
  spec["process"] = {{"terminal", false},
                     {"user", {{"uid", 65535}, {"gid", 65535}}},
                     {"args", {"/pause"}},
                     {"env", {"PATH=/"}},
                     {"cwd", "/"},
                     {"capabilities", {{"bounding", json::array()}, {"effective", json::array()},
                                       {"permitted", json::array()}}},
                     {"noNewPrivileges", true}};
  spec["root"] = {{"path", rootfs}, {"readonly", true}};
  if (ns.uts != "host") spec["hostname"] = hostname;  // as for containers: none in the host's UTS namespace
  spec["mounts"] = json::array({Mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}),
                                Mount("/dev", "tmpfs", "tmpfs",
                                      {"nosuid", "strictatime", "mode=755", "size=65536k"})});
  json linux;
  linux["namespaces"] = Namespaces(ns, true);
  linux["cgroupsPath"] = cgroups_path;
  linux["resources"] = {{"devices", json::array({{{"allow", false}, {"access", "rwm"}}})}};
  linux["maskedPaths"] = kMaskedPaths;
  linux["readonlyPaths"] = kReadonlyPaths;
  spec["linux"] = linux;
  return spec;
}

}  // namespace nanolet::runtime::oci
