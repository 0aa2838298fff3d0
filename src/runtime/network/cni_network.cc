#include "runtime/network/cni_network.h"

#include "runtime/network/masquerade.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <nlohmann/json.hpp>

#include "runtime/network/namespaces.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strings.h"
#include "util/subprocess.h"

extern char** environ;

namespace nanolet::network {

using json = nlohmann::json;

namespace {

constexpr const char* kBuiltinSource = "built-in";

// A config list with `name`, `cniVersion` and a non-empty `plugins` array of objects with a `type`.
struct ConfList {
  std::string name;
  std::string version;
  json raw;  // the whole list
  std::string source;
};

bool ValidContainerId(const std::string& id) {
  if (id.empty() || id.size() > 200) return false;
  if (!std::isalnum(static_cast<unsigned char>(id[0]))) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

// Spec versions before 0.4.0 have no prevResult on DEL and no CHECK.
bool AtLeast040(const std::string& v) {
  return !(v.empty() || v == "0.1.0" || v == "0.2.0" || v == "0.3.0" || v == "0.3.1");
}

Result<ConfList> ParseConfList(const std::string& text, bool single_plugin,
                               const std::string& source) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Invalid("not a JSON object");
  if (single_plugin) {
    json list = json::object();
    list["cniVersion"] = j.contains("cniVersion") ? j["cniVersion"] : json("0.1.0");
    list["name"] = j.contains("name") ? j["name"] : json("");
    list["plugins"] = json::array({j});
    j = std::move(list);
  }
  ConfList c;
  if (!j.contains("name") || !j["name"].is_string() || j["name"].get<std::string>().empty()) {
    return Invalid("missing network name");
  }
  c.name = j["name"].get<std::string>();
  if (c.name.find('/') != std::string::npos)
    return Invalid("invalid network name \"" + c.name + "\"");
  c.version = "0.1.0";
  if (j.contains("cniVersion")) {
    if (!j["cniVersion"].is_string()) return Invalid("cniVersion is not a string");
    c.version = j["cniVersion"].get<std::string>();
  }
  if (!j.contains("plugins") || !j["plugins"].is_array() || j["plugins"].empty()) {
    return Invalid("no plugins in network \"" + c.name + "\"");
  }
  for (const auto& p : j["plugins"]) {
    if (!p.is_object() || !p.contains("type") || !p["type"].is_string() ||
        p["type"].get<std::string>().empty() ||
        p["type"].get<std::string>().find('/') != std::string::npos) {
      return Invalid("network \"" + c.name + "\": a plugin has no valid \"type\"");
    }
  }
  c.raw = std::move(j);
  c.source = source;
  return c;
}

Result<ConfList> LoadConfig(const CniOptions& o) {
  if (!o.conf_dir.empty() && IsDirectory(o.conf_dir)) {
    ASSIGN_OR_RETURN_CTX(auto names, ListDir(o.conf_dir), "cni config");
    std::string first_error;
    for (const auto& n : names) {
      bool list = EndsWith(n, ".conflist");
      if (!list && !EndsWith(n, ".conf") && !EndsWith(n, ".json")) continue;
      std::string path = JoinPath(o.conf_dir, n);
      Result<ConfList> c = Invalid("unreadable");
      auto text = ReadFile(path, 1 << 20);
      if (text.ok()) {
        try {
          c = ParseConfList(*text, !list, path);
        } catch (const json::exception& e) {
          c = Invalid(e.what());
        }
      } else {
        c = text.error();
      }
      if (c.ok()) return c;
      log::Warn("skipping invalid CNI config", {{"file", path}, {"err", c.error().message()}});
      if (first_error.empty()) first_error = path + ": " + c.error().message();
    }
    if (!first_error.empty())
      return Invalid("cni config: no valid config in " + o.conf_dir + ": " + first_error);
  }
  return ParseConfList(BuiltinCniConfig(o), false, kBuiltinSource);
}

// Plugin failure text: the CNI error object on stdout when there is one, else exit status and
// stderr.
std::string DescribeFailure(const RunResult& r) {
  std::string d = r.signal ? "killed by signal " + std::to_string(r.signal)
                           : "exit status " + std::to_string(r.exit_code);
  json e = json::parse(r.out, nullptr, false);
  if (!e.is_discarded() && e.is_object() && e.contains("msg") && e["msg"].is_string()) {
    d += ": " + e["msg"].get<std::string>();
    if (e.contains("details") && e["details"].is_string() &&
        !e["details"].get<std::string>().empty()) {
      d += ": " + e["details"].get<std::string>();
    }
    if (e.contains("code") && e["code"].is_number()) d += " (CNI error " + e["code"].dump() + ")";
    return d;
  }
  return r.Describe();
}

std::string FormatDuration(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + "s";
  return std::to_string(d.count()) + "ms";
}

json PortMappingsJson(const std::vector<PortMapping>& ports) {
  json a = json::array();
  for (const auto& p : ports) {
    if (p.host_port <= 0) continue;
    std::string proto = p.protocol;
    std::transform(proto.begin(), proto.end(), proto.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    json m = {{"hostPort", p.host_port},
              {"containerPort", p.container_port},
              {"protocol", proto.empty() ? "tcp" : proto}};
    if (!p.host_ip.empty()) m["hostIP"] = p.host_ip;
    a.push_back(std::move(m));
  }
  return a;
}

Result<PodNetworkResult> ParseResultJson(const json& j, const std::string& ifname) {
  if (!j.is_object()) return Invalid("CNI result is not an object");
  PodNetworkResult out;
  out.interface = ifname;
  auto add_ip = [&](const std::string& cidr, const std::string& gw) {
    PodIp ip;
    auto slash = cidr.find('/');
    ip.address = cidr.substr(0, slash);
    if (slash != std::string::npos) ip.prefix_length = std::atoi(cidr.c_str() + slash + 1);
    ip.gateway = gw;
    ip.ipv6 = ip.address.find(':') != std::string::npos;
    // A malformed entry (found by fuzz/fuzz_cni: "address": "/00") is ignored, never a pod IP "".
    unsigned char addr_buf[16];
    if (inet_pton(ip.ipv6 ? AF_INET6 : AF_INET, ip.address.c_str(), addr_buf) != 1) return;
    if (ip.prefix_length < 0 || ip.prefix_length > (ip.ipv6 ? 128 : 32)) return;
    out.ips.push_back(std::move(ip));
  };
  auto str = [](const json& o, const char* k) {
    return o.is_object() && o.contains(k) && o[k].is_string() ? o[k].get<std::string>()
                                                              : std::string();
  };
  if (j.contains("ips") && j["ips"].is_array()) {  // 0.3.0 and later
    long idx = -1;
    if (j.contains("interfaces") && j["interfaces"].is_array()) {
      const auto& ifs = j["interfaces"];
      for (size_t i = 0; i < ifs.size(); ++i) {
        if (str(ifs[i], "name") == ifname && !str(ifs[i], "sandbox").empty()) {
          idx = static_cast<long>(i);
          out.mac = str(ifs[i], "mac");
          break;
        }
      }
    }
    for (int pass = 0; pass < 2 && out.ips.empty(); ++pass) {
      for (const auto& ip : j["ips"]) {
        bool on_if = ip.is_object() && ip.contains("interface") &&
                     ip["interface"].is_number_integer() && ip["interface"].get<long>() == idx;
        if (pass == 0 && idx >= 0 && !on_if)
          continue;  // first pass: only the pod interface's addresses
        std::string a = str(ip, "address");
        if (!a.empty()) add_ip(a, str(ip, "gateway"));
      }
    }
  } else {  // 0.1.0, 0.2.0
    for (const char* k : {"ip4", "ip6"}) {
      if (j.contains(k) && !str(j[k], "ip").empty()) add_ip(str(j[k], "ip"), str(j[k], "gateway"));
    }
  }
  out.raw_result = j.dump();
  return out;
}

}  // namespace

std::string BuiltinCniConfig(const CniOptions& o) {
  json ipam = {{"type", "host-local"},
               {"ranges", json::array({json::array({{{"subnet", o.default_subnet}}})})},
               {"routes", json::array({{{"dst", "0.0.0.0/0"}}})},
               {"dataDir", JoinPath(o.root_dir, "cni/networks")}};
  json bridge = {{"type", "bridge"}, {"bridge", o.default_bridge}, {"isGateway", true},
                 {"ipMasq", !o.shared_masquerade}, {"hairpinMode", true}, {"ipam", ipam}};
  json portmap = {{"type", "portmap"}, {"capabilities", {{"portMappings", true}}}};
  json list = {{"cniVersion", "1.0.0"},
               {"name", o.default_network_name},
               {"plugins", json::array({bridge, portmap})}};
  return list.dump();
}

Result<PodNetworkResult> ParseCniResult(const std::string& text,
                                        const std::string& interface_name) {
  try {
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded()) return Invalid("CNI result is not JSON");
    return ParseResultJson(j, interface_name);
  } catch (const json::exception& e) {
    return Invalid(std::string("CNI result: ") + e.what());
  }
}

// One invocation's parameters (the CNI_* environment).
struct Invocation {
  std::string command;  // ADD, DEL, CHECK
  std::string container_id;
  std::string netns;
  std::string ifname;
  std::string args;  // CNI_ARGS
};

// The per-pod state cached between ADD and DEL (libcni's cniCacheV1, with the config as JSON).
struct CacheEntry {
  std::string path;
  std::string container_id;
  ConfList conf;
  std::string ifname;
  std::string cni_args;
  json runtime = json::object();  // capability values: {"portMappings": [...]}
  std::string netns;
  json result;  // null until ADD succeeded
};

struct CniNetwork::Impl {
  // Constant after Create.
  CniOptions opts;
  ConfList conf;
  std::vector<std::string> base_env;  // nanolet's environment without CNI_*
  std::string cache_dir;              // ROOT/cni/cache/results

  std::string CachePath(const std::string& network, const std::string& id,
                        const std::string& ifname) const {
    return JoinPath(cache_dir, network + "-" + id + "-" + ifname);
  }

  Result<std::string> FindPlugin(const std::string& type) const {
    for (const auto& d : opts.bin_dirs) {
      std::string p = JoinPath(d, type);
      if (::access(p.c_str(), X_OK) == 0 && !IsDirectory(p)) return p;
    }
    return NotFound("plugin \"" + type + "\" not found in " + Join(opts.bin_dirs, ", "));
  }

  // Checks every binary a call needs before running any, so a missing portmap cannot leave a bridge
  // half set.
  Result<void> FindAll(const ConfList& c, const std::string& command) const {
    for (const auto& p : c.raw["plugins"]) {
      RETURN_IF_ERROR_CTX(FindPlugin(p["type"].get<std::string>()), "cni " + command);
    }
    if (opts.run_loopback_plugin) RETURN_IF_ERROR_CTX(FindPlugin("loopback"), "cni " + command);
    return Ok();
  }

  // The plugin's stdin: its config with name, cniVersion, prevResult and runtimeConfig injected as
  // libcni does.
  static json PluginConf(const json& plugin, const ConfList& c, const json& prev,
                         const json& runtime) {
    json p = plugin;
    p["name"] = c.name;
    p["cniVersion"] = c.version;
    if (!prev.is_null()) p["prevResult"] = prev;
    json rc = json::object();
    if (plugin.contains("capabilities") && plugin["capabilities"].is_object()) {
      for (const auto& [cap, on] : plugin["capabilities"].items()) {
        if (on.is_boolean() && on.get<bool>() && runtime.contains(cap)) rc[cap] = runtime[cap];
      }
    }
    if (!rc.empty()) p["runtimeConfig"] = std::move(rc);
    return p;
  }

  // portmap without mappings is a pure pass-through: its cmdAdd prints prevResult back and its
  // cmdDel and cmdCheck return at once (plugins/meta/portmap/main.go), so that exec (~7 ms here) is
  // skipped.
  bool Idle(const json& conf) const {
    return opts.skip_idle_portmap && conf.value("type", "") == "portmap" &&
           !(conf.contains("runtimeConfig") && conf["runtimeConfig"].is_object() &&
             conf["runtimeConfig"].contains("portMappings") &&
             !conf["runtimeConfig"]["portMappings"].empty());
  }

  // Runs one plugin. Returns its parsed result for ADD, null for DEL and CHECK.
  Result<json> Invoke(const Invocation& inv, const std::string& type, const json& conf) const {
    std::string what = "cni " + inv.command + " " + type;
    auto found = FindPlugin(type);
    if (!found.ok()) return std::move(found).error().Wrap("cni " + inv.command);
    const std::string& bin = *found;
    std::vector<std::string> env = base_env;
    env.push_back("CNI_COMMAND=" + inv.command);
    env.push_back("CNI_CONTAINERID=" + inv.container_id);
    env.push_back("CNI_NETNS=" + inv.netns);
    env.push_back("CNI_IFNAME=" + inv.ifname);
    env.push_back("CNI_ARGS=" + inv.args);
    env.push_back("CNI_PATH=" + Join(opts.bin_dirs, ":"));
    auto start = std::chrono::steady_clock::now();
    auto r = Run(
        {bin}, {.stdin_data = conf.dump(), .env = std::move(env), .timeout = opts.plugin_timeout});
    if (!r.ok()) return std::move(r).error().Wrap(what);
    if (r->timed_out) {
      return Error(what + ": timed out after " + FormatDuration(opts.plugin_timeout),
                   ErrorCode::kTimeout);
    }
    if (!r->success()) return Error(what + ": " + DescribeFailure(*r));
    if (log::Enabled(4)) {
      auto us = std::chrono::duration_cast<std::chrono::microseconds>(
          std::chrono::steady_clock::now() - start);
      log::V(4, "cni plugin done",
             {{"command", inv.command},
              {"plugin", type},
              {"container", inv.container_id},
              {"us", std::to_string(us.count())}});
    }
    if (inv.command != "ADD") return json();
    json res = json::parse(r->out, nullptr, false);
    if (res.is_discarded() || !res.is_object())
      return Error(what + ": invalid result: " + r->out.substr(0, 200));
    return res;
  }

  json LoopbackConf(const ConfList& c) const {
    return {{"cniVersion", c.version}, {"name", "cni-loopback"}, {"type", "loopback"}};
  }

  Result<void> WriteCache(const CacheEntry& e) const {
    json j = {{"kind", "cniCacheV1"},       {"containerId", e.container_id},
              {"ifName", e.ifname},         {"networkName", e.conf.name},
              {"config", e.conf.raw},       {"cniArgs", e.cni_args},
              {"runtimeConfig", e.runtime}, {"netns", e.netns},
              {"result", e.result},         {"configSource", e.conf.source}};
    return WriteFileAtomic(e.path, j.dump(), 0600);
  }

  // The cache entry of `id`: under the current network name, else under any name (the config
  // changed since).
  Result<CacheEntry> ReadCache(const std::string& id) const {
    std::string path = CachePath(conf.name, id, opts.interface_name);
    if (!PathExists(path)) {
      path.clear();
      std::string suffix = "-" + id + "-" + opts.interface_name;
      auto names = ListDir(cache_dir);
      if (names.ok()) {
        for (const auto& n : *names) {
          if (EndsWith(n, suffix) && n.size() > suffix.size()) path = JoinPath(cache_dir, n);
        }
      }
      if (path.empty()) return NotFound("no cached CNI state for " + id);
    }
    ASSIGN_OR_RETURN(std::string text, ReadFile(path, 4 << 20));
    try {
      json j = json::parse(text, nullptr, false);
      if (j.is_discarded() || !j.is_object() || !j.contains("config"))
        return Invalid("corrupt cache " + path);
      CacheEntry e;
      e.path = path;
      e.container_id = id;
      auto c = ParseConfList(j["config"].dump(), false, j.value("configSource", ""));
      if (!c.ok()) return std::move(c).error().Wrap("cache " + path);
      e.conf = std::move(c).value();
      e.ifname = j.value("ifName", opts.interface_name);
      e.cni_args = j.value("cniArgs", "");
      if (j.contains("runtimeConfig") && j["runtimeConfig"].is_object())
        e.runtime = j["runtimeConfig"];
      e.netns = j.value("netns", "");
      if (j.contains("result")) e.result = j["result"];
      return e;
    } catch (const json::exception& ex) {
      return Invalid("corrupt cache " + path + ": " + ex.what());
    }
  }

  // DEL of every plugin in reverse order; removes the cache entry when all succeeded.
  Result<void> Delete(const CacheEntry& e, const std::string& id,
                      const std::string& netns_hint) const {
    Invocation inv{"DEL", id, "", e.ifname, e.cni_args};
    // Only a live namespace is passed: for a missing path, or a file no longer mounted, plugins
    // fail to open it with errors other than "not found", while an empty CNI_NETNS means "gone" to
    // them.
    for (const std::string& n : {netns_hint, e.netns}) {
      if (!n.empty() && IsNamespaceMount(n)) {
        inv.netns = n;
        break;
      }
    }
    json prev = AtLeast040(e.conf.version) ? e.result : json();
    Result<void> result;
    const auto& plugins = e.conf.raw["plugins"];
    for (auto it = plugins.rbegin(); it != plugins.rend(); ++it) {
      json pc = PluginConf(*it, e.conf, prev, e.runtime);
      if (Idle(pc)) continue;
      auto r = Invoke(inv, (*it)["type"].get<std::string>(), pc);
      if (!r.ok() && result.ok()) result = std::move(r).error();
    }
    if (opts.run_loopback_plugin) {
      Invocation lo = inv;
      lo.ifname = "lo";
      auto r = Invoke(lo, "loopback", LoopbackConf(e.conf));
      if (!r.ok() && result.ok()) result = std::move(r).error();
    }
    if (result.ok() && !e.path.empty() && ::unlink(e.path.c_str()) != 0 && errno != ENOENT) {
      return ErrnoError("cni DEL: remove cache " + e.path);
    }
    return result;
  }

  std::string CniArgs(const PodNetworkRequest& r) const {
    return "IgnoreUnknown=1;K8S_POD_NAMESPACE=" + r.pod_namespace + ";K8S_POD_NAME=" + r.pod_name +
           ";K8S_POD_INFRA_CONTAINER_ID=" + r.container_id + ";K8S_POD_UID=" + r.pod_uid;
  }

  Result<PodNetworkResult> SetUp(const PodNetworkRequest& req) const {
    if (!ValidContainerId(req.container_id))
      return Invalid("invalid container id \"" + req.container_id + "\"");
    if (req.netns_path.empty()) return Invalid("no network namespace path");
    RETURN_IF_ERROR(FindAll(conf, "ADD"));
    CacheEntry e;
    e.path = CachePath(conf.name, req.container_id, opts.interface_name);
    e.container_id = req.container_id;
    e.conf = conf;
    e.ifname = opts.interface_name;
    e.cni_args = CniArgs(req);
    json ports = PortMappingsJson(req.ports);
    if (!ports.empty()) e.runtime["portMappings"] = std::move(ports);
    e.netns = req.netns_path;
    // Written before any plugin runs: a crash mid-ADD still leaves what DEL needs.
    RETURN_IF_ERROR_CTX(WriteCache(e), "cni ADD: write cache");

    auto rollback = [&](Error err) -> Error {
      auto d = Delete(e, req.container_id, req.netns_path);
      if (!d.ok()) {
        // The caller gives the sandbox up after a failed ADD, so nobody would ever DEL with this cache
        // entry: drop it rather than leave it under ROOT forever.
        (void)::unlink(e.path.c_str());
        return Error(err.message() + " (rollback: " + d.error().message() + ")", err.code());
      }
      return err;
    };
    if (opts.run_loopback_plugin) {
      Invocation lo{"ADD", req.container_id, req.netns_path, "lo", e.cni_args};
      auto r = Invoke(lo, "loopback", LoopbackConf(conf));
      if (!r.ok()) return rollback(std::move(r).error());
    }
    Invocation inv{"ADD", req.container_id, req.netns_path, e.ifname, e.cni_args};
    json prev;
    for (const auto& p : conf.raw["plugins"]) {
      json pc = PluginConf(p, conf, prev, e.runtime);
      if (Idle(pc)) continue;
      auto r = Invoke(inv, p["type"].get<std::string>(), pc);
      if (!r.ok()) {
        e.result = prev;  // DEL of a partial ADD gets what was done so far
        return rollback(std::move(r).error());
      }
      prev = std::move(*r);
    }
    e.result = prev;
    auto parsed = ParseResultJson(prev, e.ifname);
    if (!parsed.ok()) return rollback(std::move(parsed).error().Wrap("cni ADD"));
    if (parsed->ips.empty())
      return rollback(Error("cni ADD: the result has no IP address for " + e.ifname));
    auto w = WriteCache(e);
    if (!w.ok()) return rollback(std::move(w).error().Wrap("cni ADD: write cache"));
    parsed->network_name = conf.name;
    return std::move(parsed).value();
  }
};

CniNetwork::CniNetwork(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CniNetwork::~CniNetwork() = default;

Result<std::unique_ptr<CniNetwork>> CniNetwork::Create(const CniOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->opts = options;
  if (impl->opts.interface_name.empty()) impl->opts.interface_name = "eth0";
  if (impl->opts.bin_dirs.empty()) return Invalid("cni: no plugin directory");
  try {
    ASSIGN_OR_RETURN(impl->conf, LoadConfig(impl->opts));
  } catch (const json::exception& e) {
    return Invalid(std::string("cni config: ") + e.what());
  }
  impl->cache_dir = JoinPath(options.root_dir, "cni/cache/results");
  RETURN_IF_ERROR_CTX(MkdirAll(impl->cache_dir, 0700), "cni");
  bool has_path = false;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    if (StartsWith(kv, "CNI_")) continue;
    if (StartsWith(kv, "PATH=")) has_path = true;
    impl->base_env.emplace_back(kv);
  }
  if (!has_path)
    impl->base_env.emplace_back(
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  log::Info("cni network", {{"name", impl->conf.name}, {"config", impl->conf.source}});
  if (impl->conf.source == kBuiltinSource && options.shared_masquerade) {
    // Without it pods still reach each other and the node; only traffic leaving the node lacks NAT.
    if (auto m = EnsureMasquerade(options.default_bridge, options.default_subnet); !m.ok()) {
      log::Warn("pod traffic leaving the node is not masqueraded", {{"error", m.error().message()}});
    }
  }
  return std::unique_ptr<CniNetwork>(new CniNetwork(std::move(impl)));
}

Result<PodNetworkResult> CniNetwork::SetUp(const PodNetworkRequest& request) {
  std::string pod = request.pod_namespace + "/" + request.pod_name;
  auto start = std::chrono::steady_clock::now();
  Result<PodNetworkResult> r = Error("");
  try {
    r = impl_->SetUp(request);
  } catch (const std::exception& e) {
    r = Error(std::string("cni ADD: ") + e.what());
  }
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  start);
  if (r.ok()) {
    log::V(2, "pod network set up",
           {{"pod", pod}, {"ip", r->ips[0].address}, {"ms", std::to_string(ms.count())}});
  }
  return r;
}

Result<void> CniNetwork::TearDown(const PodNetworkRequest& request) {
  if (!ValidContainerId(request.container_id)) {
    return Invalid("cni DEL: invalid container id \"" + request.container_id + "\"");
  }
  try {
    auto cached = impl_->ReadCache(request.container_id);
    CacheEntry e;
    if (cached.ok()) {
      e = std::move(cached).value();
    } else {
      if (!cached.error().is(ErrorCode::kNotFound)) {
        log::Warn("ignoring CNI cache",
                  {{"container", request.container_id}, {"err", cached.error().message()}});
      }
      // Never added, or already deleted: DEL with the current config is harmless and releases
      // anything left.
      e.conf = impl_->conf;
      e.ifname = impl_->opts.interface_name;
      e.cni_args = impl_->CniArgs(request);
      json ports = PortMappingsJson(request.ports);
      if (!ports.empty()) e.runtime["portMappings"] = std::move(ports);
      e.path = cached.error().is(ErrorCode::kNotFound)
                   ? std::string()
                   : impl_->CachePath(impl_->conf.name, request.container_id, e.ifname);
    }
    RETURN_IF_ERROR(impl_->FindAll(e.conf, "DEL"));
    return impl_->Delete(e, request.container_id, request.netns_path);
  } catch (const std::exception& ex) {
    return Error(std::string("cni DEL: ") + ex.what());
  }
}

Result<PodNetworkResult> CniNetwork::Status(const std::string& container_id) {
  if (!ValidContainerId(container_id))
    return Invalid("invalid container id \"" + container_id + "\"");
  try {
    ASSIGN_OR_RETURN(CacheEntry e, impl_->ReadCache(container_id));
    if (e.result.is_null()) return NotFound("no CNI result for " + container_id);
    ASSIGN_OR_RETURN(PodNetworkResult r, ParseResultJson(e.result, e.ifname));
    r.network_name = e.conf.name;
    return r;
  } catch (const std::exception& ex) {
    return Error(std::string("cni status: ") + ex.what());
  }
}

Result<void> CniNetwork::Check(const PodNetworkRequest& request) {
  if (!ValidContainerId(request.container_id)) {
    return Invalid("cni CHECK: invalid container id \"" + request.container_id + "\"");
  }
  try {
    ASSIGN_OR_RETURN_CTX(CacheEntry e, impl_->ReadCache(request.container_id), "cni CHECK");
    if (!AtLeast040(e.conf.version)) return Invalid("cni CHECK: needs cniVersion 0.4.0 or later");
    if (e.result.is_null()) return NotFound("cni CHECK: no ADD result for " + request.container_id);
    Invocation inv{"CHECK", request.container_id,
                   request.netns_path.empty() ? e.netns : request.netns_path, e.ifname, e.cni_args};
    for (const auto& p : e.conf.raw["plugins"]) {
      json pc = Impl::PluginConf(p, e.conf, e.result, e.runtime);
      if (impl_->Idle(pc)) continue;
      RETURN_IF_ERROR(impl_->Invoke(inv, p["type"].get<std::string>(), pc));
    }
    return Ok();
  } catch (const std::exception& ex) {
    return Error(std::string("cni CHECK: ") + ex.what());
  }
}

std::string CniNetwork::Name() const { return impl_->conf.name; }
const std::string& CniNetwork::config_source() const { return impl_->conf.source; }
std::string CniNetwork::config_json() const { return impl_->conf.raw.dump(); }

}  // namespace nanolet::network
