#pragma once
// The probe manager (upstream pkg/kubelet/prober/prober_manager.go): one worker per (pod,
// container, probe type), each a timer on the owner's libuv loop that fires every periodSeconds;
// exec probes run on a small bounded thread pool (ExecSync blocks), tcpSocket and httpGet probes
// run on the loop without blocking. Results are kept per runtime container ID; a change calls
// `on_change(pod_uid)` so that the pod is synced at once.
//
// Ownership: the loop thread owns everything; every method must be called on it. `post` is how pool
// threads hand results back to the loop. Destroy it before the loop, and run the loop afterwards so
// that its closed handles are freed.
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "api/event_sink.h"
#include "api/types.h"
#include "prober/outcome.h"
#include "prober/results.h"
#include "prober/worker_state.h"
#include "util/clock.h"

typedef struct uv_loop_s uv_loop_t;
typedef struct uv_timer_s uv_timer_t;

namespace nanolet::runtime {
class Runtime;
}

namespace nanolet::prober {

class HttpProber;
class TcpProber;
class GrpcProber;
class ExecPool;

struct ProbeManagerOptions {
  size_t exec_threads = 4;
  // Upstream staggers the first probe of each worker by a random part of its period while the
  // kubelet is young (it restarted: every worker starts at once); later workers probe at once.
  bool jitter_at_startup = true;
  // How long one probe "second" (periodSeconds, timeoutSeconds) lasts on the loop's timers; unit
  // tests shrink it. initialDelaySeconds is measured on the Clock.
  std::chrono::milliseconds second{1000};
  // Unhealthy / ProbeWarning events on the container (null: the log only). Outlives the manager.
  api::EventSink* events = nullptr;
};

class ProbeManager {
 public:
  using PostFn = std::function<void(std::function<void()>)>;
  using ChangeFn = std::function<void(const std::string& pod_uid)>;

  ProbeManager(uv_loop_t* loop, runtime::Runtime& rt, const Clock& clock, PostFn post,
               ChangeFn on_change, ProbeManagerOptions opts = {});
  ~ProbeManager();
  ProbeManager(const ProbeManager&) = delete;
  ProbeManager& operator=(const ProbeManager&) = delete;

  // Starts a worker for every probe of the pod's containers (and restartable init containers) that
  // has none yet.
  void AddPod(const api::Pod& pod);
  // Stops the pod's workers and forgets its results.
  void RemovePod(const std::string& pod_uid);
  // A terminating pod is no longer liveness- or startup-probed (its readiness still is), as
  // upstream.
  void StopLivenessAndStartup(const std::string& pod_uid);
  // What the workers see of the pod: container IDs, running/started, the pod IP. After every sync.
  void UpdatePodStatus(const std::string& pod_uid, const api::PodStatus& status);
  // The pod's current results, by container ID.
  ProbeResults Results(const std::string& pod_uid) const;

  size_t worker_count() const;
  // httpGet and tcpSocket probes on the wire (exec probes not counted).
  size_t network_probes_in_flight() const;

  struct Worker;
  struct PodState;

 private:
  friend struct Worker;
  void StartWorker(const api::Pod& pod, const api::Container& c, ProbeType type,
                   const api::Probe& probe);
  void StopWorker(Worker& w);
  static void OnTimer(uv_timer_t* t);
  void Tick(Worker& w);
  void RunProbe(Worker& w, const ContainerView& view, const std::string& pod_ip);
  void OnOutcome(Worker& w, const std::string& container_id, const ProbeOutcome& outcome);

  uv_loop_t* loop_;
  runtime::Runtime& rt_;
  const Clock& clock_;
  const PostFn post_;
  const ChangeFn on_change_;
  const ProbeManagerOptions opts_;
  const TimePoint created_;
  std::unique_ptr<HttpProber> http_;
  std::unique_ptr<TcpProber> tcp_;
  std::unique_ptr<GrpcProber> grpc_;
  std::unique_ptr<ExecPool> exec_;
  std::map<std::string, std::unique_ptr<PodState>> pods_;  // by pod UID
  std::map<std::string, int> series_refs_;  // live workers per metric series (Worker::SeriesKey)
};

}  // namespace nanolet::prober
