#pragma once
// Probe results as the pod worker passes them to pod_actions and pod_status (upstream's liveness,
// readiness and startup results managers), keyed by runtime container ID (no "runc://" prefix).
// An absent entry, or an unset member, means "that probe has not run yet for this container". Plain data.
#include <map>
#include <optional>
#include <string>

namespace nanolet::kubelet {

enum class ProbeResult { kSuccess, kFailure };

struct ContainerProbeResults {
  std::optional<ProbeResult> liveness;
  std::optional<ProbeResult> readiness;
  std::optional<ProbeResult> startup;
};

using ProbeResults = std::map<std::string, ContainerProbeResults, std::less<>>;

}  // namespace nanolet::kubelet
