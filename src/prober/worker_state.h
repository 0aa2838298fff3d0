#pragma once
// The decision logic of one probe worker (upstream pkg/kubelet/prober/worker.go doProbe), without
// timers or I/O so that unit tests drive it on a fake clock. One WorkerState per (pod, container,
// probe type); owned by the prober's loop thread.
//
// A caller may rely on, as upstream:
// - a new container ID resets the result to the initial value (readiness: failure; liveness:
// success;
//   startup: unset) and the threshold counters, and lifts a hold;
// - a container that is not running is not probed; its result becomes failure;
// - nothing is probed before initialDelaySeconds have passed since the container started;
// - until the container has `started` (its startup probe succeeded), only the startup probe runs;
// after,
//   only liveness and readiness;
// - the result flips only after failureThreshold consecutive failures or successThreshold
// consecutive
//   successes; a liveness or startup failure puts the worker on hold until the container is
//   replaced.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "api/types.h"
#include "prober/results.h"
#include "util/clock.h"

namespace nanolet::prober {

enum class ProbeType { kLiveness, kReadiness, kStartup };

// "Liveness", "Readiness", "Startup" (event messages and the probe_type metric label).
std::string_view ProbeTypeName(ProbeType t);

// What a worker needs of a container's reported status.
struct ContainerView {
  std::string id;  // runtime container ID, no "runc://" prefix; "" before the container exists
  bool running = false;
  bool terminated = false;
  TimePoint started_at{};
  bool started = false;  // status.started: the startup probe succeeded, or there is none
};

class WorkerState {
 public:
  enum class Step { kSkip, kProbe, kStop };

  WorkerState(ProbeType type, const api::Probe& spec, bool restart_never);

  // One tick. `container` is nullopt when the pod's status does not list the container yet. Sets
  // *changed when the published result changed. kStop: the container ended for good (restartPolicy
  // Never).
  Step Tick(const ContainerView* container, TimePoint now, bool* changed);  // null: not in the status
  Step Tick(const std::optional<ContainerView>& container, TimePoint now, bool* changed) {
    return Tick(container ? &*container : nullptr, now, changed);
  }
  // The outcome of a probe started by the last kProbe. Returns whether the published result
  // changed.
  bool Record(bool success);

  ProbeType type() const { return type_; }
  const std::string& container_id() const { return container_id_; }
  std::optional<ProbeResult> result() const { return result_; }
  bool on_hold() const { return on_hold_; }

  int32_t period_seconds() const { return period_s_; }
  int32_t timeout_seconds() const { return timeout_s_; }

 private:
  std::optional<ProbeResult> Initial() const;
  bool Set(std::optional<ProbeResult> r);

  const ProbeType type_;
  const bool restart_never_;
  const int32_t initial_delay_s_, period_s_, timeout_s_, success_threshold_, failure_threshold_;

  std::string container_id_;
  std::optional<ProbeResult> result_;
  std::optional<bool> last_;  // the last probe's outcome
  int32_t run_ = 0;           // consecutive probes with that outcome
  bool on_hold_ = false;
};

}  // namespace nanolet::prober
