#include "kubelet/container_config.h"

#include <algorithm>
#include <map>

#include "kubelet/labels.h"
#include "util/fs.h"
#include "util/log.h"

namespace nanolet::kubelet {

std::string PodLogsDirectory(const std::string& logs_root, const api::Pod& pod) {
  return JoinPath(logs_root, pod.metadata.namespace_ + "_" + pod.metadata.name + "_" + pod.metadata.uid);
}

runtime::SandboxConfig MakeSandboxConfig(const api::Pod& pod, uint32_t attempt, const PodContext& ctx) {
  runtime::SandboxConfig sc;
  sc.pod_uid = pod.metadata.uid;
  sc.pod_name = pod.metadata.name;
  sc.pod_namespace = pod.metadata.namespace_;
  sc.attempt = attempt;
  // As upstream GeneratePodHostNameAndDomain: spec.hostname, else the pod name (truncated to 63).
  sc.hostname = !pod.spec.hostname.empty() ? pod.spec.hostname : pod.metadata.name.substr(0, 63);
  while (!sc.hostname.empty() && (sc.hostname.back() == '-' || sc.hostname.back() == '.')) sc.hostname.pop_back();
  if (pod.spec.host_network) sc.hostname = ctx.node_name;
  sc.log_directory = PodLogsDirectory(ctx.pod_logs_dir, pod);
  // dnsPolicy: without cluster DNS configured, ClusterFirst falls back to Default (the host's resolv.conf),
  // as upstream does when --cluster-dns is empty; None uses dnsConfig only.
  if (pod.spec.dns_policy == "None" || pod.spec.dns_config) {
    if (pod.spec.dns_config) {
      sc.dns.servers = pod.spec.dns_config->nameservers;
      sc.dns.searches = pod.spec.dns_config->searches;
      for (const auto& o : pod.spec.dns_config->options) {
        sc.dns.options.push_back(o.value ? o.name + ":" + *o.value : o.name);
      }
    }
  }
  for (const auto& c : pod.spec.containers) {
    for (const auto& p : c.ports) {
      if (p.host_port <= 0) continue;
      sc.port_mappings.push_back({p.protocol.empty() ? "TCP" : p.protocol, p.container_port, p.host_port, p.host_ip});
    }
  }
  sc.host_network = pod.spec.host_network;
  sc.host_pid = pod.spec.host_pid;
  sc.host_ipc = pod.spec.host_ipc;
  sc.share_process_namespace = pod.spec.share_process_namespace.value_or(false);
  for (const auto& a : pod.spec.host_aliases) sc.host_aliases.push_back({a.ip, a.hostnames});
  if (pod.spec.security_context) sc.supplemental_groups = pod.spec.security_context->supplemental_groups;
  // A container whose env reads the pod IP cannot be created before CNI ADD returned.
  for (const auto* list : {&pod.spec.init_containers, &pod.spec.containers}) {
    for (const auto& c : *list) {
      for (const auto& e : c.env) {
        if (e.value_from && e.value_from->field_ref &&
            (e.value_from->field_ref->field_path == "status.podIP" ||
             e.value_from->field_ref->field_path == "status.podIPs")) {
          sc.wait_for_network = true;
        }
      }
    }
  }
  sc.labels = SandboxLabels(pod);
  sc.annotations = pod.metadata.annotations;
  return sc;
}

std::string ExpandVars(std::string_view in,
                       const std::function<std::optional<std::string>(std::string_view)>& lookup) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '$' || i + 1 >= in.size()) {
      out.push_back(in[i]);
      continue;
    }
    char next = in[i + 1];
    if (next == '$') {
      out.push_back('$');
      ++i;
    } else if (next == '(') {
      size_t close = in.find(')', i + 2);
      if (close == std::string_view::npos) {
        out.append(in.substr(i));
        break;
      }
      std::string_view name = in.substr(i + 2, close - i - 2);
      auto v = lookup(name);
      if (v) out.append(*v);
      else out.append(in.substr(i, close - i + 1));
      i = close;
    } else {
      out.push_back('$');
    }
  }
  return out;
}

namespace {

// As upstream validation.IsEnvVarName: [-._a-zA-Z][-._a-zA-Z0-9]*.
bool EnvFromVarNameValid(const std::string& s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '.' || c == '_';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

Result<std::string> FieldRef(const api::Pod& pod, const std::string& path, const PodContext& ctx) {
  auto sub = [&](const std::string& prefix, const api::StringMap& m) -> std::optional<std::string> {
    if (path.rfind(prefix + "['", 0) != 0 || path.size() < prefix.size() + 4) return std::nullopt;
    std::string key = path.substr(prefix.size() + 2, path.size() - prefix.size() - 4);
    auto it = m.find(key);
    return it == m.end() ? std::string() : it->second;
  };
  if (path == "metadata.name") return pod.metadata.name;
  if (path == "metadata.namespace") return pod.metadata.namespace_;
  if (path == "metadata.uid") return pod.metadata.uid;
  if (path == "spec.nodeName") return pod.spec.node_name.empty() ? ctx.node_name : pod.spec.node_name;
  if (path == "spec.serviceAccountName") return pod.spec.service_account_name;
  if (path == "status.podIP") return ctx.pod_ip;
  if (path == "status.podIPs") {
    std::string s;
    for (const auto& ip : ctx.pod_ips) s += (s.empty() ? "" : ",") + ip;
    return s;
  }
  if (path == "status.hostIP" || path == "status.hostIPs") return ctx.host_ip;
  if (auto v = sub("metadata.labels", pod.metadata.labels)) return *v;
  if (auto v = sub("metadata.annotations", pod.metadata.annotations)) return *v;
  if (path == "metadata.labels" || path == "metadata.annotations") {
    const auto& m = path == "metadata.labels" ? pod.metadata.labels : pod.metadata.annotations;
    std::string s;
    for (const auto& [k, v] : m) s += k + "=\"" + v + "\"\n";
    return s;
  }
  return Invalid("unsupported fieldRef " + path);
}

Result<std::string> ResourceRef(const api::Pod& pod, const api::Container& self,
                                const api::ResourceFieldSelector& sel) {
  const api::Container* c = &self;
  if (!sel.container_name.empty()) {
    c = nullptr;
    for (const auto& x : pod.spec.containers) {
      if (x.name == sel.container_name) c = &x;
    }
    if (!c) return Invalid("container " + sel.container_name + " not found");
  }
  auto dot = sel.resource.find('.');
  if (dot == std::string::npos) return Invalid("unsupported resourceFieldRef " + sel.resource);
  std::string kind = sel.resource.substr(0, dot), res = sel.resource.substr(dot + 1);
  const auto& m = kind == "limits" ? c->resources.limits : c->resources.requests;
  auto it = m.find(res);
  int64_t milli = 0;
  if (it != m.end()) {
    milli = it->second.MilliValue();
  } else if (kind == "limits") {
    return std::string("0");  // no limit: upstream reports node allocatable; unknown here
  }
  int64_t div_milli = sel.divisor && !sel.divisor->IsZero() ? sel.divisor->MilliValue() : 1000;
  if (res == "cpu" && !sel.divisor) div_milli = 1000;
  // Round up, as upstream ExtractContainerResourceValue.
  int64_t v = (milli + div_milli - 1) / div_milli;
  return std::to_string(v);
}

}  // namespace

Result<std::vector<std::pair<std::string, std::string>>> MakeEnvironment(const api::Pod& pod,
                                                                         const api::Container& c,
                                                                         const PodContext& ctx) {
  std::vector<std::pair<std::string, std::string>> env;
  std::map<std::string, size_t> index;
  auto set = [&](const std::string& k, std::string v) {
    if (auto it = index.find(k); it != index.end()) {
      env[it->second].second = std::move(v);
    } else {
      index[k] = env.size();
      env.emplace_back(k, std::move(v));
    }
  };
  // A missing object is nullopt; an object that exists but cannot be used is an error either way.
  auto fetch = [&](const PodContext::ObjectLookup& get, const std::string& kind,
                   const std::string& name) -> Result<std::optional<std::map<std::string, std::string>>> {
    if (!get) return Error(kind + " \"" + name + "\" not found", ErrorCode::kNotFound);
    auto r = get(pod.metadata.namespace_.empty() ? "default" : pod.metadata.namespace_, name);
    if (r.ok()) return std::optional(std::move(*r));
    if (r.error().is(ErrorCode::kNotFound)) return std::optional<std::map<std::string, std::string>>();
    return std::move(r).error();
  };
  for (const auto& from : c.env_from) {
    std::optional<std::map<std::string, std::string>> data;
    bool optional = false;
    std::string kind, name;
    if (from.config_map_ref) {
      kind = "configmap";
      name = from.config_map_ref->name;
      optional = from.config_map_ref->optional.value_or(false);
      ASSIGN_OR_RETURN(data, fetch(ctx.config_map, kind, name));
    } else if (from.secret_ref) {
      kind = "secret";
      name = from.secret_ref->name;
      optional = from.secret_ref->optional.value_or(false);
      ASSIGN_OR_RETURN(data, fetch(ctx.secret, kind, name));
    } else {
      continue;
    }
    if (!data) {
      if (optional) continue;
      return Error(kind + " \"" + name + "\" not found", ErrorCode::kNotFound);
    }
    std::vector<std::string> invalid;
    for (const auto& [k, v] : *data) {
      std::string var = from.prefix + k;
      if (!EnvFromVarNameValid(var)) {
        invalid.push_back(k);
        continue;
      }
      set(var, v);
    }
    if (!invalid.empty()) {
      // As upstream: skipped, with the InvalidEnvironmentVariableNames event's wording.
      std::string keys;
      for (const auto& k : invalid) keys += (keys.empty() ? "" : ", ") + k;
      log::Warn("Keys [" + keys + "] from the EnvFrom " + kind + " " + pod.metadata.namespace_ + "/" + name +
                    " were skipped since they are considered invalid environment variable names.",
                {{"pod", pod.metadata.namespace_ + "/" + pod.metadata.name}, {"container", c.name},
                 {"reason", "InvalidEnvironmentVariableNames"}});
    }
  }
  auto lookup = [&](std::string_view name) -> std::optional<std::string> {
    auto it = index.find(std::string(name));
    if (it == index.end()) return std::nullopt;
    return env[it->second].second;
  };
  for (const auto& e : c.env) {
    if (!e.value_from) {
      set(e.name, ExpandVars(e.value, lookup));
      continue;
    }
    const auto& vf = *e.value_from;
    if (vf.field_ref) {
      ASSIGN_OR_RETURN(std::string v, FieldRef(pod, vf.field_ref->field_path, ctx));
      set(e.name, v);
    } else if (vf.resource_field_ref) {
      ASSIGN_OR_RETURN(std::string v, ResourceRef(pod, c, *vf.resource_field_ref));
      set(e.name, v);
    } else if (vf.config_map_key_ref || vf.secret_key_ref) {
      bool is_cm = vf.config_map_key_ref.has_value();
      const auto& ref = is_cm ? *vf.config_map_key_ref : *vf.secret_key_ref;
      ASSIGN_OR_RETURN(auto data, fetch(is_cm ? ctx.config_map : ctx.secret, is_cm ? "configmap" : "secret",
                                        ref.name));
      bool optional = ref.optional.value_or(false);
      if (!data) {
        if (optional) continue;
        return Error(std::string(is_cm ? "configmap" : "secret") + " \"" + ref.name + "\" not found",
                     ErrorCode::kNotFound);
      }
      auto it = data->find(ref.key);
      if (it == data->end()) {
        if (optional) continue;
        return Error("couldn't find key " + ref.key + " in " + (is_cm ? "ConfigMap " : "Secret ") +
                         pod.metadata.namespace_ + "/" + ref.name,
                     ErrorCode::kNotFound);
      }
      set(e.name, it->second);
    }
  }
  return env;
}

runtime::Resources MakeResources(const api::Container& c) {
  runtime::Resources r;
  auto req = c.resources.requests.find("cpu");
  auto lim = c.resources.limits.find("cpu");
  // Upstream: requests default to limits when only limits are set (API defaulting).
  int64_t req_milli = req != c.resources.requests.end() ? req->second.MilliValue()
                      : lim != c.resources.limits.end() ? lim->second.MilliValue()
                                                        : 0;
  // MilliCPUToShares: minShares 2, 1024 shares per CPU.
  int64_t shares = req_milli == 0 ? 2 : req_milli * 1024 / 1000;
  r.cpu_shares = std::clamp<int64_t>(shares, 2, 262144);
  if (lim != c.resources.limits.end() && lim->second.MilliValue() > 0) {
    r.cpu_period_us = 100000;
    // MilliCPUToQuota: at least 1 ms.
    r.cpu_quota_us = std::max<int64_t>(lim->second.MilliValue() * 100000 / 1000, 1000);
  }
  if (auto mem = c.resources.limits.find("memory"); mem != c.resources.limits.end()) {
    r.memory_limit_bytes = mem->second.Value();
  }
  return r;
}

Result<runtime::ContainerConfig> MakeContainerConfig(const api::Pod& pod, const api::Container& c,
                                                     uint32_t attempt, const PodContext& ctx,
                                                     std::vector<runtime::Mount> mounts) {
  runtime::ContainerConfig cc;
  cc.name = c.name;
  cc.attempt = attempt;
  cc.image = c.image;
  ASSIGN_OR_RETURN(cc.env, MakeEnvironment(pod, c, ctx));
  std::map<std::string, std::string> envmap(cc.env.begin(), cc.env.end());
  auto lookup = [&](std::string_view name) -> std::optional<std::string> {
    auto it = envmap.find(std::string(name));
    if (it == envmap.end()) return std::nullopt;
    return it->second;
  };
  for (const auto& s : c.command) cc.command.push_back(ExpandVars(s, lookup));
  for (const auto& s : c.args) cc.args.push_back(ExpandVars(s, lookup));
  cc.working_dir = c.working_dir;
  cc.mounts = std::move(mounts);
  cc.log_path = c.name + "/" + std::to_string(attempt) + ".log";
  cc.tty = c.tty;
  cc.stdin_open = c.stdin_;
  const api::SecurityContext* sc = c.security_context ? &*c.security_context : nullptr;
  const api::PodSecurityContext* psc = pod.spec.security_context ? &*pod.spec.security_context : nullptr;
  if (sc && sc->privileged) cc.security.privileged = *sc->privileged;
  cc.security.run_as_user = sc && sc->run_as_user ? sc->run_as_user : psc ? psc->run_as_user : std::nullopt;
  cc.security.run_as_group = sc && sc->run_as_group ? sc->run_as_group : psc ? psc->run_as_group : std::nullopt;
  if (sc && sc->capabilities) {
    cc.security.add_capabilities = sc->capabilities->add;
    cc.security.drop_capabilities = sc->capabilities->drop;
  }
  if (sc && sc->read_only_root_filesystem) cc.security.readonly_rootfs = *sc->read_only_root_filesystem;
  if (sc && sc->allow_privilege_escalation) cc.security.no_new_privs = !*sc->allow_privilege_escalation;
  if (psc) {
    cc.security.supplemental_groups = psc->supplemental_groups;
    if (psc->fs_group) cc.security.supplemental_groups.push_back(*psc->fs_group);
  }
  cc.resources = MakeResources(c);
  cc.labels = ContainerLabels(pod, c, attempt);
  cc.annotations[std::string(kContainerRestartCountLabel)] = std::to_string(attempt);
  cc.annotations["io.kubernetes.container.terminationMessagePath"] = c.termination_message_path;
  cc.annotations["io.kubernetes.container.terminationMessagePolicy"] = c.termination_message_policy;
  return cc;
}

}  // namespace nanolet::kubelet
