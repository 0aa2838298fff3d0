#include "kubelet/labels.h"

#include <cstdio>

#include "api/types.h"

namespace nanolet::kubelet {
namespace {

constexpr uint64_t kFnvOffset = 14695981039346656037ull;
constexpr uint64_t kFnvPrime = 1099511628211ull;

void Mix(uint64_t& h, std::string_view field) {
  for (unsigned char c : field) {
    h ^= c;
    h *= kFnvPrime;
  }
  // Field separator: a byte that cannot appear in a name and keeps ("ab","c") apart from ("a","bc").
  h ^= 0xff;
  h *= kFnvPrime;
}

}  // namespace

uint64_t HashContainer(const api::Container& container) {
  uint64_t h = kFnvOffset;
  Mix(h, container.name);
  Mix(h, container.image);
  return h;
}

std::string ContainerHash(const api::Container& container) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%llx", static_cast<unsigned long long>(HashContainer(container)));
  return buf;
}

runtime::Labels SandboxLabels(const api::Pod& pod) {
  runtime::Labels l;
  l[std::string(kPodNameLabel)] = pod.metadata.name;
  l[std::string(kPodNamespaceLabel)] = pod.metadata.namespace_;
  l[std::string(kPodUIDLabel)] = pod.metadata.uid;
  l[std::string(kSandboxHostNetworkLabel)] = pod.spec.host_network ? "true" : "false";
  return l;
}

runtime::Labels ContainerLabels(const api::Pod& pod, const api::Container& container, uint32_t attempt) {
  runtime::Labels l;
  l[std::string(kPodNameLabel)] = pod.metadata.name;
  l[std::string(kPodNamespaceLabel)] = pod.metadata.namespace_;
  l[std::string(kPodUIDLabel)] = pod.metadata.uid;
  l[std::string(kContainerNameLabel)] = container.name;
  l[std::string(kContainerHashLabel)] = ContainerHash(container);
  l[std::string(kContainerRestartCountLabel)] = std::to_string(attempt);
  return l;
}

std::string LabelOrAnnotation(const runtime::Labels& labels, const runtime::Labels& annotations,
                              std::string_view key) {
  if (auto it = labels.find(std::string(key)); it != labels.end()) return it->second;
  if (auto it = annotations.find(std::string(key)); it != annotations.end()) return it->second;
  return "";
}

}  // namespace nanolet::kubelet
