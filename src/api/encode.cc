#include "api/encode.h"

#include <nlohmann/json.hpp>

#include "api/base64.h"

namespace nanolet::api {
namespace {

using nlohmann::json;

// Helpers named for the Go struct tag they mirror: Opt* for `omitempty`, plain setters for fields
// always written.
void OptStr(json& j, const char* k, const std::string& v) {
  if (!v.empty()) j[k] = v;
}
void OptBool(json& j, const char* k, bool v) {
  if (v) j[k] = true;
}
void OptInt(json& j, const char* k, int64_t v) {
  if (v != 0) j[k] = v;
}
template <typename T>
void OptPtr(json& j, const char* k, const std::optional<T>& v) {
  if (v) j[k] = *v;
}
// metav1.Time as a non-pointer struct: omitempty does not apply, an unset time is null.
void TimeField(json& j, const char* k, const Time& t) {
  if (t.empty()) {
    j[k] = nullptr;
  } else {
    j[k] = t;
  }
}
void OptStrings(json& j, const char* k, const std::vector<std::string>& v) {
  if (!v.empty()) j[k] = v;
}
void OptMap(json& j, const char* k, const StringMap& m) {
  if (!m.empty()) j[k] = m;
}

json Q(const Quantity& q) { return q.String(); }
void OptResources(json& j, const char* k, const std::map<std::string, Quantity>& m) {
  if (m.empty()) return;
  json o = json::object();
  for (const auto& [name, q] : m) o[name] = Q(q);
  j[k] = std::move(o);
}
json IOS(const IntOrString& v) {
  if (v.is_string) return v.str_val;
  return v.int_val;
}

template <typename T, typename F>
void OptList(json& j, const char* k, const std::vector<T>& v, F enc) {
  if (v.empty()) return;
  json arr = json::array();
  for (const auto& x : v) arr.push_back(enc(x));
  j[k] = std::move(arr);
}

json TypeMetaOr(const TypeMeta& tm, const char* version, const char* kind) {
  json j = json::object();
  j["apiVersion"] = tm.api_version.empty() ? version : tm.api_version;
  j["kind"] = tm.kind.empty() ? kind : tm.kind;
  return j;
}

json E(const OwnerReference& o) {
  json j = json::object();
  j["apiVersion"] = o.api_version;
  j["kind"] = o.kind;
  j["name"] = o.name;
  j["uid"] = o.uid;
  OptPtr(j, "controller", o.controller);
  OptPtr(j, "blockOwnerDeletion", o.block_owner_deletion);
  return j;
}

json E(const ObjectFieldSelector& o) {
  json j = json::object();
  OptStr(j, "apiVersion", o.api_version);
  j["fieldPath"] = o.field_path;
  return j;
}
json E(const ResourceFieldSelector& o) {
  json j = json::object();
  OptStr(j, "containerName", o.container_name);
  j["resource"] = o.resource;
  if (o.divisor) j["divisor"] = Q(*o.divisor);
  return j;
}
json E(const KeySelector& o) {
  json j = json::object();
  OptStr(j, "name", o.name);
  j["key"] = o.key;
  OptPtr(j, "optional", o.optional);
  return j;
}
json E(const LocalObjectReferenceOpt& o) {
  json j = json::object();
  OptStr(j, "name", o.name);
  OptPtr(j, "optional", o.optional);
  return j;
}
json E(const EnvVar& o) {
  json j = json::object();
  j["name"] = o.name;
  OptStr(j, "value", o.value);
  if (o.value_from) {
    json s = json::object();
    const auto& v = *o.value_from;
    if (v.field_ref) s["fieldRef"] = E(*v.field_ref);
    if (v.resource_field_ref) s["resourceFieldRef"] = E(*v.resource_field_ref);
    if (v.config_map_key_ref) s["configMapKeyRef"] = E(*v.config_map_key_ref);
    if (v.secret_key_ref) s["secretKeyRef"] = E(*v.secret_key_ref);
    j["valueFrom"] = std::move(s);
  }
  return j;
}
json E(const EnvFromSource& o) {
  json j = json::object();
  OptStr(j, "prefix", o.prefix);
  if (o.config_map_ref) j["configMapRef"] = E(*o.config_map_ref);
  if (o.secret_ref) j["secretRef"] = E(*o.secret_ref);
  return j;
}
json E(const ContainerPort& o) {
  json j = json::object();
  OptStr(j, "name", o.name);
  OptInt(j, "hostPort", o.host_port);
  j["containerPort"] = o.container_port;
  OptStr(j, "protocol", o.protocol);
  OptStr(j, "hostIP", o.host_ip);
  return j;
}
json E(const VolumeMount& o) {
  json j = json::object();
  j["name"] = o.name;
  OptBool(j, "readOnly", o.read_only);
  j["mountPath"] = o.mount_path;
  OptStr(j, "subPath", o.sub_path);
  OptPtr(j, "mountPropagation", o.mount_propagation);
  OptStr(j, "subPathExpr", o.sub_path_expr);
  return j;
}
json E(const ExecAction& o) {
  json j = json::object();
  OptStrings(j, "command", o.command);
  return j;
}
json E(const HTTPGetAction& o) {
  json j = json::object();
  OptStr(j, "path", o.path);
  j["port"] = IOS(o.port);
  OptStr(j, "host", o.host);
  OptStr(j, "scheme", o.scheme);
  OptList(j, "httpHeaders", o.http_headers, [](const HTTPHeader& h) {
    return json{{"name", h.name}, {"value", h.value}};
  });
  return j;
}
json E(const TCPSocketAction& o) {
  json j = json::object();
  j["port"] = IOS(o.port);
  OptStr(j, "host", o.host);
  return j;
}
json E(const GRPCAction& o) {
  json j = json::object();
  j["port"] = o.port;
  if (o.service) j["service"] = *o.service;
  return j;
}
json E(const Probe& o) {
  json j = json::object();
  const auto& h = o.handler;
  if (h.exec) j["exec"] = E(*h.exec);
  if (h.http_get) j["httpGet"] = E(*h.http_get);
  if (h.tcp_socket) j["tcpSocket"] = E(*h.tcp_socket);
  if (h.grpc) j["grpc"] = E(*h.grpc);
  OptInt(j, "initialDelaySeconds", o.initial_delay_seconds);
  OptInt(j, "timeoutSeconds", o.timeout_seconds);
  OptInt(j, "periodSeconds", o.period_seconds);
  OptInt(j, "successThreshold", o.success_threshold);
  OptInt(j, "failureThreshold", o.failure_threshold);
  OptPtr(j, "terminationGracePeriodSeconds", o.termination_grace_period_seconds);
  return j;
}
json E(const LifecycleHandler& o) {
  json j = json::object();
  if (o.exec) j["exec"] = E(*o.exec);
  if (o.http_get) j["httpGet"] = E(*o.http_get);
  if (o.tcp_socket) j["tcpSocket"] = E(*o.tcp_socket);
  if (o.sleep) j["sleep"] = json{{"seconds", o.sleep->seconds}};
  return j;
}
json E(const SeccompProfile& o) {
  json j = json::object();
  j["type"] = o.type;
  OptPtr(j, "localhostProfile", o.localhost_profile);
  return j;
}
json E(const SecurityContext& o) {
  json j = json::object();
  if (o.capabilities) {
    json c = json::object();
    OptStrings(c, "add", o.capabilities->add);
    OptStrings(c, "drop", o.capabilities->drop);
    j["capabilities"] = std::move(c);
  }
  OptPtr(j, "privileged", o.privileged);
  OptPtr(j, "runAsUser", o.run_as_user);
  OptPtr(j, "runAsGroup", o.run_as_group);
  OptPtr(j, "runAsNonRoot", o.run_as_non_root);
  OptPtr(j, "readOnlyRootFilesystem", o.read_only_root_filesystem);
  OptPtr(j, "allowPrivilegeEscalation", o.allow_privilege_escalation);
  if (o.seccomp_profile) j["seccompProfile"] = E(*o.seccomp_profile);
  return j;
}
json E(const Container& o) {
  json j = json::object();
  j["name"] = o.name;
  OptStr(j, "image", o.image);
  OptStrings(j, "command", o.command);
  OptStrings(j, "args", o.args);
  OptStr(j, "workingDir", o.working_dir);
  OptList(j, "ports", o.ports, [](const auto& x) { return E(x); });
  OptList(j, "envFrom", o.env_from, [](const auto& x) { return E(x); });
  OptList(j, "env", o.env, [](const auto& x) { return E(x); });
  json res = json::object();
  OptResources(res, "limits", o.resources.limits);
  OptResources(res, "requests", o.resources.requests);
  j["resources"] = std::move(res);
  OptPtr(j, "restartPolicy", o.restart_policy);
  OptList(j, "volumeMounts", o.volume_mounts, [](const auto& x) { return E(x); });
  if (o.liveness_probe) j["livenessProbe"] = E(*o.liveness_probe);
  if (o.readiness_probe) j["readinessProbe"] = E(*o.readiness_probe);
  if (o.startup_probe) j["startupProbe"] = E(*o.startup_probe);
  if (o.lifecycle) {
    json l = json::object();
    if (o.lifecycle->post_start) l["postStart"] = E(*o.lifecycle->post_start);
    if (o.lifecycle->pre_stop) l["preStop"] = E(*o.lifecycle->pre_stop);
    j["lifecycle"] = std::move(l);
  }
  OptStr(j, "terminationMessagePath", o.termination_message_path);
  OptStr(j, "terminationMessagePolicy", o.termination_message_policy);
  OptStr(j, "imagePullPolicy", o.image_pull_policy);
  if (o.security_context) j["securityContext"] = E(*o.security_context);
  OptBool(j, "stdin", o.stdin_);
  OptBool(j, "stdinOnce", o.stdin_once);
  OptBool(j, "tty", o.tty);
  return j;
}

json E(const KeyToPath& o) {
  json j = json::object();
  j["key"] = o.key;
  j["path"] = o.path;
  OptPtr(j, "mode", o.mode);
  return j;
}
json E(const DownwardAPIVolumeFile& o) {
  json j = json::object();
  j["path"] = o.path;
  if (o.field_ref) j["fieldRef"] = E(*o.field_ref);
  if (o.resource_field_ref) j["resourceFieldRef"] = E(*o.resource_field_ref);
  OptPtr(j, "mode", o.mode);
  return j;
}
json E(const DownwardAPIVolumeSource& o) {
  json j = json::object();
  OptList(j, "items", o.items, [](const auto& x) { return E(x); });
  OptPtr(j, "defaultMode", o.default_mode);
  return j;
}
json E(const ConfigMapVolumeSource& o, bool projection) {
  json j = json::object();
  OptStr(j, "name", o.name);
  OptList(j, "items", o.items, [](const auto& x) { return E(x); });
  if (!projection) OptPtr(j, "defaultMode", o.default_mode);
  OptPtr(j, "optional", o.optional);
  return j;
}
json E(const SecretVolumeSource& o, bool projection) {
  json j = json::object();
  // SecretProjection names the secret "name"; SecretVolumeSource "secretName".
  OptStr(j, projection ? "name" : "secretName", o.secret_name);
  OptList(j, "items", o.items, [](const auto& x) { return E(x); });
  if (!projection) OptPtr(j, "defaultMode", o.default_mode);
  OptPtr(j, "optional", o.optional);
  return j;
}
json E(const Volume& o) {
  json j = json::object();
  j["name"] = o.name;
  if (o.empty_dir) {
    json e = json::object();
    OptStr(e, "medium", o.empty_dir->medium);
    if (o.empty_dir->size_limit) e["sizeLimit"] = Q(*o.empty_dir->size_limit);
    j["emptyDir"] = std::move(e);
  }
  if (o.host_path) {
    json h = json::object();
    h["path"] = o.host_path->path;
    OptPtr(h, "type", o.host_path->type);
    j["hostPath"] = std::move(h);
  }
  if (o.config_map) j["configMap"] = E(*o.config_map, false);
  if (o.secret) j["secret"] = E(*o.secret, false);
  if (o.downward_api) j["downwardAPI"] = E(*o.downward_api);
  // A source nanolet does not run (nfs, iscsi, ...): named, so that /pods shows what the pod asked for and a
  // decode of the output gives the same volume back (fuzz_decode's round trip found it dropped).
  if (!o.other_source.empty()) j[o.other_source] = json::object();
  if (o.projected) {
    json p = json::object();
    json sources = json::array();
    for (const auto& s : o.projected->sources) {
      json sj = json::object();
      if (s.secret) sj["secret"] = E(*s.secret, true);
      if (s.downward_api) sj["downwardAPI"] = E(*s.downward_api);
      if (s.config_map) sj["configMap"] = E(*s.config_map, true);
      if (s.service_account_token) {
        json t = json::object();
        OptStr(t, "audience", s.service_account_token->audience);
        OptPtr(t, "expirationSeconds", s.service_account_token->expiration_seconds);
        t["path"] = s.service_account_token->path;
        sj["serviceAccountToken"] = std::move(t);
      }
      sources.push_back(std::move(sj));
    }
    p["sources"] = o.projected->sources.empty() ? json(nullptr) : std::move(sources);
    OptPtr(p, "defaultMode", o.projected->default_mode);
    j["projected"] = std::move(p);
  }
  if (o.persistent_volume_claim) {
    json c = json::object();
    c["claimName"] = o.persistent_volume_claim->claim_name;
    OptBool(c, "readOnly", o.persistent_volume_claim->read_only);
    j["persistentVolumeClaim"] = std::move(c);
  }
  return j;
}

json E(const PodSecurityContext& o) {
  json j = json::object();
  OptPtr(j, "runAsUser", o.run_as_user);
  OptPtr(j, "runAsGroup", o.run_as_group);
  OptPtr(j, "runAsNonRoot", o.run_as_non_root);
  if (!o.supplemental_groups.empty()) j["supplementalGroups"] = o.supplemental_groups;
  OptPtr(j, "fsGroup", o.fs_group);
  OptPtr(j, "fsGroupChangePolicy", o.fs_group_change_policy);
  if (o.seccomp_profile) j["seccompProfile"] = E(*o.seccomp_profile);
  return j;
}

json E(const PodSpec& o) {
  json j = json::object();
  OptList(j, "volumes", o.volumes, [](const auto& x) { return E(x); });
  OptList(j, "initContainers", o.init_containers, [](const auto& x) { return E(x); });
  // `json:"containers"` has no omitempty: a nil slice is written as null.
  if (o.containers.empty()) {
    j["containers"] = nullptr;
  } else {
    OptList(j, "containers", o.containers, [](const auto& x) { return E(x); });
  }
  OptStr(j, "restartPolicy", o.restart_policy);
  OptPtr(j, "terminationGracePeriodSeconds", o.termination_grace_period_seconds);
  OptPtr(j, "activeDeadlineSeconds", o.active_deadline_seconds);
  OptStr(j, "dnsPolicy", o.dns_policy);
  OptMap(j, "nodeSelector", o.node_selector);
  OptStr(j, "serviceAccountName", o.service_account_name);
  OptPtr(j, "automountServiceAccountToken", o.automount_service_account_token);
  OptStr(j, "nodeName", o.node_name);
  OptBool(j, "hostNetwork", o.host_network);
  OptBool(j, "hostPID", o.host_pid);
  OptBool(j, "hostIPC", o.host_ipc);
  OptPtr(j, "shareProcessNamespace", o.share_process_namespace);
  if (o.security_context) j["securityContext"] = E(*o.security_context);
  OptList(j, "imagePullSecrets", o.image_pull_secrets, [](const LocalObjectReference& r) {
    json x = json::object();
    OptStr(x, "name", r.name);
    return x;
  });
  OptStr(j, "hostname", o.hostname);
  OptStr(j, "subdomain", o.subdomain);
  OptStr(j, "schedulerName", o.scheduler_name);
  OptList(j, "tolerations", o.tolerations, [](const Toleration& t) {
    json x = json::object();
    OptStr(x, "key", t.key);
    OptStr(x, "operator", t.operator_);
    OptStr(x, "value", t.value);
    OptStr(x, "effect", t.effect);
    OptPtr(x, "tolerationSeconds", t.toleration_seconds);
    return x;
  });
  OptList(j, "hostAliases", o.host_aliases, [](const HostAlias& h) {
    json x = json::object();
    x["ip"] = h.ip;
    OptStrings(x, "hostnames", h.hostnames);
    return x;
  });
  OptStr(j, "priorityClassName", o.priority_class_name);
  OptPtr(j, "priority", o.priority);
  if (o.dns_config) {
    json d = json::object();
    OptStrings(d, "nameservers", o.dns_config->nameservers);
    OptStrings(d, "searches", o.dns_config->searches);
    OptList(d, "options", o.dns_config->options, [](const PodDNSConfigOption& op) {
      json x = json::object();
      OptStr(x, "name", op.name);
      OptPtr(x, "value", op.value);
      return x;
    });
    j["dnsConfig"] = std::move(d);
  }
  OptPtr(j, "enableServiceLinks", o.enable_service_links);
  return j;
}

json E(const ContainerState& o) {
  json j = json::object();
  if (o.waiting) {
    json w = json::object();
    OptStr(w, "reason", o.waiting->reason);
    OptStr(w, "message", o.waiting->message);
    j["waiting"] = std::move(w);
  }
  if (o.running) {
    json r = json::object();
    TimeField(r, "startedAt", o.running->started_at);
    j["running"] = std::move(r);
  }
  if (o.terminated) {
    const auto& t = *o.terminated;
    json x = json::object();
    x["exitCode"] = t.exit_code;
    OptInt(x, "signal", t.signal);
    OptStr(x, "reason", t.reason);
    OptStr(x, "message", t.message);
    TimeField(x, "startedAt", t.started_at);
    TimeField(x, "finishedAt", t.finished_at);
    OptStr(x, "containerID", t.container_id);
    j["terminated"] = std::move(x);
  }
  return j;
}

json E(const ContainerStatus& o) {
  json j = json::object();
  j["name"] = o.name;
  j["state"] = E(o.state);
  j["lastState"] = E(o.last_state);
  j["ready"] = o.ready;
  j["restartCount"] = o.restart_count;
  j["image"] = o.image;
  j["imageID"] = o.image_id;
  OptStr(j, "containerID", o.container_id);
  OptPtr(j, "started", o.started);
  return j;
}

json E(const PodStatus& o) {
  json j = json::object();
  OptStr(j, "phase", o.phase);
  OptList(j, "conditions", o.conditions, [](const PodCondition& c) {
    json x = json::object();
    x["type"] = c.type;
    x["status"] = c.status;
    TimeField(x, "lastProbeTime", c.last_probe_time);
    TimeField(x, "lastTransitionTime", c.last_transition_time);
    OptStr(x, "reason", c.reason);
    OptStr(x, "message", c.message);
    return x;
  });
  OptStr(j, "message", o.message);
  OptStr(j, "reason", o.reason);
  OptStr(j, "hostIP", o.host_ip);
  auto ips = [](const PodIP& ip) { return json{{"ip", ip.ip}}; };
  OptList(j, "hostIPs", o.host_ips, ips);
  OptStr(j, "podIP", o.pod_ip);
  OptList(j, "podIPs", o.pod_ips, ips);
  OptStr(j, "startTime", o.start_time);
  OptList(j, "initContainerStatuses", o.init_container_statuses,
          [](const auto& x) { return E(x); });
  OptList(j, "containerStatuses", o.container_statuses, [](const auto& x) { return E(x); });
  OptStr(j, "qosClass", o.qos_class);
  return j;
}

}  // namespace

json EncodeMeta(const ObjectMeta& m) {
  json j = json::object();
  OptStr(j, "name", m.name);
  OptStr(j, "generateName", m.generate_name);
  OptStr(j, "namespace", m.namespace_);
  OptStr(j, "uid", m.uid);
  OptStr(j, "resourceVersion", m.resource_version);
  OptInt(j, "generation", m.generation);
  TimeField(j, "creationTimestamp", m.creation_timestamp);
  OptStr(j, "deletionTimestamp", m.deletion_timestamp);
  OptPtr(j, "deletionGracePeriodSeconds", m.deletion_grace_period_seconds);
  OptMap(j, "labels", m.labels);
  OptMap(j, "annotations", m.annotations);
  OptList(j, "ownerReferences", m.owner_references, [](const auto& x) { return E(x); });
  OptStrings(j, "finalizers", m.finalizers);
  return j;
}

json EncodeStatus(const PodStatus& status) { return E(status); }

json Encode(const Pod& pod) {
  json j = TypeMetaOr(pod.type_meta, "v1", "Pod");
  j["metadata"] = EncodeMeta(pod.metadata);
  j["spec"] = E(pod.spec);
  j["status"] = E(pod.status);
  return j;
}

json Encode(const PodList& list) {
  json j = TypeMetaOr(list.type_meta, "v1", "PodList");
  json meta = json::object();
  OptStr(meta, "resourceVersion", list.resource_version);
  j["metadata"] = std::move(meta);
  json items = json::array();
  for (const auto& p : list.items) items.push_back(Encode(p));
  j["items"] = std::move(items);
  return j;
}

json Encode(const Workload& w) {
  json j = TypeMetaOr(w.type_meta, "apps/v1", "Deployment");
  j["metadata"] = EncodeMeta(w.metadata);
  json spec = json::object();
  OptPtr(spec, "replicas", w.replicas);
  spec["template"] =
      json{{"metadata", EncodeMeta(w.template_.metadata)}, {"spec", E(w.template_.spec)}};
  j["spec"] = std::move(spec);
  return j;
}

json Encode(const ConfigMap& cm) {
  json j = TypeMetaOr(cm.type_meta, "v1", "ConfigMap");
  j["metadata"] = EncodeMeta(cm.metadata);
  OptPtr(j, "immutable", cm.immutable);
  OptMap(j, "data", cm.data);
  if (!cm.binary_data.empty()) {
    json b = json::object();
    for (const auto& [k, v] : cm.binary_data) b[k] = internal::Base64Encode(v);
    j["binaryData"] = std::move(b);
  }
  return j;
}

json Encode(const Secret& s) {
  json j = TypeMetaOr(s.type_meta, "v1", "Secret");
  j["metadata"] = EncodeMeta(s.metadata);
  OptPtr(j, "immutable", s.immutable);
  if (!s.data.empty()) {
    json d = json::object();
    for (const auto& [k, v] : s.data) d[k] = internal::Base64Encode(v);
    j["data"] = std::move(d);
  }
  OptStr(j, "type", s.type);
  return j;
}

json Encode(const Node& node) {
  json j = TypeMetaOr(node.type_meta, "v1", "Node");
  j["metadata"] = EncodeMeta(node.metadata);
  json spec = json::object();
  OptStr(spec, "podCIDR", node.spec.pod_cidr);
  OptStrings(spec, "podCIDRs", node.spec.pod_cidrs);
  OptStr(spec, "providerID", node.spec.provider_id);
  OptBool(spec, "unschedulable", node.spec.unschedulable);
  OptList(spec, "taints", node.spec.taints, [](const Taint& t) {
    json x = json::object();
    x["key"] = t.key;
    OptStr(x, "value", t.value);
    x["effect"] = t.effect;
    OptStr(x, "timeAdded", t.time_added);
    return x;
  });
  j["spec"] = std::move(spec);
  const NodeStatus& s = node.status;
  json st = json::object();
  OptResources(st, "capacity", s.capacity);
  OptResources(st, "allocatable", s.allocatable);
  OptList(st, "conditions", s.conditions, [](const NodeCondition& c) {
    json x = json::object();
    x["type"] = c.type;
    x["status"] = c.status;
    TimeField(x, "lastHeartbeatTime", c.last_heartbeat_time);
    TimeField(x, "lastTransitionTime", c.last_transition_time);
    OptStr(x, "reason", c.reason);
    OptStr(x, "message", c.message);
    return x;
  });
  OptList(st, "addresses", s.addresses, [](const NodeAddress& a) {
    return json{{"type", a.type}, {"address", a.address}};
  });
  st["daemonEndpoints"] = json{{"kubeletEndpoint", json{{"Port", s.kubelet_endpoint_port}}}};
  const NodeSystemInfo& i = s.node_info;
  st["nodeInfo"] = json{{"machineID", i.machine_id},
                        {"systemUUID", i.system_uuid},
                        {"bootID", i.boot_id},
                        {"kernelVersion", i.kernel_version},
                        {"osImage", i.os_image},
                        {"containerRuntimeVersion", i.container_runtime_version},
                        {"kubeletVersion", i.kubelet_version},
                        {"kubeProxyVersion", i.kube_proxy_version},
                        {"operatingSystem", i.operating_system},
                        {"architecture", i.architecture}};
  j["status"] = std::move(st);
  return j;
}

json Encode(const Lease& lease) {
  json j = TypeMetaOr(lease.type_meta, "coordination.k8s.io/v1", "Lease");
  j["metadata"] = EncodeMeta(lease.metadata);
  json spec = json::object();
  OptPtr(spec, "holderIdentity", lease.holder_identity);
  OptPtr(spec, "leaseDurationSeconds", lease.lease_duration_seconds);
  OptPtr(spec, "acquireTime", lease.acquire_time);
  OptPtr(spec, "renewTime", lease.renew_time);
  OptPtr(spec, "leaseTransitions", lease.lease_transitions);
  j["spec"] = std::move(spec);
  return j;
}

json Encode(const Event& e) {
  json j = TypeMetaOr(e.type_meta, "v1", "Event");
  j["metadata"] = EncodeMeta(e.metadata);
  json io = json::object();
  const ObjectReference& r = e.involved_object;
  OptStr(io, "kind", r.kind);
  OptStr(io, "namespace", r.namespace_);
  OptStr(io, "name", r.name);
  OptStr(io, "uid", r.uid);
  OptStr(io, "apiVersion", r.api_version);
  OptStr(io, "resourceVersion", r.resource_version);
  OptStr(io, "fieldPath", r.field_path);
  j["involvedObject"] = std::move(io);
  OptStr(j, "reason", e.reason);
  OptStr(j, "message", e.message);
  json src = json::object();
  OptStr(src, "component", e.source.component);
  OptStr(src, "host", e.source.host);
  j["source"] = std::move(src);
  TimeField(j, "firstTimestamp", e.first_timestamp);
  TimeField(j, "lastTimestamp", e.last_timestamp);
  OptInt(j, "count", e.count);
  OptStr(j, "type", e.type);
  j["eventTime"] = nullptr;
  j["reportingComponent"] = e.reporting_component;
  j["reportingInstance"] = e.reporting_instance;
  return j;
}

}  // namespace nanolet::api
