#include "kubelet/kubelet.h"

#include <uv.h>

#include <algorithm>

#include "kubelet/container_gc.h"
#include "kubelet/labels.h"
#include "kubelet/pod_worker.h"
#include "kubelet/runtime_pod.h"
#include "kubelet/worker_pool.h"
#include "prober/manager.h"
#include "runtime/runtime.h"
#include "runtime/volume/volume_manager.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/timefmt.h"

namespace nanolet::kubelet {

struct Kubelet::Entry {
  api::Pod pod;
  TimePoint first_seen{};
  api::PodStatus status;
  bool busy = false;
  bool pending = false;
  bool terminating = false;  // removed from its source, or deleted: tear down, then forget
  bool finished = false;     // terminal phase reached; only the status remains
  bool rejected = false;     // not admitted (e.g. too many pods)
  std::optional<int64_t> grace_override;
  std::optional<api::PodStatus> hooked_status;  // last status handed to hooks_.status_changed
  uv_timer_t* requeue = nullptr;
  Kubelet* owner = nullptr;
  std::string uid;
};

namespace {
uint64_t Ms(Duration d) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  return ms < 0 ? 0 : static_cast<uint64_t>(ms);
}
std::string PodRef(const api::Pod& pod) { return pod.metadata.namespace_ + "/" + pod.metadata.name; }
void CloseAndFree(uv_handle_t* h) {
  uv_close(h, [](uv_handle_t* x) { std::free(x); });
}
template <typename T>
T* NewHandle() {
  return static_cast<T*>(std::calloc(1, sizeof(T)));
}
}  // namespace

Kubelet::Kubelet(const KubeletOptions& opts, runtime::Runtime& rt, const Clock& clock)
    : opts_(opts), rt_(rt), clock_(clock), loop_(std::make_unique<uv_loop_t>()) {
  uv_loop_init(loop_.get());
  PodSyncOptions so;
  so.node_name = opts_.node_name;
  so.root_dir = opts_.root_dir;
  so.pod_logs_dir = opts_.pod_logs_dir;
  so.host_ips = opts_.host_ips;
  so.objects = opts_.objects;
  so.events = opts_.events;
  syncer_ = std::make_unique<PodSyncer>(so, rt_, clock_);
  pool_ = std::make_unique<WorkerPool>(opts_.workers);

  async_ = NewHandle<uv_async_t>();
  uv_async_init(loop_.get(), async_, [](uv_async_t* a) { static_cast<Kubelet*>(a->data)->DrainPosted(); });
  async_->data = this;
  prepare_ = NewHandle<uv_prepare_t>();
  uv_prepare_init(loop_.get(), prepare_);
  prepare_->data = this;
  uv_prepare_start(prepare_, [](uv_prepare_t* p) { static_cast<Kubelet*>(p->data)->PublishIfDirty(); });
  resync_timer_ = NewHandle<uv_timer_t>();
  uv_timer_init(loop_.get(), resync_timer_);
  resync_timer_->data = this;
  uint64_t resync = std::max<uint64_t>(Ms(opts_.sync_frequency), 1000);
  uv_timer_start(
      resync_timer_,
      [](uv_timer_t* t) {
        auto* k = static_cast<Kubelet*>(t->data);
        std::vector<std::string> uids;
        for (const auto& [uid, e] : k->entries_) uids.push_back(uid);
        for (const auto& uid : uids) k->Dispatch(uid);
      },
      resync, resync);
  housekeeping_timer_ = NewHandle<uv_timer_t>();
  uv_timer_init(loop_.get(), housekeeping_timer_);
  housekeeping_timer_->data = this;
  uint64_t hk = std::max<uint64_t>(Ms(opts_.housekeeping_period), 100);
  uv_timer_start(
      housekeeping_timer_, [](uv_timer_t* t) { static_cast<Kubelet*>(t->data)->Housekeeping(); }, hk, hk);

  // A probe result that changes syncs the pod at once (upstream syncLoopIteration's probe channels).
  probes_ = std::make_unique<prober::ProbeManager>(
      loop_.get(), rt_, clock_, [this](std::function<void()> fn) { Post(std::move(fn)); },
      [this](const std::string& uid) { Dispatch(uid); }, [&] {
        prober::ProbeManagerOptions po;
        po.events = opts_.events;
        return po;
      }());

  rt_.SetEventHandler([this](const runtime::ContainerEvent& ev) {
    runtime::ContainerEvent copy = ev;
    Post([this, copy] { OnContainerEvent(copy); });
  });
}

Kubelet::~Kubelet() {
  rt_.SetEventHandler(nullptr);
  probes_.reset();  // closes its timers; the loop runs below to free them
  pool_.reset();  // runs what was queued; results are posted to a loop that no longer runs
  for (auto& [uid, e] : entries_) {
    if (e->requeue) CloseAndFree(reinterpret_cast<uv_handle_t*>(e->requeue));
  }
  entries_.clear();
  for (uv_handle_t* h : {reinterpret_cast<uv_handle_t*>(async_), reinterpret_cast<uv_handle_t*>(prepare_),
                         reinterpret_cast<uv_handle_t*>(resync_timer_),
                         reinterpret_cast<uv_handle_t*>(housekeeping_timer_)}) {
    CloseAndFree(h);
  }
  uv_run(loop_.get(), UV_RUN_NOWAIT);
  uv_walk(
      loop_.get(), [](uv_handle_t* h, void*) { if (!uv_is_closing(h)) uv_close(h, nullptr); }, nullptr);
  uv_run(loop_.get(), UV_RUN_DEFAULT);
  uv_loop_close(loop_.get());
}

void Kubelet::Post(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> l(post_mu_);
    posted_.push_back(std::move(fn));
  }
  uv_async_send(async_);
}

void Kubelet::DrainPosted() {
  std::vector<std::function<void()>> fns;
  {
    std::lock_guard<std::mutex> l(post_mu_);
    fns.swap(posted_);
  }
  for (auto& f : fns) f();
}

void Kubelet::Run() { uv_run(loop_.get(), UV_RUN_DEFAULT); }

void Kubelet::Stop() {
  Post([this] { uv_stop(loop_.get()); });
}

void Kubelet::HandlePodUpdate(const config::PodUpdate& update) {
  for (const auto& pod : update.pods) {
    const std::string& uid = pod.metadata.uid;
    auto it = entries_.find(uid);
    switch (update.op) {
      case config::PodOp::kAdd:
      case config::PodOp::kUpdate:
      case config::PodOp::kReconcile: {
        if (it == entries_.end()) {
          auto e = std::make_unique<Entry>();
          e->pod = pod;
          e->uid = uid;
          e->owner = this;
          e->first_seen = clock_.Now();
          // Static pods have no creationTimestamp (no apiserver sets one); report when nanolet first saw the
          // pod, so `kubectl get pods` shows an AGE.
          if (e->pod.metadata.creation_timestamp.empty()) {
            e->pod.metadata.creation_timestamp = FormatRFC3339(e->first_seen);
          }
          size_t active = 0;
          for (const auto& [u, x] : entries_) active += !x->terminating && !x->rejected;
          if (static_cast<int>(active) >= opts_.max_pods) {
            // As upstream admission (predicate "pods"): the pod fails without running.
            e->rejected = true;
            e->status.phase = "Failed";
            e->status.reason = "OutOfpods";
            e->status.message = "Node didn't have enough resource: pods, requested: 1, used: " +
                                std::to_string(active) + ", capacity: " + std::to_string(opts_.max_pods);
            log::Warn("pod rejected", {{"pod", PodRef(pod)}, {"reason", e->status.message}});
            entries_[uid] = std::move(e);
            ++entries_changes_;
            MarkDirty();
            continue;
          }
          log::Info("pod added", {{"pod", PodRef(pod)}, {"uid", uid}, {"source", update.source}});
          entries_[uid] = std::move(e);
          ++entries_changes_;
          if (pod.metadata.deletion_timestamp.empty()) probes_->AddPod(pod);
        } else {
          std::string created = it->second->pod.metadata.creation_timestamp;
          it->second->pod = pod;
          if (it->second->pod.metadata.creation_timestamp.empty()) {
            it->second->pod.metadata.creation_timestamp = created;
          }
        }
        if (pod.metadata.deletion_timestamp.empty()) {
          Dispatch(uid);
          break;
        }
        [[fallthrough]];
      }
      case config::PodOp::kDelete:
      case config::PodOp::kRemove: {
        it = entries_.find(uid);
        if (it == entries_.end()) break;
        auto& e = *it->second;
        if (update.op == config::PodOp::kDelete || !pod.metadata.deletion_timestamp.empty()) {
          e.pod.metadata.deletion_timestamp = pod.metadata.deletion_timestamp;
          e.pod.metadata.deletion_grace_period_seconds = pod.metadata.deletion_grace_period_seconds;
          e.grace_override = pod.metadata.deletion_grace_period_seconds;
        }
        if (e.rejected) {
          RemoveEntry(uid);
          break;
        }
        if (!e.terminating) log::Info("pod removed: terminating", {{"pod", PodRef(e.pod)}, {"uid", uid}});
        if (!e.terminating) probes_->StopLivenessAndStartup(uid);
        e.terminating = true;
        Dispatch(uid);
        break;
      }
    }
  }
  MarkDirty();
}

void Kubelet::ResyncAll() {
  std::vector<std::string> uids;
  for (const auto& [uid, e] : entries_) uids.push_back(uid);
  for (const auto& uid : uids) Dispatch(uid);
}

void Kubelet::Dispatch(const std::string& uid) {
  auto it = entries_.find(uid);
  if (it == entries_.end()) return;
  Entry& e = *it->second;
  if (e.rejected) return;
  if (e.finished && !e.terminating) return;
  if (e.busy) {
    e.pending = true;
    return;
  }
  // As upstream's pod workers: a pod does not start while another pod of the same full name (an edited
  // static pod's old version) is still terminating; RemoveEntry dispatches it when that one is gone.
  if (!e.terminating) {
    for (const auto& [other_uid, other] : entries_) {
      if (other_uid != uid && other->terminating && other->pod.metadata.name == e.pod.metadata.name &&
          other->pod.metadata.namespace_ == e.pod.metadata.namespace_) {
        e.pending = true;
        return;
      }
    }
  }
  e.busy = true;
  e.pending = false;
  auto req = std::make_shared<SyncRequest>();
  req->pod = e.pod;
  req->first_seen = e.first_seen;
  req->previous_status = e.status;
  req->grace_period_override = e.grace_override;
  if (probes_) req->probes = probes_->Results(uid);
  bool terminate = e.terminating;
  if (!terminate) {
    req->early_status = [this, uid](const api::PodStatus& st) {
      Post([this, uid, st] {
        auto it = entries_.find(uid);
        if (it == entries_.end() || it->second->terminating || it->second->status == st) return;
        it->second->status = st;
        MarkDirty();
      });
    };
  }
  pool_->Submit([this, uid, req, terminate] {
    SyncResult r = terminate ? syncer_->Terminate(*req) : syncer_->Sync(*req);
    auto shared = std::make_shared<SyncResult>(std::move(r));
    Post([this, uid, terminate, shared] { OnSyncDone(uid, terminate, std::move(*shared)); });
  });
}

void Kubelet::OnSyncDone(const std::string& uid, bool terminate, SyncResult result) {
  auto it = entries_.find(uid);
  if (it == entries_.end()) return;
  Entry& e = *it->second;
  e.busy = false;
  if (!result.error.empty()) log::V(1, "sync pod", {{"pod", PodRef(e.pod)}, {"error", result.error}});
  if (terminate && result.finished) {
    if (e.terminating) {
      log::Info("pod terminated and removed", {{"pod", PodRef(e.pod)}, {"uid", uid}});
      syncer_->Forget(uid);
      RemoveEntry(uid);
      MarkDirty();
      return;
    }
  }
  if (!(e.status == result.status)) {
    e.status = std::move(result.status);
    MarkDirty();
  }
  if (probes_) probes_->UpdatePodStatus(uid, e.status);
  if (!terminate && result.finished) e.finished = true;
  if (e.pending || (e.terminating && !terminate)) {
    Dispatch(uid);
  } else if (result.requeue_after) {
    ScheduleRequeue(e, *result.requeue_after);
  }
}

void Kubelet::ScheduleRequeue(Entry& e, Duration after) {
  if (!e.requeue) {
    e.requeue = NewHandle<uv_timer_t>();
    uv_timer_init(loop_.get(), e.requeue);
    e.requeue->data = &e;
  }
  // An earlier requeue already armed stays: a sync in the middle of a backoff window asks for the whole
  // window again, which would push the retry out. +1 ms: libuv's loop time is floored to the millisecond,
  // and a timer firing before the window ends finds the pod still in backoff (one more window lost).
  const uint64_t ms = Ms(after) + 1;
  if (uv_is_active(reinterpret_cast<uv_handle_t*>(e.requeue)) && uv_timer_get_due_in(e.requeue) <= ms) return;
  uv_timer_start(
      e.requeue,
      [](uv_timer_t* t) {
        auto* entry = static_cast<Entry*>(t->data);
        entry->owner->Dispatch(entry->uid);
      },
      ms, 0);
}

void Kubelet::RemoveEntry(const std::string& uid) {
  auto it = entries_.find(uid);
  if (it == entries_.end()) return;
  if (it->second->requeue) CloseAndFree(reinterpret_cast<uv_handle_t*>(it->second->requeue));
  if (probes_) probes_->RemovePod(uid);
  if (hooks_.removed) hooks_.removed(it->second->pod);
  std::string name = it->second->pod.metadata.name, ns = it->second->pod.metadata.namespace_;
  entries_.erase(it);
  ++entries_changes_;
  std::vector<std::string> waiting;
  for (const auto& [other_uid, other] : entries_) {
    if (other->pending && !other->busy && other->pod.metadata.name == name && other->pod.metadata.namespace_ == ns) {
      waiting.push_back(other_uid);
    }
  }
  for (const auto& u : waiting) Dispatch(u);
}

void Kubelet::OnContainerEvent(const runtime::ContainerEvent& ev) {
  if (entries_.count(ev.pod_uid)) Dispatch(ev.pod_uid);
}

void Kubelet::PublishIfDirty() {
  if (!dirty_) return;
  dirty_ = false;
  std::vector<api::Pod> pods;
  pods.reserve(entries_.size());
  for (const auto& [uid, e] : entries_) {
    api::Pod p = e->pod;
    p.status = e->status;
    if (hooks_.status_changed && (!e->hooked_status || !(*e->hooked_status == e->status))) {
      e->hooked_status = e->status;
      hooks_.status_changed(p, e->terminating);
    }
    pods.push_back(std::move(p));
  }
  std::sort(pods.begin(), pods.end(), [](const api::Pod& a, const api::Pod& b) {
    return std::tie(a.metadata.namespace_, a.metadata.name) < std::tie(b.metadata.namespace_, b.metadata.name);
  });
  view_.Publish(std::move(pods));
}

// Removes runtime pods nobody wants any more (their manifest went away while nanolet was down), once every
// source has reported: as upstream HandlePodCleanups, with the minimum grace period (no spec is known).
void Kubelet::Housekeeping() {
  // The scan below copies every sandbox and container (600 objects: ~10 ms): skip it while the last one found
  // nothing to do and nothing it reads changed since (FindPodGarbage is pure; orphans depend on the runtime's
  // objects, the pods known and the sources' readiness). Read before listing: a change during the scan is a
  // new generation, so the next run scans again.
  const uint64_t generation = rt_.StateGeneration();
  const bool sources_ready = sources_ready_ && sources_ready_();
  auto& last = last_housekeeping_;
  if (generation != 0 && last.clean && generation == last.generation &&
      entries_changes_ == last.entries_changes && sources_ready == last.sources_ready) {
    return;
  }
  last = {true, generation, entries_changes_, sources_ready};
  auto sandboxes = rt_.ListPodSandboxes();
  auto containers = rt_.ListContainers();
  if (!sandboxes.ok() || !containers.ok()) {
    last.clean = false;
    return;
  }
  // Garbage collection of known pods (container_gc.h: dead containers, dead older sandboxes, e.g. those a
  // restart of nanolet left half made), in the pod's worker slot so that it never runs beside its sync.
  std::map<std::string, std::pair<std::vector<runtime::SandboxStatus>, std::vector<runtime::ContainerStatus>>>
      by_pod;
  for (const auto& s : *sandboxes) by_pod[s.pod_uid].first.push_back(s);
  for (const auto& c : *containers) by_pod[LabelOrAnnotation(c.labels, c.annotations, kPodUIDLabel)].second.push_back(c);
  for (const auto& [uid, objects] : by_pod) {
    auto it = entries_.find(uid);
    if (it == entries_.end()) continue;  // an orphan: below
    if (it->second->busy || it->second->terminating || it->second->rejected) {
      last.clean = false;  // not looked at: look again next time
      continue;
    }
    PodGarbage garbage = FindPodGarbage(RuntimePodStatus::Build(uid, objects.first, objects.second));
    if (garbage.empty()) continue;
    last.clean = false;
    it->second->busy = true;
    pool_->Submit([this, uid, garbage] {
      RemovePodGarbage(rt_, garbage);
      Post([this, uid] {
        auto e = entries_.find(uid);
        if (e == entries_.end()) return;
        e->second->busy = false;
        if (e->second->pending || e->second->terminating) Dispatch(uid);
      });
    });
  }
  if (!sources_ready) return;
  // Pod directories of pods that are gone from the sources and the runtime (upstream
  // cleanupOrphanedPodDirs), e.g. when nanolet was killed between making the directory and the sandbox.
  if (auto dirs = ListDir(opts_.root_dir + "/pods"); dirs.ok()) {
    for (const auto& uid : *dirs) {
      if (entries_.count(uid) || by_pod.count(uid)) continue;
      last.clean = false;
      if (orphans_busy_.count(uid)) continue;
      log::Info("removing orphaned pod directory", {{"uid", uid}});
      orphans_busy_[uid] = true;
      pool_->Submit([this, uid] {
        if (auto r = volume::TearDownPodVolumes(opts_.root_dir, uid); !r.ok()) {
          log::Warn("remove orphaned pod directory", {{"uid", uid}, {"error", r.error().message()}});
        }
        Post([this, uid] { orphans_busy_.erase(uid); });
      });
    }
  }
  std::map<std::string, api::Pod> orphans;
  auto consider = [&](const std::string& uid, const std::string& name, const std::string& ns) {
    if (uid.empty() || entries_.count(uid)) return;
    last.clean = false;
    if (orphans_busy_.count(uid)) return;
    api::Pod& p = orphans[uid];
    p.metadata.uid = uid;
    p.metadata.name = name;
    p.metadata.namespace_ = ns;
    p.spec.termination_grace_period_seconds = 2;
  };
  for (const auto& s : *sandboxes) consider(s.pod_uid, s.pod_name, s.pod_namespace);
  for (const auto& c : *containers) {
    auto get = [&](std::string_view k) {
      auto it = c.labels.find(std::string(k));
      return it == c.labels.end() ? std::string() : it->second;
    };
    consider(get(kPodUIDLabel), get(kPodNameLabel), get(kPodNamespaceLabel));
  }
  for (auto& [uid, pod] : orphans) {
    log::Info("removing orphaned pod", {{"pod", PodRef(pod)}, {"uid", uid}});
    orphans_busy_[uid] = true;
    auto req = std::make_shared<SyncRequest>();
    req->pod = pod;
    req->grace_period_override = 2;
    pool_->Submit([this, uid, req] {
      syncer_->Terminate(*req);
      syncer_->Forget(uid);
      Post([this, uid] { orphans_busy_.erase(uid); });
    });
  }
}

}  // namespace nanolet::kubelet
