#pragma once
// Probe results as the prober publishes them and the pod worker consumes them (upstream's liveness,
// readiness and startup results managers), keyed by runtime container ID (no "runc://" prefix).
// An absent entry, or an unset member, means "that probe has not run yet for this container". Plain
// data.
#include <functional>
#include <map>
#include <optional>
#include <string>

namespace nanolet::prober {

enum class ProbeResult { kSuccess, kFailure };

struct ContainerProbeResults {
  std::optional<ProbeResult> liveness;
  std::optional<ProbeResult> readiness;
  std::optional<ProbeResult> startup;
  bool operator==(const ContainerProbeResults&) const = default;
};

using ProbeResults = std::map<std::string, ContainerProbeResults, std::less<>>;

}  // namespace nanolet::prober
