#include "api/defaults.h"

namespace nanolet::api {
namespace {

constexpr int32_t kDefaultMode = 0644;

void DefaultProbe(std::optional<Probe>& p) {
  if (!p) return;
  if (p->timeout_seconds == 0) p->timeout_seconds = 1;
  if (p->period_seconds == 0) p->period_seconds = 10;
  if (p->success_threshold == 0) p->success_threshold = 1;
  if (p->failure_threshold == 0) p->failure_threshold = 3;
  if (p->handler.http_get) {
    if (p->handler.http_get->path.empty()) p->handler.http_get->path = "/";
    if (p->handler.http_get->scheme.empty()) p->handler.http_get->scheme = "HTTP";
  }
}

void DefaultLifecycleHandler(std::optional<LifecycleHandler>& h) {
  if (!h || !h->http_get) return;
  if (h->http_get->path.empty()) h->http_get->path = "/";
  if (h->http_get->scheme.empty()) h->http_get->scheme = "HTTP";
}

void DefaultFieldRef(std::optional<ObjectFieldSelector>& f) {
  if (f && f->api_version.empty()) f->api_version = "v1";
}

void DefaultContainer(Container& c, bool host_network) {
  if (c.image_pull_policy.empty()) c.image_pull_policy = DefaultPullPolicy(c.image);
  if (c.termination_message_path.empty()) c.termination_message_path = "/dev/termination-log";
  if (c.termination_message_policy.empty()) c.termination_message_policy = "File";
  for (auto& port : c.ports) {
    if (port.protocol.empty()) port.protocol = "TCP";
    // As upstream defaultHostNetworkPorts: with hostNetwork the host port is the container port.
    if (host_network && port.host_port == 0) port.host_port = port.container_port;
  }
  for (auto& env : c.env) {
    if (env.value_from) DefaultFieldRef(env.value_from->field_ref);
  }
  DefaultProbe(c.liveness_probe);
  DefaultProbe(c.readiness_probe);
  DefaultProbe(c.startup_probe);
  if (c.lifecycle) {
    DefaultLifecycleHandler(c.lifecycle->post_start);
    DefaultLifecycleHandler(c.lifecycle->pre_stop);
  }
}

// As upstream SetDefaults_Pod: requests default to limits for resources that have no request.
void DefaultRequests(Container& c) {
  for (const auto& [name, q] : c.resources.limits) {
    if (!c.resources.requests.count(name)) c.resources.requests[name] = q;
  }
}

void DefaultVolume(Volume& v) {
  bool none = !v.empty_dir && !v.host_path && !v.config_map && !v.secret && !v.downward_api &&
              !v.projected && !v.persistent_volume_claim && v.other_source.empty();
  if (none) v.empty_dir.emplace();
  if (v.host_path && !v.host_path->type) v.host_path->type = "";
  if (v.config_map && !v.config_map->default_mode) v.config_map->default_mode = kDefaultMode;
  if (v.secret && !v.secret->default_mode) v.secret->default_mode = kDefaultMode;
  if (v.downward_api) {
    if (!v.downward_api->default_mode) v.downward_api->default_mode = kDefaultMode;
    for (auto& item : v.downward_api->items) DefaultFieldRef(item.field_ref);
  }
  if (v.projected) {
    if (!v.projected->default_mode) v.projected->default_mode = kDefaultMode;
    for (auto& src : v.projected->sources) {
      if (src.downward_api) {
        for (auto& item : src.downward_api->items) DefaultFieldRef(item.field_ref);
      }
      if (src.service_account_token && !src.service_account_token->expiration_seconds) {
        src.service_account_token->expiration_seconds = 3600;
      }
    }
  }
}

void DefaultMeta(ObjectMeta& m) {
  if (m.namespace_.empty()) m.namespace_ = "default";
}

void DefaultSpec(PodSpec& spec, bool default_restart_policy) {
  if (spec.dns_policy.empty()) spec.dns_policy = "ClusterFirst";
  if (spec.restart_policy.empty() && default_restart_policy) spec.restart_policy = "Always";
  if (!spec.security_context) spec.security_context.emplace();
  if (!spec.termination_grace_period_seconds) spec.termination_grace_period_seconds = 30;
  if (spec.scheduler_name.empty()) spec.scheduler_name = "default-scheduler";
  for (auto& c : spec.init_containers) DefaultContainer(c, spec.host_network);
  for (auto& c : spec.containers) DefaultContainer(c, spec.host_network);
  for (auto& v : spec.volumes) DefaultVolume(v);
}

}  // namespace

std::string DefaultPullPolicy(std::string_view image) {
  // As upstream: the tag of the parsed reference; no tag and no digest means "latest".
  std::string_view name = image;
  bool digest = false;
  if (size_t at = name.find('@'); at != std::string_view::npos) {
    name = name.substr(0, at);
    digest = true;
  }
  std::string_view last = name;
  if (size_t slash = name.rfind('/'); slash != std::string_view::npos)
    last = name.substr(slash + 1);
  std::string_view tag;
  if (size_t colon = last.rfind(':'); colon != std::string_view::npos) tag = last.substr(colon + 1);
  if (tag.empty() && !digest) tag = "latest";
  return tag == "latest" ? "Always" : "IfNotPresent";
}

void SetDefaults(PodSpec& spec) { DefaultSpec(spec, true); }

void SetDefaults(Pod& pod) {
  DefaultMeta(pod.metadata);
  if (pod.type_meta.api_version.empty()) pod.type_meta.api_version = "v1";
  if (pod.type_meta.kind.empty()) pod.type_meta.kind = "Pod";
  if (!pod.spec.enable_service_links) pod.spec.enable_service_links = true;
  for (auto& c : pod.spec.init_containers) DefaultRequests(c);
  for (auto& c : pod.spec.containers) DefaultRequests(c);
  SetDefaults(pod.spec);
}

void SetDefaults(Workload& w) {
  DefaultMeta(w.metadata);
  // A Job's pod template has no restartPolicy default: it must say OnFailure or Never.
  DefaultSpec(w.template_.spec, w.type_meta.kind != "Job");
  if (w.type_meta.kind != "Job" && w.type_meta.kind != "DaemonSet" && !w.replicas) w.replicas = 1;
}

void SetDefaults(Secret& s) {
  DefaultMeta(s.metadata);
  if (s.type.empty()) s.type = "Opaque";
}

}  // namespace nanolet::api
