#include "kubelet/runtime_pod.h"

#include <algorithm>

#include "kubelet/labels.h"

namespace nanolet::kubelet {

std::string ContainerName(const runtime::ContainerStatus& c) {
  std::string n = LabelOrAnnotation(c.labels, c.annotations, kContainerNameLabel);
  return n.empty() ? c.name : n;
}

bool NeverStarted(const runtime::ContainerStatus& c) {
  return c.state == runtime::ContainerState::kCreated ||
         (c.state == runtime::ContainerState::kExited && c.started_at == TimePoint{});
}

RuntimePodStatus RuntimePodStatus::Build(std::string_view uid,
                                         const std::vector<runtime::SandboxStatus>& sandboxes,
                                         const std::vector<runtime::ContainerStatus>& containers) {
  RuntimePodStatus s;
  s.uid = std::string(uid);
  for (const auto& sb : sandboxes) {
    std::string sb_uid = sb.pod_uid.empty()
                             ? LabelOrAnnotation(sb.labels, sb.annotations, kPodUIDLabel)
                             : sb.pod_uid;
    if (sb_uid == uid) s.sandboxes.push_back(sb);
  }
  for (const auto& c : containers) {
    if (LabelOrAnnotation(c.labels, c.annotations, kPodUIDLabel) == uid) {
      s.containers.push_back(c);
      s.containers.back().name = ContainerName(c);
    }
  }
  s.Sort();
  return s;
}

void RuntimePodStatus::Sort() {
  std::stable_sort(sandboxes.begin(), sandboxes.end(),
                   [](const auto& a, const auto& b) { return a.created_at > b.created_at; });
  std::stable_sort(containers.begin(), containers.end(),
                   [](const auto& a, const auto& b) { return a.created_at > b.created_at; });
}

const runtime::ContainerStatus* RuntimePodStatus::FindContainer(std::string_view name) const {
  for (const auto& c : containers) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

std::vector<std::string> RuntimePodStatus::PodIPs() const {
  if (sandboxes.empty() || sandboxes.front().state != runtime::SandboxState::kReady) return {};
  const auto& sb = sandboxes.front();
  std::vector<std::string> all = sb.ips;
  if (!sb.ip.empty() && std::find(all.begin(), all.end(), sb.ip) == all.end())
    all.insert(all.begin(), sb.ip);
  // As upstream sortPodIPs with an IPv4 node: the first IPv4 address, then the first IPv6 one.
  std::vector<std::string> out;
  for (const auto& ip : all) {
    if (ip.find(':') == std::string::npos) {
      out.push_back(ip);
      break;
    }
  }
  for (const auto& ip : all) {
    if (ip.find(':') != std::string::npos) {
      out.push_back(ip);
      break;
    }
  }
  return out;
}

std::vector<const runtime::ContainerStatus*> RuntimePodStatus::ActiveContainers() const {
  std::vector<const runtime::ContainerStatus*> out;
  if (sandboxes.empty()) return out;
  for (const auto& c : containers) {
    if (c.sandbox_id == sandboxes.front().id) out.push_back(&c);
  }
  return out;
}

}  // namespace nanolet::kubelet
