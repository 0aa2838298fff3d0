#include "prober/worker_state.h"

#include <algorithm>

namespace nanolet::prober {

std::string_view ProbeTypeName(ProbeType t) {
  switch (t) {
    case ProbeType::kLiveness:
      return "Liveness";
    case ProbeType::kReadiness:
      return "Readiness";
    case ProbeType::kStartup:
      return "Startup";
  }
  return "Unknown";
}

WorkerState::WorkerState(ProbeType type, const api::Probe& spec, bool restart_never)
    : type_(type),
      restart_never_(restart_never),
      // The API defaults these; a zero here (an undefaulted spec) falls back to the upstream
      // defaults.
      initial_delay_s_(std::max<int32_t>(spec.initial_delay_seconds, 0)),
      period_s_(spec.period_seconds > 0 ? spec.period_seconds : 10),
      timeout_s_(spec.timeout_seconds > 0 ? spec.timeout_seconds : 1),
      success_threshold_(spec.success_threshold > 0 ? spec.success_threshold : 1),
      failure_threshold_(spec.failure_threshold > 0 ? spec.failure_threshold : 3),
      result_(Initial()) {}

std::optional<ProbeResult> WorkerState::Initial() const {
  switch (type_) {
    case ProbeType::kReadiness:
      return ProbeResult::kFailure;
    case ProbeType::kLiveness:
      return ProbeResult::kSuccess;
    case ProbeType::kStartup:
      return std::nullopt;
  }
  return std::nullopt;
}

bool WorkerState::Set(std::optional<ProbeResult> r) {
  if (result_ == r) return false;
  result_ = r;
  return true;
}

WorkerState::Step WorkerState::Tick(const ContainerView* c, TimePoint now,
                                    bool* changed) {
  *changed = false;
  if (!c) return Step::kSkip;  // the container is not in the pod's status yet
  if (c->id != container_id_) {
    // A new container: start over from the initial value (not a change worth a sync: the status
    // already reads an unknown container's result as the initial one).
    container_id_ = c->id;
    result_ = Initial();
    last_.reset();
    run_ = 0;
    on_hold_ = false;
  }
  if (on_hold_) return Step::kSkip;
  if (!c->running) {
    if (!container_id_.empty()) *changed = Set(ProbeResult::kFailure);
    // As upstream: stop for good only when the container will not be restarted.
    return c->terminated && restart_never_ ? Step::kStop : Step::kSkip;
  }
  // As upstream: whole seconds since the start, truncated.
  auto since = std::chrono::duration_cast<std::chrono::seconds>(now - c->started_at).count();
  if (since < initial_delay_s_) return Step::kSkip;
  if (c->started) {
    if (type_ == ProbeType::kStartup) return Step::kSkip;  // its work is done for this container
  } else if (type_ != ProbeType::kStartup) {
    return Step::kSkip;  // held back until the startup probe succeeds
  }
  return Step::kProbe;
}

bool WorkerState::Record(bool success) {
  if (last_ == success) {
    ++run_;
  } else {
    last_ = success;
    run_ = 1;
  }
  if ((!success && run_ < failure_threshold_) || (success && run_ < success_threshold_))
    return false;
  bool changed = Set(success ? ProbeResult::kSuccess : ProbeResult::kFailure);
  if ((type_ == ProbeType::kLiveness || type_ == ProbeType::kStartup) && !success) {
    // The container will be killed: stop probing it until a new one replaces it.
    on_hold_ = true;
    run_ = 0;
  }
  return changed;
}

}  // namespace nanolet::prober
