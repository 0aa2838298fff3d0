#pragma once
// Builders for kubelet unit tests: defaulted pods filled by hand (no api/ defaulting), runtime statuses.
#include <string>
#include <vector>

#include "api/types.h"
#include "kubelet/labels.h"
#include "kubelet/runtime_pod.h"
#include "runtime/runtime.h"
#include "util/clock.h"

namespace nanolet::kubelet::testing {

inline api::Container MakeContainer(const std::string& name, const std::string& image = "busybox:1.36") {
  api::Container c;
  c.name = name;
  c.image = image;
  c.image_pull_policy = "IfNotPresent";
  c.termination_message_path = "/dev/termination-log";
  c.termination_message_policy = "File";
  return c;
}

inline api::Container MakeSidecar(const std::string& name) {
  api::Container c = MakeContainer(name);
  c.restart_policy = "Always";
  return c;
}

inline api::Pod MakePod(const std::string& restart_policy, std::vector<std::string> containers,
                        std::vector<std::string> init_containers = {}) {
  api::Pod p;
  p.type_meta = {"v1", "Pod"};
  p.metadata.name = "web";
  p.metadata.namespace_ = "default";
  p.metadata.uid = "uid-1";
  p.spec.restart_policy = restart_policy;
  p.spec.termination_grace_period_seconds = 30;
  p.spec.dns_policy = "ClusterFirst";
  p.spec.scheduler_name = "default-scheduler";
  for (const auto& n : init_containers) p.spec.init_containers.push_back(MakeContainer(n));
  for (const auto& n : containers) p.spec.containers.push_back(MakeContainer(n));
  return p;
}

inline TimePoint T(int seconds) {
  return std::chrono::system_clock::from_time_t(1767225600) + std::chrono::seconds(seconds);
}

inline runtime::SandboxStatus MakeSandbox(const api::Pod& pod, const std::string& id, uint32_t attempt = 0,
                                          bool ready = true, int created = 0) {
  runtime::SandboxStatus s;
  s.id = id;
  s.state = ready ? runtime::SandboxState::kReady : runtime::SandboxState::kNotReady;
  s.pod_uid = pod.metadata.uid;
  s.pod_name = pod.metadata.name;
  s.pod_namespace = pod.metadata.namespace_;
  s.attempt = attempt;
  s.ip = "10.88.0.5";
  s.ips = {"10.88.0.5"};
  s.created_at = T(created);
  s.labels = SandboxLabels(pod);
  return s;
}

// A runtime container of `pod` named `name` from spec container `spec` (hash label from the spec).
inline runtime::ContainerStatus MakeRuntimeContainer(const api::Pod& pod, const api::Container& spec,
                                                     const std::string& id, runtime::ContainerState state,
                                                     uint32_t attempt = 0, int32_t exit_code = 0,
                                                     int created = 1) {
  runtime::ContainerStatus c;
  c.id = id;
  c.sandbox_id = "sb1";
  c.name = spec.name;
  c.attempt = attempt;
  c.state = state;
  c.created_at = T(created);
  if (state != runtime::ContainerState::kCreated) c.started_at = T(created + 1);
  if (state == runtime::ContainerState::kExited) {
    c.finished_at = T(created + 2);
    c.exit_code = exit_code;
    c.reason = exit_code == 0 ? "Completed" : "Error";
  }
  c.image = spec.image;
  c.image_id = "sha256:abc";
  c.labels = ContainerLabels(pod, spec, attempt);
  return c;
}

inline const api::Container& Spec(const api::Pod& pod, const std::string& name) {
  for (const auto& c : pod.spec.init_containers) {
    if (c.name == name) return c;
  }
  for (const auto& c : pod.spec.containers) {
    if (c.name == name) return c;
  }
  static api::Container none;
  return none;
}

}  // namespace nanolet::kubelet::testing
