#pragma once
// core/v1 (and coordination/v1, apps/v1, batch/v1 templates) object types a kubelet needs.
// Field names mirror the Go structs of k8s.io/api; Go pointer fields are std::optional (nil vs zero matters
// for defaulting and for omitempty), slices and maps are std containers (empty == omitted on encode).
// Decoding, defaulting, validation and encoding live in decode.h, defaults.h, validation.h, encode.h.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/quantity.h"

namespace nanolet::api {

using StringMap = std::map<std::string, std::string>;

struct IntOrString {
  bool is_string = false;
  int32_t int_val = 0;
  std::string str_val;
  static IntOrString Int(int32_t v) { return {false, v, {}}; }
  static IntOrString Str(std::string s) { return {true, 0, std::move(s)}; }
  bool operator==(const IntOrString&) const = default;
};

// metav1.Time is RFC 3339 text on the wire; kept as text ("" == unset) so round trips are exact.
using Time = std::string;

struct OwnerReference {
  std::string api_version, kind, name, uid;
  std::optional<bool> controller;
  std::optional<bool> block_owner_deletion;
  bool operator==(const OwnerReference&) const = default;
};

struct ObjectMeta {
  std::string name;
  std::string generate_name;
  std::string namespace_;
  std::string uid;
  std::string resource_version;
  int64_t generation = 0;
  Time creation_timestamp;
  Time deletion_timestamp;
  std::optional<int64_t> deletion_grace_period_seconds;
  StringMap labels;
  StringMap annotations;
  std::vector<OwnerReference> owner_references;
  std::vector<std::string> finalizers;
  bool operator==(const ObjectMeta&) const = default;
};

struct TypeMeta {
  std::string api_version;
  std::string kind;
  bool operator==(const TypeMeta&) const = default;
};

// ---- containers ----

struct ContainerPort {
  std::string name;
  int32_t host_port = 0;
  int32_t container_port = 0;
  std::string protocol;  // defaulted to TCP
  std::string host_ip;
  bool operator==(const ContainerPort&) const = default;
};

struct ObjectFieldSelector {
  std::string api_version;  // defaulted to v1
  std::string field_path;
  bool operator==(const ObjectFieldSelector&) const = default;
};
struct ResourceFieldSelector {
  std::string container_name;
  std::string resource;
  std::optional<Quantity> divisor;
  bool operator==(const ResourceFieldSelector&) const = default;
};
struct KeySelector {  // ConfigMapKeySelector / SecretKeySelector
  std::string name;
  std::string key;
  std::optional<bool> optional;
  bool operator==(const KeySelector&) const = default;
};
struct EnvVarSource {
  std::optional<ObjectFieldSelector> field_ref;
  std::optional<ResourceFieldSelector> resource_field_ref;
  std::optional<KeySelector> config_map_key_ref;
  std::optional<KeySelector> secret_key_ref;
  bool operator==(const EnvVarSource&) const = default;
};
struct EnvVar {
  std::string name;
  std::string value;
  std::optional<EnvVarSource> value_from;
  bool operator==(const EnvVar&) const = default;
};
struct LocalObjectReferenceOpt {  // ConfigMapEnvSource / SecretEnvSource
  std::string name;
  std::optional<bool> optional;
  bool operator==(const LocalObjectReferenceOpt&) const = default;
};
struct EnvFromSource {
  std::string prefix;
  std::optional<LocalObjectReferenceOpt> config_map_ref;
  std::optional<LocalObjectReferenceOpt> secret_ref;
  bool operator==(const EnvFromSource&) const = default;
};

struct ResourceRequirements {
  std::map<std::string, Quantity> limits;
  std::map<std::string, Quantity> requests;
  bool operator==(const ResourceRequirements&) const = default;
};

struct VolumeMount {
  std::string name;
  bool read_only = false;
  std::string mount_path;
  std::string sub_path;
  std::string sub_path_expr;
  std::optional<std::string> mount_propagation;  // None, HostToContainer, Bidirectional
  bool operator==(const VolumeMount&) const = default;
};

struct ExecAction {
  std::vector<std::string> command;
  bool operator==(const ExecAction&) const = default;
};
struct HTTPHeader {
  std::string name, value;
  bool operator==(const HTTPHeader&) const = default;
};
struct HTTPGetAction {
  std::string path;
  IntOrString port;
  std::string host;
  std::string scheme;  // defaulted to HTTP
  std::vector<HTTPHeader> http_headers;
  bool operator==(const HTTPGetAction&) const = default;
};
struct TCPSocketAction {
  IntOrString port;
  std::string host;
  bool operator==(const TCPSocketAction&) const = default;
};
struct GRPCAction {
  int32_t port = 0;
  std::optional<std::string> service;
  bool operator==(const GRPCAction&) const = default;
};
struct SleepAction {
  int64_t seconds = 0;
  bool operator==(const SleepAction&) const = default;
};

struct ProbeHandler {
  std::optional<ExecAction> exec;
  std::optional<HTTPGetAction> http_get;
  std::optional<TCPSocketAction> tcp_socket;
  std::optional<GRPCAction> grpc;
  bool operator==(const ProbeHandler&) const = default;
};

struct Probe {
  ProbeHandler handler;  // inlined on the wire
  int32_t initial_delay_seconds = 0;
  int32_t timeout_seconds = 0;     // defaulted to 1
  int32_t period_seconds = 0;      // defaulted to 10
  int32_t success_threshold = 0;   // defaulted to 1
  int32_t failure_threshold = 0;   // defaulted to 3
  std::optional<int64_t> termination_grace_period_seconds;
  bool operator==(const Probe&) const = default;
};

struct LifecycleHandler {
  std::optional<ExecAction> exec;
  std::optional<HTTPGetAction> http_get;
  std::optional<TCPSocketAction> tcp_socket;  // deprecated, accepted
  std::optional<SleepAction> sleep;
  bool operator==(const LifecycleHandler&) const = default;
};
struct Lifecycle {
  std::optional<LifecycleHandler> post_start;
  std::optional<LifecycleHandler> pre_stop;
  bool operator==(const Lifecycle&) const = default;
};

struct Capabilities {
  std::vector<std::string> add;
  std::vector<std::string> drop;
  bool operator==(const Capabilities&) const = default;
};
struct SeccompProfile {
  std::string type;  // RuntimeDefault, Unconfined, Localhost
  std::optional<std::string> localhost_profile;
  bool operator==(const SeccompProfile&) const = default;
};
struct SecurityContext {
  std::optional<Capabilities> capabilities;
  std::optional<bool> privileged;
  std::optional<int64_t> run_as_user;
  std::optional<int64_t> run_as_group;
  std::optional<bool> run_as_non_root;
  std::optional<bool> read_only_root_filesystem;
  std::optional<bool> allow_privilege_escalation;
  std::optional<SeccompProfile> seccomp_profile;
  bool operator==(const SecurityContext&) const = default;
};

struct Container {
  std::string name;
  std::string image;
  std::vector<std::string> command;
  std::vector<std::string> args;
  std::string working_dir;
  std::vector<ContainerPort> ports;
  std::vector<EnvFromSource> env_from;
  std::vector<EnvVar> env;
  ResourceRequirements resources;
  std::optional<std::string> restart_policy;  // init containers: "Always" makes a sidecar
  std::vector<VolumeMount> volume_mounts;
  std::optional<Probe> liveness_probe;
  std::optional<Probe> readiness_probe;
  std::optional<Probe> startup_probe;
  std::optional<Lifecycle> lifecycle;
  std::string termination_message_path;    // defaulted to /dev/termination-log
  std::string termination_message_policy;  // defaulted to File
  std::string image_pull_policy;           // defaulted from the tag
  std::optional<SecurityContext> security_context;
  bool stdin_ = false;
  bool stdin_once = false;
  bool tty = false;
  bool operator==(const Container&) const = default;
};

// ---- volumes ----

struct KeyToPath {
  std::string key;
  std::string path;
  std::optional<int32_t> mode;
  bool operator==(const KeyToPath&) const = default;
};
struct EmptyDirVolumeSource {
  std::string medium;  // "" or "Memory"
  std::optional<Quantity> size_limit;
  bool operator==(const EmptyDirVolumeSource&) const = default;
};
struct HostPathVolumeSource {
  std::string path;
  std::optional<std::string> type;  // defaulted to ""
  bool operator==(const HostPathVolumeSource&) const = default;
};
struct ConfigMapVolumeSource {
  std::string name;
  std::vector<KeyToPath> items;
  std::optional<int32_t> default_mode;  // defaulted to 0644
  std::optional<bool> optional;
  bool operator==(const ConfigMapVolumeSource&) const = default;
};
struct SecretVolumeSource {
  std::string secret_name;
  std::vector<KeyToPath> items;
  std::optional<int32_t> default_mode;  // defaulted to 0644
  std::optional<bool> optional;
  bool operator==(const SecretVolumeSource&) const = default;
};
struct DownwardAPIVolumeFile {
  std::string path;
  std::optional<ObjectFieldSelector> field_ref;
  std::optional<ResourceFieldSelector> resource_field_ref;
  std::optional<int32_t> mode;
  bool operator==(const DownwardAPIVolumeFile&) const = default;
};
struct DownwardAPIVolumeSource {
  std::vector<DownwardAPIVolumeFile> items;
  std::optional<int32_t> default_mode;  // defaulted to 0644
  bool operator==(const DownwardAPIVolumeSource&) const = default;
};
struct ServiceAccountTokenProjection {
  std::string audience;
  std::optional<int64_t> expiration_seconds;
  std::string path;
  bool operator==(const ServiceAccountTokenProjection&) const = default;
};
struct VolumeProjection {
  std::optional<ConfigMapVolumeSource> config_map;   // name, items, optional (no defaultMode)
  std::optional<SecretVolumeSource> secret;          // wire field "name", not "secretName"
  std::optional<DownwardAPIVolumeSource> downward_api;
  std::optional<ServiceAccountTokenProjection> service_account_token;
  bool operator==(const VolumeProjection&) const = default;
};
struct ProjectedVolumeSource {
  std::vector<VolumeProjection> sources;
  std::optional<int32_t> default_mode;  // defaulted to 0644
  bool operator==(const ProjectedVolumeSource&) const = default;
};
struct PersistentVolumeClaimVolumeSource {
  std::string claim_name;
  bool read_only = false;
  bool operator==(const PersistentVolumeClaimVolumeSource&) const = default;
};

struct Volume {
  std::string name;
  std::optional<EmptyDirVolumeSource> empty_dir;
  std::optional<HostPathVolumeSource> host_path;
  std::optional<ConfigMapVolumeSource> config_map;
  std::optional<SecretVolumeSource> secret;
  std::optional<DownwardAPIVolumeSource> downward_api;
  std::optional<ProjectedVolumeSource> projected;
  std::optional<PersistentVolumeClaimVolumeSource> persistent_volume_claim;  // decoded, not supported
  // The wire name of a source nanolet does not model ("nfs", "csi", ...) when the volume uses one; its
  // content is not kept (not encoded back). Keeps defaulting from turning it into an emptyDir.
  std::string other_source;
  bool operator==(const Volume&) const = default;
};

// ---- pod ----

struct PodSecurityContext {
  std::optional<int64_t> run_as_user;
  std::optional<int64_t> run_as_group;
  std::optional<bool> run_as_non_root;
  std::vector<int64_t> supplemental_groups;
  std::optional<int64_t> fs_group;
  std::optional<std::string> fs_group_change_policy;  // "OnRootMismatch" or "Always"
  std::optional<SeccompProfile> seccomp_profile;
  bool operator==(const PodSecurityContext&) const = default;
};
struct LocalObjectReference {
  std::string name;
  bool operator==(const LocalObjectReference&) const = default;
};
struct HostAlias {
  std::string ip;
  std::vector<std::string> hostnames;
  bool operator==(const HostAlias&) const = default;
};
struct PodDNSConfigOption {
  std::string name;
  std::optional<std::string> value;
  bool operator==(const PodDNSConfigOption&) const = default;
};
struct PodDNSConfig {
  std::vector<std::string> nameservers;
  std::vector<std::string> searches;
  std::vector<PodDNSConfigOption> options;
  bool operator==(const PodDNSConfig&) const = default;
};
struct Toleration {
  std::string key, operator_, value, effect;
  std::optional<int64_t> toleration_seconds;
  bool operator==(const Toleration&) const = default;
};

struct PodSpec {
  std::vector<Volume> volumes;
  std::vector<Container> init_containers;
  std::vector<Container> containers;
  std::string restart_policy;                               // defaulted to Always
  std::optional<int64_t> termination_grace_period_seconds;  // defaulted to 30
  std::optional<int64_t> active_deadline_seconds;
  std::string dns_policy;  // defaulted to ClusterFirst
  StringMap node_selector;
  std::string service_account_name;
  std::optional<bool> automount_service_account_token;
  std::string node_name;
  bool host_network = false;
  bool host_pid = false;
  bool host_ipc = false;
  std::optional<bool> share_process_namespace;
  std::optional<PodSecurityContext> security_context;  // defaulted to {}
  std::vector<LocalObjectReference> image_pull_secrets;
  std::string hostname;
  std::string subdomain;
  std::string scheduler_name;  // defaulted to default-scheduler
  std::vector<Toleration> tolerations;
  std::vector<HostAlias> host_aliases;
  std::string priority_class_name;
  std::optional<int32_t> priority;
  std::optional<PodDNSConfig> dns_config;
  std::optional<bool> enable_service_links;  // defaulted to true
  bool operator==(const PodSpec&) const = default;
};

struct ContainerStateWaiting {
  std::string reason, message;
  bool operator==(const ContainerStateWaiting&) const = default;
};
struct ContainerStateRunning {
  Time started_at;
  bool operator==(const ContainerStateRunning&) const = default;
};
struct ContainerStateTerminated {
  int32_t exit_code = 0;
  int32_t signal = 0;
  std::string reason, message;
  Time started_at, finished_at;
  std::string container_id;
  bool operator==(const ContainerStateTerminated&) const = default;
};
// Exactly one member set; all unset means "waiting" with no reason as upstream treats an empty state.
struct ContainerState {
  std::optional<ContainerStateWaiting> waiting;
  std::optional<ContainerStateRunning> running;
  std::optional<ContainerStateTerminated> terminated;
  bool operator==(const ContainerState&) const = default;
};

struct ContainerStatus {
  std::string name;
  ContainerState state;
  ContainerState last_state;
  bool ready = false;
  int32_t restart_count = 0;
  std::string image;
  std::string image_id;
  std::string container_id;
  std::optional<bool> started;
  bool operator==(const ContainerStatus&) const = default;
};

struct PodCondition {
  std::string type;
  std::string status;  // True, False, Unknown
  Time last_probe_time;
  Time last_transition_time;
  std::string reason, message;
  bool operator==(const PodCondition&) const = default;
};
struct PodIP {
  std::string ip;
  bool operator==(const PodIP&) const = default;
};

struct PodStatus {
  std::string phase;
  std::vector<PodCondition> conditions;
  std::string message;
  std::string reason;
  std::string host_ip;
  std::vector<PodIP> host_ips;
  std::string pod_ip;
  std::vector<PodIP> pod_ips;
  Time start_time;
  std::vector<ContainerStatus> init_container_statuses;
  std::vector<ContainerStatus> container_statuses;
  std::string qos_class;
  bool operator==(const PodStatus&) const = default;
};

struct Pod {
  TypeMeta type_meta;  // apiVersion v1, kind Pod
  ObjectMeta metadata;
  PodSpec spec;
  PodStatus status;
  bool operator==(const Pod&) const = default;
};

struct PodTemplateSpec {
  ObjectMeta metadata;
  PodSpec spec;
  bool operator==(const PodTemplateSpec&) const = default;
};

// apps/v1 Deployment, DaemonSet, ReplicaSet, StatefulSet; v1 ReplicationController; batch/v1 Job: decoded
// far enough to validate the pod template (the kubelet never runs them).
struct Workload {
  TypeMeta type_meta;
  ObjectMeta metadata;
  std::optional<int32_t> replicas;
  PodTemplateSpec template_;
  bool operator==(const Workload&) const = default;
};

// ---- other kinds ----

struct ConfigMap {
  TypeMeta type_meta;
  ObjectMeta metadata;
  StringMap data;
  std::map<std::string, std::string> binary_data;  // decoded bytes (base64 on the wire)
  std::optional<bool> immutable;
  bool operator==(const ConfigMap&) const = default;
};

struct Secret {
  TypeMeta type_meta;
  ObjectMeta metadata;
  std::map<std::string, std::string> data;  // decoded bytes (base64 on the wire); stringData merged in
  std::string type;                          // defaulted to Opaque
  std::optional<bool> immutable;
  bool operator==(const Secret&) const = default;
};

struct NodeCondition {
  std::string type, status;
  Time last_heartbeat_time, last_transition_time;
  std::string reason, message;
  bool operator==(const NodeCondition&) const = default;
};
struct NodeAddress {
  std::string type, address;
  bool operator==(const NodeAddress&) const = default;
};
struct NodeSystemInfo {
  std::string machine_id, system_uuid, boot_id, kernel_version, os_image, container_runtime_version,
      kubelet_version, kube_proxy_version, operating_system, architecture;
  bool operator==(const NodeSystemInfo&) const = default;
};
struct Taint {
  std::string key, value, effect;
  Time time_added;
  bool operator==(const Taint&) const = default;
};
struct NodeSpec {
  std::string pod_cidr;
  std::vector<std::string> pod_cidrs;
  std::string provider_id;
  bool unschedulable = false;
  std::vector<Taint> taints;
  bool operator==(const NodeSpec&) const = default;
};
struct NodeStatus {
  std::map<std::string, Quantity> capacity;
  std::map<std::string, Quantity> allocatable;
  std::vector<NodeCondition> conditions;
  std::vector<NodeAddress> addresses;
  int32_t kubelet_endpoint_port = 0;  // daemonEndpoints.kubeletEndpoint.Port
  NodeSystemInfo node_info;
  bool operator==(const NodeStatus&) const = default;
};
struct Node {
  TypeMeta type_meta;
  ObjectMeta metadata;
  NodeSpec spec;
  NodeStatus status;
  bool operator==(const Node&) const = default;
};

// coordination.k8s.io/v1 Lease. Times are metav1.MicroTime (RFC 3339 with 6 fraction digits).
struct Lease {
  TypeMeta type_meta;
  ObjectMeta metadata;
  std::optional<std::string> holder_identity;
  std::optional<int32_t> lease_duration_seconds;
  std::optional<std::string> acquire_time;
  std::optional<std::string> renew_time;
  std::optional<int32_t> lease_transitions;
  bool operator==(const Lease&) const = default;
};

struct ObjectReference {
  std::string kind, namespace_, name, uid, api_version, resource_version, field_path;
  bool operator==(const ObjectReference&) const = default;
};
struct EventSource {
  std::string component, host;
  bool operator==(const EventSource&) const = default;
};
struct Event {
  TypeMeta type_meta;
  ObjectMeta metadata;
  ObjectReference involved_object;
  std::string reason, message;
  EventSource source;
  Time first_timestamp, last_timestamp;
  int32_t count = 0;
  std::string type;  // Normal, Warning
  std::string reporting_component, reporting_instance;
  bool operator==(const Event&) const = default;
};

struct PodList {
  TypeMeta type_meta;  // v1 PodList
  std::string resource_version;
  std::vector<Pod> items;
};

}  // namespace nanolet::api
