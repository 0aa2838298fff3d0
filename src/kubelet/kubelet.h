#pragma once
// Kubelet: the sync loop. One libuv event loop thread owns the desired pods (fed by PodConfig), every timer
// (resync, backoff requeues, housekeeping) and the hand-off of runtime events; blocking work runs on the
// worker pool, one job in flight per pod UID (the pod worker), and its result is posted back to the loop.
// The reported view (PodView) is republished at most once per loop iteration.
//
// Ownership: everything in Pods/entries_ is owned by the loop thread; Post() is the only entry from other
// threads. HTTP handlers read the PodView snapshot.
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config/pod_source.h"
#include "kubelet/pod_view.h"
#include "util/clock.h"

typedef struct uv_loop_s uv_loop_t;
typedef struct uv_async_s uv_async_t;
typedef struct uv_timer_s uv_timer_t;
typedef struct uv_prepare_s uv_prepare_t;

namespace nanolet::runtime {
class Runtime;
struct ContainerEvent;
}  // namespace nanolet::runtime
namespace nanolet::volume {
class ObjectProvider;
}
namespace nanolet::api {
class EventSink;
}

namespace nanolet::prober {
class ProbeManager;
}  // namespace nanolet::prober

namespace nanolet::kubelet {

class PodSyncer;
class WorkerPool;
struct SyncResult;

struct KubeletOptions {
  std::string node_name;
  std::string root_dir = "/var/lib/nanolet";
  std::string pod_logs_dir = "/var/log/pods";
  std::vector<std::string> host_ips;
  Duration sync_frequency = std::chrono::minutes(1);
  Duration housekeeping_period = std::chrono::seconds(2);
  int max_pods = 110;
  size_t workers = 8;
  // ConfigMaps and Secrets for volumes and env (null: none). Outlives the Kubelet.
  const volume::ObjectProvider* objects = nullptr;
  // Where pod, container and probe events go (null: nowhere). Outlives the Kubelet.
  api::EventSink* events = nullptr;
};

class Kubelet {
 public:
  Kubelet(const KubeletOptions& opts, runtime::Runtime& rt, const Clock& clock);
  ~Kubelet();
  Kubelet(const Kubelet&) = delete;
  Kubelet& operator=(const Kubelet&) = delete;

  uv_loop_t* loop() { return loop_.get(); }
  const PodView& pod_view() const { return view_; }

  // Loop thread. Applies one change from PodConfig.
  void HandlePodUpdate(const config::PodUpdate& update);
  // Loop thread. Syncs every pod again (their ConfigMaps or Secrets changed: volumes are rewritten).
  void ResyncAll();
  // Loop thread. Orphaned runtime pods are removed only once this returns true (all sources reported).
  void SetSourcesReady(std::function<bool()> ready) { sources_ready_ = std::move(ready); }
  // Optional observers for the apiserver side (status manager, mirror pods); called on the loop thread.
  struct PodHooks {
    // A pod's reported status changed since the last call for it (checked once per loop iteration, so bursts
    // coalesce); `pod` carries the status; `terminating` while it is being torn down.
    std::function<void(const api::Pod& pod, bool terminating)> status_changed;
    // A pod was terminated, its containers removed, and the kubelet forgot it.
    std::function<void(const api::Pod& pod)> removed;
  };
  void SetPodHooks(PodHooks hooks) { hooks_ = std::move(hooks); }

  // Any thread: runs fn on the loop thread.
  void Post(std::function<void()> fn);
  // Runs the loop on the calling thread until Stop().
  void Run();
  // Any thread.
  void Stop();

  struct Entry;

 private:
  void Dispatch(const std::string& uid);
  void OnSyncDone(const std::string& uid, bool terminate, SyncResult result);
  void OnContainerEvent(const runtime::ContainerEvent& ev);
  void ScheduleRequeue(Entry& e, Duration after);
  void Housekeeping();
  void MarkDirty() { dirty_ = true; }
  void PublishIfDirty();
  void DrainPosted();
  void RemoveEntry(const std::string& uid);

  const KubeletOptions opts_;
  runtime::Runtime& rt_;
  const Clock& clock_;
  std::unique_ptr<uv_loop_t> loop_;
  std::unique_ptr<PodSyncer> syncer_;
  std::unique_ptr<WorkerPool> pool_;
  std::unique_ptr<prober::ProbeManager> probes_;  // its workers are timers on loop_
  SnapshotPodView view_;

  // Loop thread only.
  std::map<std::string, std::unique_ptr<Entry>> entries_;  // by pod UID
  std::map<std::string, bool> orphans_busy_;                // runtime pods being cleaned up
  std::function<bool()> sources_ready_;
  // Housekeeping skips its scan while nothing it depends on changed since a scan that found nothing to do:
  // the runtime's StateGeneration, the set of pods (entries_changes_) and the sources' readiness.
  uint64_t entries_changes_ = 0;
  struct {
    bool clean = false;
    uint64_t generation = 0, entries_changes = 0;
    bool sources_ready = false;
  } last_housekeeping_;
  PodHooks hooks_;
  bool dirty_ = false;
  uv_timer_t* resync_timer_ = nullptr;
  uv_timer_t* housekeeping_timer_ = nullptr;
  uv_prepare_t* prepare_ = nullptr;
  uv_async_t* async_ = nullptr;

  std::mutex post_mu_;
  std::vector<std::function<void()>> posted_;  // guarded by post_mu_
};

}  // namespace nanolet::kubelet
