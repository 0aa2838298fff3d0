#pragma once
// Probe results as the pod worker passes them to pod_actions and pod_status (upstream's liveness,
// readiness and startup results managers), keyed by runtime container ID (no "runc://" prefix).
// An absent entry, or an unset member, means "that probe has not run yet for this container". Plain data,
// defined by the prober that produces it (prober/results.h).
#include "prober/results.h"

namespace nanolet::kubelet {

using ProbeResult = prober::ProbeResult;
using ContainerProbeResults = prober::ContainerProbeResults;
using ProbeResults = prober::ProbeResults;

}  // namespace nanolet::kubelet
