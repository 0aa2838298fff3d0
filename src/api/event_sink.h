#pragma once
// EventSink: where the pod workers, the prober and the node agent report core/v1 Events (upstream's
// record.EventRecorder as the kubelet uses it). The implementations live in
// kubelet/event_recorder.h (to the log without an apiserver; posted, aggregated and rate-limited
// with one); the callers only see this interface. Implementations are thread-safe and never block
// on the network.
#include <string>

namespace nanolet::api {

struct Pod;

inline constexpr const char* kEventNormal = "Normal";
inline constexpr const char* kEventWarning = "Warning";

class EventSink {
 public:
  virtual ~EventSink() = default;
  // An event about a pod. `type` kEventNormal or kEventWarning; `field_path` names the container
  // ("spec.containers{app}", ContainerFieldPath) or is empty for the pod itself. Reasons and
  // messages are upstream's (pkg/kubelet/events).
  virtual void Record(const Pod& pod, const std::string& type, const std::string& reason,
                      const std::string& message, const std::string& field_path = "") = 0;
  // An event about this node (Starting, NodeReady, NodeHasSufficientMemory, ...).
  virtual void RecordNode(const std::string& type, const std::string& reason,
                          const std::string& message) = 0;
};

// As upstream ref.GetPartialReference's field path for a container: "spec.containers{name}",
// "spec.initContainers{name}".
inline std::string ContainerFieldPath(const std::string& name, bool init = false) {
  return std::string(init ? "spec.initContainers{" : "spec.containers{") + name + "}";
}

}  // namespace nanolet::api
