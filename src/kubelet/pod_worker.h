#pragma once
// PodSyncer: the blocking work of a pod worker (upstream SyncPod / SyncTerminatingPod of kubelet.go and
// kuberuntime_manager.go): converge the runtime to one desired pod, or tear it down, and report the status
// that results. Runs on the worker pool; the Kubelet guarantees at most one call in flight per pod UID.
// Thread-safe across pods (per-pod state is keyed by UID under mu_; the backoffs lock themselves).
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "api/event_sink.h"
#include "api/types.h"
#include "kubelet/backoff.h"
#include "kubelet/probe_results.h"
#include "kubelet/reason_cache.h"
#include "util/clock.h"

namespace nanolet::runtime {
class Runtime;
}
namespace nanolet::volume {
class ObjectProvider;
}

namespace nanolet::kubelet {

struct PodSyncOptions {
  std::string node_name;
  std::string root_dir;
  std::string pod_logs_dir;
  std::vector<std::string> host_ips;
  // ConfigMaps and Secrets for volumes and env; null: none exist. Outlives the syncer.
  const volume::ObjectProvider* objects = nullptr;
  // Upstream's pod and container events (Pulling, Created, Started, Killing, BackOff, ...); null: none.
  // Outlives the syncer.
  api::EventSink* events = nullptr;
};

struct SyncRequest {
  api::Pod pod;
  TimePoint first_seen{};
  api::PodStatus previous_status;
  ProbeResults probes;
  // For termination: the deletion's own grace period overrides the spec's.
  std::optional<int64_t> grace_period_override;
  // If set, called (on the worker thread) with a status worth reporting before the sync ends: the final
  // container states of a finished pod before its sandbox is torn down. Must only post to its owner.
  std::function<void(const api::PodStatus&)> early_status;
};

struct SyncResult {
  api::PodStatus status;
  // Sync: the pod's containers are all done for good (terminal phase) and its sandbox is stopped.
  // Terminate: everything of the pod is gone from the runtime.
  bool finished = false;
  // Sync again after this long (a backoff ends), if set.
  std::optional<Duration> requeue_after;
  std::string error;  // the last failure, for the log
};

class PodSyncer {
 public:
  PodSyncer(const PodSyncOptions& opts, runtime::Runtime& rt, const Clock& clock);

  SyncResult Sync(const SyncRequest& req);
  SyncResult Terminate(const SyncRequest& req);
  // Drops per-pod caches once the pod is gone.
  void Forget(const std::string& uid);

 private:
  ReasonCache Reasons(const std::string& uid);
  void SetReasons(const std::string& uid, ReasonCache reasons);
  api::PodStatus Status(const api::Pod& pod, const SyncRequest& req, const ReasonCache& reasons,
                        bool terminal);
  // Stops containers with the pod's grace (preStop first) and every sandbox of the pod.
  void KillPod(const api::Pod& pod, std::optional<int64_t> grace_override, bool remove);

  const PodSyncOptions opts_;
  runtime::Runtime& rt_;
  const Clock& clock_;
  Backoff crash_backoff_;
  Backoff pull_backoff_;
  Backoff sandbox_backoff_;
  std::mutex mu_;
  std::map<std::string, ReasonCache> reasons_;  // guarded by mu_
  // Per pod UID, the last sandbox whose late network failure was counted (backoff, event): once per sandbox.
  std::map<std::string, std::string> counted_sandbox_failure_;  // guarded by mu_
};

}  // namespace nanolet::kubelet
