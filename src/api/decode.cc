#include "api/decode.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "api/base64.h"
#include "api/yaml_json.h"
#include "util/strings.h"

namespace nanolet::api {
namespace {

using internal::JoinIndex;
using internal::JoinKey;
using nlohmann::json;

// ---- decoding context ----

// A location: the field path reported to users ("spec.containers[0].image", map keys as "[key]")
// and the generic source path the YAML line map is keyed by (relative to the document root).
struct P {
  std::string field;
  std::string src;
  P Child(std::string_view name) const { return {JoinKey(field, name), JoinKey(src, name)}; }
  P Index(size_t i) const { return {JoinIndex(field, i), JoinIndex(src, i)}; }
  P Key(std::string_view key) const {
    return {field + "[" + std::string(key) + "]", JoinKey(src, key)};
  }
};

struct Ctx {
  const std::unordered_map<std::string, int>* src_lines = nullptr;  // null for apiserver JSON
  std::map<std::string, int>* lines = nullptr;
  int default_line = 0;
  std::vector<Diagnostic> errors;
  std::vector<Diagnostic> warnings;

  int LineOf(const P& p) const {
    if (src_lines == nullptr) return 0;
    auto it = src_lines->find(p.src);
    return it == src_lines->end() ? default_line : it->second;
  }
  void Record(const P& p) {
    if (lines == nullptr || src_lines == nullptr) return;
    auto it = src_lines->find(p.src);
    if (it != src_lines->end()) (*lines)[p.field] = it->second;
  }
  void Error(const P& p, std::string message) {
    Diagnostic d;
    d.line = LineOf(p);
    d.field = p.field;
    d.message = std::move(message);
    errors.push_back(std::move(d));
  }
  void Warn(const P& p, std::string message) {
    Diagnostic d;
    d.line = LineOf(p);
    d.message = std::move(message);
    d.warning = true;
    warnings.push_back(std::move(d));
  }
};


std::string Repr(const json& j) {
  if (j.is_string()) return Quote(j.get_ref<const std::string&>());
  std::string s = j.dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

void TypeError(Ctx& c, const P& p, const json& j, std::string_view want) {
  c.Error(p, "Invalid value: " + Repr(j) + ": must be " + std::string(want));
}

// ---- scalars ----

void D(const json& j, const P& p, Ctx& c, std::string& out) {
  if (j.is_null()) return;
  if (!j.is_string()) return TypeError(c, p, j, "a string");
  out = j.get<std::string>();
}

void D(const json& j, const P& p, Ctx& c, bool& out) {
  if (j.is_null()) return;
  if (!j.is_boolean()) return TypeError(c, p, j, "a boolean");
  out = j.get<bool>();
}

template <typename Int>
void DecodeInt(const json& j, const P& p, Ctx& c, Int& out) {
  if (j.is_null()) return;
  const char* bits = sizeof(Int) == 4 ? "a 32-bit integer" : "a 64-bit integer";
  if (j.is_number_integer() && !j.is_number_unsigned()) {
    int64_t v = j.get<int64_t>();
    if (v < std::numeric_limits<Int>::min() || v > std::numeric_limits<Int>::max()) {
      return TypeError(c, p, j, bits);
    }
    out = static_cast<Int>(v);
    return;
  }
  if (j.is_number_unsigned()) {
    uint64_t v = j.get<uint64_t>();
    if (v > static_cast<uint64_t>(std::numeric_limits<Int>::max())) return TypeError(c, p, j, bits);
    out = static_cast<Int>(v);
    return;
  }
  if (j.is_number_float()) {
    double d = j.get<double>();
    if (std::floor(d) == d && d >= static_cast<double>(std::numeric_limits<Int>::min()) &&
        d <= static_cast<double>(std::numeric_limits<Int>::max())) {
      out = static_cast<Int>(d);
      return;
    }
  }
  TypeError(c, p, j, "an integer");
}
void D(const json& j, const P& p, Ctx& c, int32_t& out) { DecodeInt(j, p, c, out); }
void D(const json& j, const P& p, Ctx& c, int64_t& out) { DecodeInt(j, p, c, out); }

void D(const json& j, const P& p, Ctx& c, Quantity& out) {
  if (j.is_null()) return;
  std::string text;
  if (j.is_string()) {
    text = j.get<std::string>();
  } else if (j.is_number()) {
    text = j.dump();
  } else {
    return TypeError(c, p, j, "a quantity (a string or a number)");
  }
  auto q = Quantity::Parse(text);
  if (!q.ok()) return c.Error(p, "Invalid value: " + Quote(text) + ": " + q.error().message());
  out = *q;
}

void D(const json& j, const P& p, Ctx& c, IntOrString& out) {
  if (j.is_null()) return;
  if (j.is_string()) {
    out = IntOrString::Str(j.get<std::string>());
    return;
  }
  int32_t v = 0;
  size_t before = c.errors.size();
  if (!j.is_number()) return TypeError(c, p, j, "an integer or a string");
  DecodeInt(j, p, c, v);
  if (c.errors.size() == before) out = IntOrString::Int(v);
}

// ---- containers of values ----

template <typename T>
void D(const json& j, const P& p, Ctx& c, std::optional<T>& out);
template <typename T>
void D(const json& j, const P& p, Ctx& c, std::vector<T>& out);
template <typename T>
void D(const json& j, const P& p, Ctx& c, std::map<std::string, T>& out);

// Struct decoders (defined below).
#define NANOLET_DECL(T) void D(const json& j, const P& p, Ctx& c, T& out);
NANOLET_DECL(OwnerReference)
NANOLET_DECL(ObjectMeta)
NANOLET_DECL(ContainerPort)
NANOLET_DECL(ObjectFieldSelector)
NANOLET_DECL(ResourceFieldSelector)
NANOLET_DECL(KeySelector)
NANOLET_DECL(EnvVarSource)
NANOLET_DECL(EnvVar)
NANOLET_DECL(LocalObjectReferenceOpt)
NANOLET_DECL(EnvFromSource)
NANOLET_DECL(ResourceRequirements)
NANOLET_DECL(VolumeMount)
NANOLET_DECL(ExecAction)
NANOLET_DECL(HTTPHeader)
NANOLET_DECL(HTTPGetAction)
NANOLET_DECL(TCPSocketAction)
NANOLET_DECL(GRPCAction)
NANOLET_DECL(SleepAction)
NANOLET_DECL(Probe)
NANOLET_DECL(LifecycleHandler)
NANOLET_DECL(Lifecycle)
NANOLET_DECL(Capabilities)
NANOLET_DECL(SeccompProfile)
NANOLET_DECL(SecurityContext)
NANOLET_DECL(Container)
NANOLET_DECL(KeyToPath)
NANOLET_DECL(EmptyDirVolumeSource)
NANOLET_DECL(HostPathVolumeSource)
NANOLET_DECL(ConfigMapVolumeSource)
NANOLET_DECL(SecretVolumeSource)
NANOLET_DECL(DownwardAPIVolumeFile)
NANOLET_DECL(DownwardAPIVolumeSource)
NANOLET_DECL(ServiceAccountTokenProjection)
NANOLET_DECL(VolumeProjection)
NANOLET_DECL(ProjectedVolumeSource)
NANOLET_DECL(PersistentVolumeClaimVolumeSource)
NANOLET_DECL(Volume)
NANOLET_DECL(PodSecurityContext)
NANOLET_DECL(LocalObjectReference)
NANOLET_DECL(HostAlias)
NANOLET_DECL(PodDNSConfigOption)
NANOLET_DECL(PodDNSConfig)
NANOLET_DECL(Toleration)
NANOLET_DECL(PodSpec)
NANOLET_DECL(ContainerStateWaiting)
NANOLET_DECL(ContainerStateRunning)
NANOLET_DECL(ContainerStateTerminated)
NANOLET_DECL(ContainerState)
NANOLET_DECL(ContainerStatus)
NANOLET_DECL(PodCondition)
NANOLET_DECL(PodIP)
NANOLET_DECL(PodStatus)
NANOLET_DECL(PodTemplateSpec)
NANOLET_DECL(NodeCondition)
NANOLET_DECL(NodeAddress)
NANOLET_DECL(NodeSystemInfo)
NANOLET_DECL(Taint)
NANOLET_DECL(NodeSpec)
NANOLET_DECL(NodeStatus)
NANOLET_DECL(ObjectReference)
NANOLET_DECL(EventSource)
#undef NANOLET_DECL

template <typename T>
void D(const json& j, const P& p, Ctx& c, std::optional<T>& out) {
  if (j.is_null()) return;
  if (!out) out.emplace();
  D(j, p, c, *out);
}

template <typename T>
void D(const json& j, const P& p, Ctx& c, std::vector<T>& out) {
  if (j.is_null()) return;
  if (!j.is_array()) return TypeError(c, p, j, "a list");
  out.clear();
  out.resize(j.size());
  for (size_t i = 0; i < j.size(); ++i) {
    P cp = p.Index(i);
    c.Record(cp);
    D(j[i], cp, c, out[i]);
  }
}

template <typename T>
void D(const json& j, const P& p, Ctx& c, std::map<std::string, T>& out) {
  if (j.is_null()) return;
  if (!j.is_object()) return TypeError(c, p, j, "an object");
  for (auto& [k, v] : j.items()) {
    P cp = p.Key(k);
    c.Record(cp);
    D(v, cp, c, out[k]);
  }
}

// Walks the keys of one JSON object: Field() decodes a known key, Skip() accepts a key nanolet does
// not model, and the destructor warns about every other key as kubectl's strict decoding does.
class Fields {
 public:
  Fields(const json& j, const P& p, Ctx& c) : j_(j), p_(p), c_(c) {
    ok_ = j.is_object();
    if (!ok_ && !j.is_null()) TypeError(c, p, j, "an object");
  }
  ~Fields() {
    if (!ok_ || accept_rest_) return;
    for (auto& [k, v] : j_.items()) {
      if (std::find(seen_.begin(), seen_.end(), k) == seen_.end()) {
        P cp = p_.Child(k);
        c_.Warn(cp, "unknown field \"" + cp.field + "\"");
      }
    }
  }
  Fields(const Fields&) = delete;
  Fields& operator=(const Fields&) = delete;

  bool ok() const { return ok_; }
  const json* Get(std::string_view name) {
    if (!ok_) return nullptr;
    auto it = j_.find(name);
    if (it == j_.end()) return nullptr;
    seen_.push_back(std::string(name));
    return &*it;
  }
  template <typename T>
  Fields& F(std::string_view name, T& out) {
    if (const json* v = Get(name)) {
      P cp = p_.Child(name);
      c_.Record(cp);
      D(*v, cp, c_, out);
    }
    return *this;
  }
  Fields& Skip(std::initializer_list<std::string_view> names) {
    for (auto n : names) Get(n);
    return *this;
  }
  // Accepts every key not decoded (the parts of an object nanolet does not look at).
  void AcceptRest() { accept_rest_ = true; }

 private:
  const json& j_;
  const P& p_;
  Ctx& c_;
  bool ok_;
  bool accept_rest_ = false;
  std::vector<std::string> seen_;
};

// ---- struct decoders ----

void D(const json& j, const P& p, Ctx& c, OwnerReference& o) {
  Fields(j, p, c)
      .F("apiVersion", o.api_version)
      .F("kind", o.kind)
      .F("name", o.name)
      .F("uid", o.uid)
      .F("controller", o.controller)
      .F("blockOwnerDeletion", o.block_owner_deletion);
}

void D(const json& j, const P& p, Ctx& c, ObjectMeta& o) {
  Fields(j, p, c)
      .F("name", o.name)
      .F("generateName", o.generate_name)
      .F("namespace", o.namespace_)
      .F("uid", o.uid)
      .F("resourceVersion", o.resource_version)
      .F("generation", o.generation)
      .F("creationTimestamp", o.creation_timestamp)
      .F("deletionTimestamp", o.deletion_timestamp)
      .F("deletionGracePeriodSeconds", o.deletion_grace_period_seconds)
      .F("labels", o.labels)
      .F("annotations", o.annotations)
      .F("ownerReferences", o.owner_references)
      .F("finalizers", o.finalizers)
      .Skip({"selfLink", "managedFields"});
}

void D(const json& j, const P& p, Ctx& c, ContainerPort& o) {
  Fields(j, p, c)
      .F("name", o.name)
      .F("hostPort", o.host_port)
      .F("containerPort", o.container_port)
      .F("protocol", o.protocol)
      .F("hostIP", o.host_ip);
}

void D(const json& j, const P& p, Ctx& c, ObjectFieldSelector& o) {
  Fields(j, p, c).F("apiVersion", o.api_version).F("fieldPath", o.field_path);
}
void D(const json& j, const P& p, Ctx& c, ResourceFieldSelector& o) {
  Fields(j, p, c)
      .F("containerName", o.container_name)
      .F("resource", o.resource)
      .F("divisor", o.divisor);
}
void D(const json& j, const P& p, Ctx& c, KeySelector& o) {
  Fields(j, p, c).F("name", o.name).F("key", o.key).F("optional", o.optional);
}
void D(const json& j, const P& p, Ctx& c, EnvVarSource& o) {
  Fields(j, p, c)
      .F("fieldRef", o.field_ref)
      .F("resourceFieldRef", o.resource_field_ref)
      .F("configMapKeyRef", o.config_map_key_ref)
      .F("secretKeyRef", o.secret_key_ref)
      .Skip({"fileKeyRef"});
}
void D(const json& j, const P& p, Ctx& c, EnvVar& o) {
  Fields(j, p, c).F("name", o.name).F("value", o.value).F("valueFrom", o.value_from);
}
void D(const json& j, const P& p, Ctx& c, LocalObjectReferenceOpt& o) {
  Fields(j, p, c).F("name", o.name).F("optional", o.optional);
}
void D(const json& j, const P& p, Ctx& c, EnvFromSource& o) {
  Fields(j, p, c)
      .F("prefix", o.prefix)
      .F("configMapRef", o.config_map_ref)
      .F("secretRef", o.secret_ref);
}
void D(const json& j, const P& p, Ctx& c, ResourceRequirements& o) {
  Fields(j, p, c).F("limits", o.limits).F("requests", o.requests).Skip({"claims"});
}
void D(const json& j, const P& p, Ctx& c, VolumeMount& o) {
  Fields(j, p, c)
      .F("name", o.name)
      .F("readOnly", o.read_only)
      .F("mountPath", o.mount_path)
      .F("subPath", o.sub_path)
      .F("subPathExpr", o.sub_path_expr)
      .F("mountPropagation", o.mount_propagation)
      .Skip({"recursiveReadOnly"});
}
void D(const json& j, const P& p, Ctx& c, ExecAction& o) {
  Fields(j, p, c).F("command", o.command);
}
void D(const json& j, const P& p, Ctx& c, HTTPHeader& o) {
  Fields(j, p, c).F("name", o.name).F("value", o.value);
}
void D(const json& j, const P& p, Ctx& c, HTTPGetAction& o) {
  Fields(j, p, c)
      .F("path", o.path)
      .F("port", o.port)
      .F("host", o.host)
      .F("scheme", o.scheme)
      .F("httpHeaders", o.http_headers);
}
void D(const json& j, const P& p, Ctx& c, TCPSocketAction& o) {
  Fields(j, p, c).F("port", o.port).F("host", o.host);
}
void D(const json& j, const P& p, Ctx& c, GRPCAction& o) {
  Fields(j, p, c).F("port", o.port).F("service", o.service);
}
void D(const json& j, const P& p, Ctx& c, SleepAction& o) {
  Fields(j, p, c).F("seconds", o.seconds);
}
void D(const json& j, const P& p, Ctx& c, Probe& o) {
  Fields(j, p, c)
      .F("exec", o.handler.exec)
      .F("httpGet", o.handler.http_get)
      .F("tcpSocket", o.handler.tcp_socket)
      .F("grpc", o.handler.grpc)
      .F("initialDelaySeconds", o.initial_delay_seconds)
      .F("timeoutSeconds", o.timeout_seconds)
      .F("periodSeconds", o.period_seconds)
      .F("successThreshold", o.success_threshold)
      .F("failureThreshold", o.failure_threshold)
      .F("terminationGracePeriodSeconds", o.termination_grace_period_seconds);
}
void D(const json& j, const P& p, Ctx& c, LifecycleHandler& o) {
  Fields(j, p, c)
      .F("exec", o.exec)
      .F("httpGet", o.http_get)
      .F("tcpSocket", o.tcp_socket)
      .F("sleep", o.sleep);
}
void D(const json& j, const P& p, Ctx& c, Lifecycle& o) {
  Fields(j, p, c).F("postStart", o.post_start).F("preStop", o.pre_stop).Skip({"stopSignal"});
}
void D(const json& j, const P& p, Ctx& c, Capabilities& o) {
  Fields(j, p, c).F("add", o.add).F("drop", o.drop);
}
void D(const json& j, const P& p, Ctx& c, SeccompProfile& o) {
  Fields(j, p, c).F("type", o.type).F("localhostProfile", o.localhost_profile);
}
void D(const json& j, const P& p, Ctx& c, SecurityContext& o) {
  Fields(j, p, c)
      .F("capabilities", o.capabilities)
      .F("privileged", o.privileged)
      .F("runAsUser", o.run_as_user)
      .F("runAsGroup", o.run_as_group)
      .F("runAsNonRoot", o.run_as_non_root)
      .F("readOnlyRootFilesystem", o.read_only_root_filesystem)
      .F("allowPrivilegeEscalation", o.allow_privilege_escalation)
      .F("seccompProfile", o.seccomp_profile)
      .Skip({"seLinuxOptions", "windowsOptions", "procMount", "appArmorProfile"});
}
void D(const json& j, const P& p, Ctx& c, Container& o) {
  Fields(j, p, c)
      .F("name", o.name)
      .F("image", o.image)
      .F("command", o.command)
      .F("args", o.args)
      .F("workingDir", o.working_dir)
      .F("ports", o.ports)
      .F("envFrom", o.env_from)
      .F("env", o.env)
      .F("resources", o.resources)
      .F("restartPolicy", o.restart_policy)
      .F("volumeMounts", o.volume_mounts)
      .F("livenessProbe", o.liveness_probe)
      .F("readinessProbe", o.readiness_probe)
      .F("startupProbe", o.startup_probe)
      .F("lifecycle", o.lifecycle)
      .F("terminationMessagePath", o.termination_message_path)
      .F("terminationMessagePolicy", o.termination_message_policy)
      .F("imagePullPolicy", o.image_pull_policy)
      .F("securityContext", o.security_context)
      .F("stdin", o.stdin_)
      .F("stdinOnce", o.stdin_once)
      .F("tty", o.tty)
      .Skip({"resizePolicy", "volumeDevices", "restartPolicyRules"});
}
void D(const json& j, const P& p, Ctx& c, KeyToPath& o) {
  Fields(j, p, c).F("key", o.key).F("path", o.path).F("mode", o.mode);
}
void D(const json& j, const P& p, Ctx& c, EmptyDirVolumeSource& o) {
  Fields(j, p, c).F("medium", o.medium).F("sizeLimit", o.size_limit);
}
void D(const json& j, const P& p, Ctx& c, HostPathVolumeSource& o) {
  Fields(j, p, c).F("path", o.path).F("type", o.type);
}
void D(const json& j, const P& p, Ctx& c, ConfigMapVolumeSource& o) {
  Fields(j, p, c)
      .F("name", o.name)
      .F("items", o.items)
      .F("defaultMode", o.default_mode)
      .F("optional", o.optional);
}
void D(const json& j, const P& p, Ctx& c, SecretVolumeSource& o) {
  Fields(j, p, c)
      .F("secretName", o.secret_name)
      .F("items", o.items)
      .F("defaultMode", o.default_mode)
      .F("optional", o.optional);
}
void D(const json& j, const P& p, Ctx& c, DownwardAPIVolumeFile& o) {
  Fields(j, p, c)
      .F("path", o.path)
      .F("fieldRef", o.field_ref)
      .F("resourceFieldRef", o.resource_field_ref)
      .F("mode", o.mode);
}
void D(const json& j, const P& p, Ctx& c, DownwardAPIVolumeSource& o) {
  Fields(j, p, c).F("items", o.items).F("defaultMode", o.default_mode);
}
void D(const json& j, const P& p, Ctx& c, ServiceAccountTokenProjection& o) {
  Fields(j, p, c)
      .F("audience", o.audience)
      .F("expirationSeconds", o.expiration_seconds)
      .F("path", o.path);
}
void D(const json& j, const P& p, Ctx& c, VolumeProjection& o) {
  Fields f(j, p, c);
  f.F("configMap", o.config_map)
      .F("downwardAPI", o.downward_api)
      .F("serviceAccountToken", o.service_account_token)
      .Skip({"clusterTrustBundle", "podCertificate"});
  if (const json* s = f.Get("secret")) {
    // SecretProjection names the secret "name", unlike SecretVolumeSource's "secretName".
    P sp = p.Child("secret");
    c.Record(sp);
    if (!s->is_null()) {
      o.secret.emplace();
      Fields(*s, sp, c)
          .F("name", o.secret->secret_name)
          .F("items", o.secret->items)
          .F("optional", o.secret->optional);
    }
  }
}
void D(const json& j, const P& p, Ctx& c, ProjectedVolumeSource& o) {
  Fields(j, p, c).F("sources", o.sources).F("defaultMode", o.default_mode);
}
void D(const json& j, const P& p, Ctx& c, PersistentVolumeClaimVolumeSource& o) {
  Fields(j, p, c).F("claimName", o.claim_name).F("readOnly", o.read_only);
}

constexpr std::string_view kOtherVolumeSources[] = {"awsElasticBlockStore",
                                                    "gcePersistentDisk",
                                                    "gitRepo",
                                                    "nfs",
                                                    "iscsi",
                                                    "glusterfs",
                                                    "rbd",
                                                    "flexVolume",
                                                    "cinder",
                                                    "cephfs",
                                                    "flocker",
                                                    "fc",
                                                    "azureFile",
                                                    "azureDisk",
                                                    "vsphereVolume",
                                                    "quobyte",
                                                    "photonPersistentDisk",
                                                    "portworxVolume",
                                                    "scaleIO",
                                                    "storageos",
                                                    "csi",
                                                    "ephemeral",
                                                    "image"};

void D(const json& j, const P& p, Ctx& c, Volume& o) {
  Fields f(j, p, c);
  f.F("name", o.name)
      .F("emptyDir", o.empty_dir)
      .F("hostPath", o.host_path)
      .F("configMap", o.config_map)
      .F("secret", o.secret)
      .F("downwardAPI", o.downward_api)
      .F("projected", o.projected)
      .F("persistentVolumeClaim", o.persistent_volume_claim);
  for (auto name : kOtherVolumeSources) {
    const json* v = f.Get(name);
    if (v != nullptr && !v->is_null() && o.other_source.empty()) o.other_source = name;
  }
}
void D(const json& j, const P& p, Ctx& c, PodSecurityContext& o) {
  Fields(j, p, c)
      .F("runAsUser", o.run_as_user)
      .F("runAsGroup", o.run_as_group)
      .F("runAsNonRoot", o.run_as_non_root)
      .F("supplementalGroups", o.supplemental_groups)
      .F("fsGroup", o.fs_group)
      .F("fsGroupChangePolicy", o.fs_group_change_policy)
      .F("seccompProfile", o.seccomp_profile)
      .Skip({"seLinuxOptions", "windowsOptions", "sysctls",
             "supplementalGroupsPolicy", "appArmorProfile", "seLinuxChangePolicy"});
}
void D(const json& j, const P& p, Ctx& c, LocalObjectReference& o) {
  Fields(j, p, c).F("name", o.name);
}
void D(const json& j, const P& p, Ctx& c, HostAlias& o) {
  Fields(j, p, c).F("ip", o.ip).F("hostnames", o.hostnames);
}
void D(const json& j, const P& p, Ctx& c, PodDNSConfigOption& o) {
  Fields(j, p, c).F("name", o.name).F("value", o.value);
}
void D(const json& j, const P& p, Ctx& c, PodDNSConfig& o) {
  Fields(j, p, c).F("nameservers", o.nameservers).F("searches", o.searches).F("options", o.options);
}
void D(const json& j, const P& p, Ctx& c, Toleration& o) {
  Fields(j, p, c)
      .F("key", o.key)
      .F("operator", o.operator_)
      .F("value", o.value)
      .F("effect", o.effect)
      .F("tolerationSeconds", o.toleration_seconds);
}
void D(const json& j, const P& p, Ctx& c, PodSpec& o) {
  Fields(j, p, c)
      .F("volumes", o.volumes)
      .F("initContainers", o.init_containers)
      .F("containers", o.containers)
      .F("restartPolicy", o.restart_policy)
      .F("terminationGracePeriodSeconds", o.termination_grace_period_seconds)
      .F("activeDeadlineSeconds", o.active_deadline_seconds)
      .F("dnsPolicy", o.dns_policy)
      .F("nodeSelector", o.node_selector)
      .F("serviceAccountName", o.service_account_name)
      .F("automountServiceAccountToken", o.automount_service_account_token)
      .F("nodeName", o.node_name)
      .F("hostNetwork", o.host_network)
      .F("hostPID", o.host_pid)
      .F("hostIPC", o.host_ipc)
      .F("shareProcessNamespace", o.share_process_namespace)
      .F("securityContext", o.security_context)
      .F("imagePullSecrets", o.image_pull_secrets)
      .F("hostname", o.hostname)
      .F("subdomain", o.subdomain)
      .F("schedulerName", o.scheduler_name)
      .F("tolerations", o.tolerations)
      .F("hostAliases", o.host_aliases)
      .F("priorityClassName", o.priority_class_name)
      .F("priority", o.priority)
      .F("dnsConfig", o.dns_config)
      .F("enableServiceLinks", o.enable_service_links)
      .Skip({"ephemeralContainers", "serviceAccount", "affinity", "readinessGates",
             "runtimeClassName", "preemptionPolicy", "overhead", "topologySpreadConstraints",
             "setHostnameAsFQDN", "os", "hostUsers", "schedulingGates", "resourceClaims",
             "resources", "hostnameOverride"});
}
void D(const json& j, const P& p, Ctx& c, ContainerStateWaiting& o) {
  Fields(j, p, c).F("reason", o.reason).F("message", o.message);
}
void D(const json& j, const P& p, Ctx& c, ContainerStateRunning& o) {
  Fields(j, p, c).F("startedAt", o.started_at);
}
void D(const json& j, const P& p, Ctx& c, ContainerStateTerminated& o) {
  Fields(j, p, c)
      .F("exitCode", o.exit_code)
      .F("signal", o.signal)
      .F("reason", o.reason)
      .F("message", o.message)
      .F("startedAt", o.started_at)
      .F("finishedAt", o.finished_at)
      .F("containerID", o.container_id);
}
void D(const json& j, const P& p, Ctx& c, ContainerState& o) {
  Fields(j, p, c).F("waiting", o.waiting).F("running", o.running).F("terminated", o.terminated);
}
void D(const json& j, const P& p, Ctx& c, ContainerStatus& o) {
  Fields(j, p, c)
      .F("name", o.name)
      .F("state", o.state)
      .F("lastState", o.last_state)
      .F("ready", o.ready)
      .F("restartCount", o.restart_count)
      .F("image", o.image)
      .F("imageID", o.image_id)
      .F("containerID", o.container_id)
      .F("started", o.started)
      .Skip({"allocatedResources", "resources", "volumeMounts", "user", "allocatedResourcesStatus",
             "stopSignal"});
}
void D(const json& j, const P& p, Ctx& c, PodCondition& o) {
  Fields(j, p, c)
      .F("type", o.type)
      .F("status", o.status)
      .F("lastProbeTime", o.last_probe_time)
      .F("lastTransitionTime", o.last_transition_time)
      .F("reason", o.reason)
      .F("message", o.message)
      .Skip({"observedGeneration"});
}
void D(const json& j, const P& p, Ctx& c, PodIP& o) { Fields(j, p, c).F("ip", o.ip); }
void D(const json& j, const P& p, Ctx& c, PodStatus& o) {
  Fields(j, p, c)
      .F("phase", o.phase)
      .F("conditions", o.conditions)
      .F("message", o.message)
      .F("reason", o.reason)
      .F("hostIP", o.host_ip)
      .F("hostIPs", o.host_ips)
      .F("podIP", o.pod_ip)
      .F("podIPs", o.pod_ips)
      .F("startTime", o.start_time)
      .F("initContainerStatuses", o.init_container_statuses)
      .F("containerStatuses", o.container_statuses)
      .F("qosClass", o.qos_class)
      .Skip({"nominatedNodeName", "ephemeralContainerStatuses", "resize", "resourceClaimStatuses",
             "observedGeneration", "extendedResourceClaimStatus"});
}
void D(const json& j, const P& p, Ctx& c, PodTemplateSpec& o) {
  Fields(j, p, c).F("metadata", o.metadata).F("spec", o.spec);
}
void D(const json& j, const P& p, Ctx& c, NodeCondition& o) {
  Fields(j, p, c)
      .F("type", o.type)
      .F("status", o.status)
      .F("lastHeartbeatTime", o.last_heartbeat_time)
      .F("lastTransitionTime", o.last_transition_time)
      .F("reason", o.reason)
      .F("message", o.message);
}
void D(const json& j, const P& p, Ctx& c, NodeAddress& o) {
  Fields(j, p, c).F("type", o.type).F("address", o.address);
}
void D(const json& j, const P& p, Ctx& c, NodeSystemInfo& o) {
  Fields(j, p, c)
      .F("machineID", o.machine_id)
      .F("systemUUID", o.system_uuid)
      .F("bootID", o.boot_id)
      .F("kernelVersion", o.kernel_version)
      .F("osImage", o.os_image)
      .F("containerRuntimeVersion", o.container_runtime_version)
      .F("kubeletVersion", o.kubelet_version)
      .F("kubeProxyVersion", o.kube_proxy_version)
      .F("operatingSystem", o.operating_system)
      .F("architecture", o.architecture)
      .Skip({"swap"});
}
void D(const json& j, const P& p, Ctx& c, Taint& o) {
  Fields(j, p, c)
      .F("key", o.key)
      .F("value", o.value)
      .F("effect", o.effect)
      .F("timeAdded", o.time_added);
}
void D(const json& j, const P& p, Ctx& c, NodeSpec& o) {
  Fields(j, p, c)
      .F("podCIDR", o.pod_cidr)
      .F("podCIDRs", o.pod_cidrs)
      .F("providerID", o.provider_id)
      .F("unschedulable", o.unschedulable)
      .F("taints", o.taints)
      .Skip({"configSource", "externalID"});
}
void D(const json& j, const P& p, Ctx& c, NodeStatus& o) {
  Fields f(j, p, c);
  f.F("capacity", o.capacity)
      .F("allocatable", o.allocatable)
      .F("conditions", o.conditions)
      .F("addresses", o.addresses)
      .F("nodeInfo", o.node_info)
      .Skip({"phase", "images", "volumesInUse", "volumesAttached", "config", "runtimeHandlers",
             "features", "declaredFeatures"});
  if (const json* de = f.Get("daemonEndpoints")) {
    P dp = p.Child("daemonEndpoints");
    Fields df(*de, dp, c);
    if (const json* ke = df.Get("kubeletEndpoint")) {
      Fields(*ke, dp.Child("kubeletEndpoint"), c).F("Port", o.kubelet_endpoint_port);
    }
  }
}
void D(const json& j, const P& p, Ctx& c, ObjectReference& o) {
  Fields(j, p, c)
      .F("kind", o.kind)
      .F("namespace", o.namespace_)
      .F("name", o.name)
      .F("uid", o.uid)
      .F("apiVersion", o.api_version)
      .F("resourceVersion", o.resource_version)
      .F("fieldPath", o.field_path);
}
void D(const json& j, const P& p, Ctx& c, EventSource& o) {
  Fields(j, p, c).F("component", o.component).F("host", o.host);
}

// ---- top-level kinds ----

void DecodeTop(const json& j, const P& p, Ctx& c, Pod& o) {
  Fields(j, p, c)
      .F("apiVersion", o.type_meta.api_version)
      .F("kind", o.type_meta.kind)
      .F("metadata", o.metadata)
      .F("spec", o.spec)
      .F("status", o.status);
}

void DecodeTop(const json& j, const P& p, Ctx& c, Workload& o) {
  Fields f(j, p, c);
  f.F("apiVersion", o.type_meta.api_version)
      .F("kind", o.type_meta.kind)
      .F("metadata", o.metadata)
      .Skip({"status"});
  if (const json* spec = f.Get("spec")) {
    P sp = p.Child("spec");
    c.Record(sp);
    // Only the template (and replicas) matter to nanolet; the controller's other fields are
    // accepted without a look.
    Fields sf(*spec, sp, c);
    sf.F("replicas", o.replicas).F("template", o.template_);
    sf.AcceptRest();
  }
}

void DecodeTop(const json& j, const P& p, Ctx& c, ConfigMap& o) {
  Fields f(j, p, c);
  f.F("apiVersion", o.type_meta.api_version)
      .F("kind", o.type_meta.kind)
      .F("metadata", o.metadata)
      .F("data", o.data)
      .F("immutable", o.immutable);
  if (const json* bd = f.Get("binaryData")) {
    P bp = p.Child("binaryData");
    c.Record(bp);
    std::map<std::string, std::string> raw;
    D(*bd, bp, c, raw);
    for (auto& [k, v] : raw) {
      size_t bad = 0;
      auto bytes = internal::Base64Decode(v, &bad);
      if (!bytes) {
        c.Error(bp.Key(k), "Invalid value: " + Quote(v) + ": illegal base64 data at input byte " +
                               std::to_string(bad));
      } else {
        o.binary_data[k] = std::move(*bytes);
      }
    }
  }
}

void DecodeTop(const json& j, const P& p, Ctx& c, Secret& o) {
  Fields f(j, p, c);
  f.F("apiVersion", o.type_meta.api_version)
      .F("kind", o.type_meta.kind)
      .F("metadata", o.metadata)
      .F("type", o.type)
      .F("immutable", o.immutable);
  if (const json* d = f.Get("data")) {
    P dp = p.Child("data");
    c.Record(dp);
    std::map<std::string, std::string> raw;
    D(*d, dp, c, raw);
    for (auto& [k, v] : raw) {
      size_t bad = 0;
      auto bytes = internal::Base64Decode(v, &bad);
      if (!bytes) {
        c.Error(dp.Key(k), "Invalid value: " + Quote(v) + ": illegal base64 data at input byte " +
                               std::to_string(bad));
      } else {
        o.data[k] = std::move(*bytes);
      }
    }
  }
  if (const json* sd = f.Get("stringData")) {
    // As the apiserver's conversion: stringData entries overwrite data entries.
    P sp = p.Child("stringData");
    c.Record(sp);
    std::map<std::string, std::string> plain;
    D(*sd, sp, c, plain);
    for (auto& [k, v] : plain) o.data[k] = v;
  }
}

void DecodeTop(const json& j, const P& p, Ctx& c, Node& o) {
  Fields(j, p, c)
      .F("apiVersion", o.type_meta.api_version)
      .F("kind", o.type_meta.kind)
      .F("metadata", o.metadata)
      .F("spec", o.spec)
      .F("status", o.status);
}

void DecodeTop(const json& j, const P& p, Ctx& c, Lease& o) {
  Fields f(j, p, c);
  f.F("apiVersion", o.type_meta.api_version).F("kind", o.type_meta.kind).F("metadata", o.metadata);
  if (const json* spec = f.Get("spec")) {
    P sp = p.Child("spec");
    c.Record(sp);
    Fields(*spec, sp, c)
        .F("holderIdentity", o.holder_identity)
        .F("leaseDurationSeconds", o.lease_duration_seconds)
        .F("acquireTime", o.acquire_time)
        .F("renewTime", o.renew_time)
        .F("leaseTransitions", o.lease_transitions)
        .Skip({"strategy", "preferredHolder"});
  }
}

void DecodeTop(const json& j, const P& p, Ctx& c, Event& o) {
  Fields(j, p, c)
      .F("apiVersion", o.type_meta.api_version)
      .F("kind", o.type_meta.kind)
      .F("metadata", o.metadata)
      .F("involvedObject", o.involved_object)
      .F("reason", o.reason)
      .F("message", o.message)
      .F("source", o.source)
      .F("firstTimestamp", o.first_timestamp)
      .F("lastTimestamp", o.last_timestamp)
      .F("count", o.count)
      .F("type", o.type)
      .F("reportingComponent", o.reporting_component)
      .F("reportingInstance", o.reporting_instance)
      .Skip({"eventTime", "series", "action", "related"});
}

// kind -> accepted apiVersions
struct KindInfo {
  std::string_view kind;
  std::initializer_list<std::string_view> versions;
};
const KindInfo kKinds[] = {
    {"Pod", {"v1"}},
    {"ConfigMap", {"v1"}},
    {"Secret", {"v1"}},
    {"Node", {"v1"}},
    {"Event", {"v1"}},
    {"Lease", {"coordination.k8s.io/v1"}},
    {"ReplicationController", {"v1"}},
    {"Deployment", {"apps/v1", "apps/v1beta1", "apps/v1beta2", "extensions/v1beta1"}},
    {"DaemonSet", {"apps/v1", "apps/v1beta2", "extensions/v1beta1"}},
    {"ReplicaSet", {"apps/v1", "apps/v1beta2", "extensions/v1beta1"}},
    {"StatefulSet", {"apps/v1", "apps/v1beta1", "apps/v1beta2"}},
    {"Job", {"batch/v1"}},
};

std::string Truncated(const json& j) {
  std::string s = j.dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  return s;
}

template <typename T>
void Emit(const json& j, const P& p, Ctx& c, int line, DecodeResult& out) {
  T obj;
  DecodeTop(j, p, c, obj);
  if (c.errors.empty()) {
    DecodedObject d;
    d.object = std::move(obj);
    d.line = line;
    d.lines = std::move(*c.lines);
    out.objects.push_back(std::move(d));
  }
}

// Decodes one document (or one List item) rooted at `src` into `out`.
void DecodeObject(const json& j, const std::string& src,
                  const std::unordered_map<std::string, int>& src_lines, int line,
                  std::string_view file, DecodeResult& out, int depth) {
  auto diag = [&](std::string field, std::string msg, bool warning) {
    Diagnostic d;
    d.file = std::string(file);
    d.line = line;
    d.field = std::move(field);
    d.message = std::move(msg);
    d.warning = warning;
    (warning ? out.warnings : out.errors).push_back(std::move(d));
  };
  if (j.is_null()) return;  // an empty document
  if (!j.is_object()) {
    diag("", "Invalid value: " + Repr(j) + ": must be an object with apiVersion and kind", false);
    return;
  }
  auto kind_it = j.find("kind");
  auto ver_it = j.find("apiVersion");
  std::string kind = kind_it != j.end() && kind_it->is_string() ? kind_it->get<std::string>() : "";
  std::string version = ver_it != j.end() && ver_it->is_string() ? ver_it->get<std::string>() : "";
  if (kind.empty()) return diag("", "Object 'Kind' is missing in '" + Truncated(j) + "'", false);
  if (version.empty()) {
    return diag("", "Object 'apiVersion' is missing in '" + Truncated(j) + "'", false);
  }

  if (kind.ends_with("List")) {
    auto items = j.find("items");
    P ip{"items", JoinKey(src, "items")};
    if (items == j.end() || items->is_null()) return;
    if (!items->is_array()) {
      return diag("items", "Invalid value: " + Repr(*items) + ": must be a list", false);
    }
    if (depth > 4) return diag("items", "Lists may not nest this deep", false);
    for (size_t i = 0; i < items->size(); ++i) {
      std::string isrc = JoinIndex(ip.src, i);
      auto lit = src_lines.find(isrc);
      int iline = lit != src_lines.end() ? lit->second : line;
      const json& item = (*items)[i];
      // A typed list (PodList, ConfigMapList, ...) as the apiserver serves it: its items carry no
      // kind and apiVersion of their own; they are the list's element kind in the list's version.
      // A v1 List's items must name their kind.
      std::string_view element = std::string_view(kind).substr(0, kind.size() - 4);
      bool typed = std::any_of(std::begin(kKinds), std::end(kKinds),
                               [&](const KindInfo& k) { return k.kind == element; });
      if (typed && item.is_object() && (!item.contains("kind") || !item.contains("apiVersion"))) {
        json typed_item = item;
        if (!typed_item.contains("kind")) typed_item["kind"] = std::string(element);
        if (!typed_item.contains("apiVersion")) typed_item["apiVersion"] = version;
        DecodeObject(typed_item, isrc, src_lines, iline, file, out, depth + 1);
        continue;
      }
      DecodeObject(item, isrc, src_lines, iline, file, out, depth + 1);
    }
    return;
  }

  const KindInfo* info = nullptr;
  for (const auto& k : kKinds) {
    if (k.kind == kind) info = &k;
  }
  if (info == nullptr) {
    return diag(
        "",
        "kind \"" + kind + "\" (apiVersion \"" + version + "\") is not used by nanolet; ignored",
        true);
  }
  if (std::find(info->versions.begin(), info->versions.end(), version) == info->versions.end()) {
    return diag("", "no kind \"" + kind + "\" is registered for version \"" + version + "\"",
                false);
  }

  std::map<std::string, int> lines;
  Ctx c;
  c.src_lines = &src_lines;
  c.lines = &lines;
  c.default_line = line;
  P root{"", src};
  if (kind == "Pod") {
    Emit<Pod>(j, root, c, line, out);
  } else if (kind == "ConfigMap") {
    Emit<ConfigMap>(j, root, c, line, out);
  } else if (kind == "Secret") {
    Emit<Secret>(j, root, c, line, out);
  } else if (kind == "Node") {
    Emit<Node>(j, root, c, line, out);
  } else if (kind == "Event") {
    Emit<Event>(j, root, c, line, out);
  } else if (kind == "Lease") {
    Emit<Lease>(j, root, c, line, out);
  } else {
    Emit<Workload>(j, root, c, line, out);
  }
  for (auto& d : c.errors) {
    d.file = std::string(file);
    out.errors.push_back(std::move(d));
  }
  for (auto& d : c.warnings) {
    d.file = std::string(file);
    out.warnings.push_back(std::move(d));
  }
}

template <typename T>
Result<T> DecodeJson(const json& j, std::string_view want_kind) {
  Ctx c;
  P root;
  if (!j.is_object()) return Invalid("Invalid value: " + Repr(j) + ": must be an object");
  auto k = j.find("kind");
  if (k != j.end() && k->is_string() && !k->get<std::string>().empty() &&
      k->get<std::string>() != want_kind) {
    return Invalid("kind: Invalid value: " + Quote(k->get<std::string>()) + ": expected " +
                   Quote(want_kind));
  }
  T obj;
  DecodeTop(j, root, c, obj);
  if (!c.errors.empty()) {
    const Diagnostic& d = c.errors.front();
    return Invalid(d.field.empty() ? d.message : d.field + ": " + d.message);
  }
  return obj;
}

}  // namespace

std::string Diagnostic::ToString() const {
  std::string s;
  if (!file.empty()) s += file + ":";
  if (line > 0) s += std::to_string(line) + ":";
  if (!s.empty()) s += " ";
  if (warning) s += "warning: ";
  if (!field.empty()) s += field + ": ";
  s += message;
  return s;
}

int DecodedObject::LineOf(std::string_view field_path) const {
  std::string path(field_path);
  while (!path.empty()) {
    auto it = lines.find(path);
    if (it != lines.end()) return it->second;
    // Strip the last component: ".name" or "[3]".
    size_t cut = path.find_last_of(".[");
    if (cut == std::string::npos) break;
    path.resize(cut);
  }
  return line;
}

DecodeResult DecodeManifest(std::string_view data, std::string_view file,
                            const DecodeOptions& opts) {
  DecodeResult out;
  auto fail = [&](int line, std::string msg) {
    Diagnostic d;
    d.file = std::string(file);
    d.line = line;
    d.message = std::move(msg);
    out.errors.push_back(std::move(d));
  };
  if (data.size() > opts.max_bytes) {
    fail(0, "file is too large: " + std::to_string(data.size()) + " bytes (the limit is " +
                std::to_string(opts.max_bytes) + ")");
    return out;
  }
  if (data.find('\0') != std::string_view::npos) {
    fail(0, "not a YAML or JSON manifest: the data contains NUL bytes");
    return out;
  }
  try {
    internal::YamlLimits limits;
    limits.max_nodes = opts.max_nodes;
    limits.max_depth = opts.max_depth;
    internal::YamlParse parsed = internal::ParseYaml(data, limits);
    for (auto& doc : parsed.docs) {
      for (auto& [line, msg] : doc.warnings) {
        Diagnostic d;
        d.file = std::string(file);
        d.line = line;
        d.message = msg;
        d.warning = true;
        out.warnings.push_back(std::move(d));
      }
      DecodeObject(doc.value, "", doc.lines, doc.line, file, out, 0);
    }
    if (parsed.failed) fail(parsed.error_line, parsed.error);
  } catch (const std::exception& e) {
    fail(0, std::string("decode: ") + e.what());
  }
  return out;
}

Result<Pod> DecodePod(const nlohmann::json& j) { return DecodeJson<Pod>(j, "Pod"); }
Result<ConfigMap> DecodeConfigMap(const nlohmann::json& j) {
  return DecodeJson<ConfigMap>(j, "ConfigMap");
}
Result<Secret> DecodeSecret(const nlohmann::json& j) { return DecodeJson<Secret>(j, "Secret"); }
Result<Node> DecodeNode(const nlohmann::json& j) { return DecodeJson<Node>(j, "Node"); }
Result<Lease> DecodeLease(const nlohmann::json& j) { return DecodeJson<Lease>(j, "Lease"); }

}  // namespace nanolet::api
