#pragma once
// StatusManager: the apiserver side of pod status, as upstream pkg/kubelet/status (manager.go
// syncPod, needsUpdate, canBeDeleted) and pkg/kubelet/pod/mirror_client.go.
//
//  - Status writes: PATCH pods/<name>/status, a strategic-merge patch carrying metadata.uid (so a
//  pod
//    recreated under the same name is never written: the apiserver answers 409 and the write is
//    dropped). Only when the status differs from the last one written for that UID. Changes are
//    coalesced: the worker waits `batch_delay` after the first change so a burst of starts (and the
//    create -> Running sequence of one pod) costs one write per distinct status it still sees.
//    Failed writes are retried after 1 s.
//  - Static pods (config.source file/http): their status goes to the mirror pod (same name), with
//  the mirror
//    pod's UID; nothing is written until a mirror exists.
//  - Mirror pods: for each static pod a mirror pod is created (annotation
//  kubernetes.io/config.mirror = the
//    static pod's config.hash, ownerReference to the Node: apiVersion v1, kind Node, name, uid, as
//    upstream CreateMirrorPod), recreated when the hash differs, deleted when the static pod is
//    gone (orphaned mirror pods, upstream HandlePodCleanups). Mirrors are deleted with a UID
//    precondition.
//  - Final delete: an apiserver pod that had a deletionTimestamp and has been terminated
//  (containers removed)
//    is deleted with gracePeriodSeconds 0 and preconditions.uid, after its last status write.
//
// Threading: the Set*/Pod* methods are called on the kubelet loop thread (or any thread: they only
// queue); the apiserver work runs on the manager's own worker thread.
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "api/types.h"
#include "client/rest_client.h"

namespace nanolet::kubelet {

class StatusManager {
 public:
  struct Options {
    Duration batch_delay = std::chrono::milliseconds(200);
    std::string node_name;
    std::function<std::string()> node_uid;  // empty until the Node is registered
  };
  struct Stats {
    std::atomic<uint64_t> status_writes{0};
    std::atomic<uint64_t> mirror_creates{0};
    std::atomic<uint64_t> mirror_deletes{0};
    std::atomic<uint64_t> pod_deletes{0};
  };

  StatusManager(client::RestClient& client, Options opts);
  ~StatusManager();
  void Start();
  void Stop();

  // A pod's reported status changed (`pod` carries it); `terminating` while it is being torn down.
  void SetPodStatus(const api::Pod& pod, bool terminating);
  // A pod was terminated and forgotten.
  void PodRemoved(const api::Pod& pod);
  // Every pod source has reported once: only then are mirror pods without a static pod deleted (as
  // upstream, whose HandlePodCleanups waits for the sources), so a restart does not delete and
  // recreate every mirror.
  void MarkSourcesReady();
  // The mirror pods currently in the apiserver (from the apiserver source).
  void SetMirrorPods(std::vector<api::Pod> mirrors);
  // The UID of the mirror pod standing for `pod` (same namespace and name, another UID) in the
  // apiserver, "" when there is none: the involved object of a static pod's events. Any thread.
  std::string MirrorUID(const api::Pod& pod);
  const Stats& stats() const { return stats_; }

 private:
  struct Tracked {
    api::Pod pod;  // with status
    bool is_static = false;
    bool terminating = false;
  };
  void Run();
  void SyncOne(const std::string& uid, Tracked t);
  void SyncMirrors();
  bool IsStatic(const api::Pod& pod) const;

  client::RestClient& client_;
  const Options opts_;
  Stats stats_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  // Guarded by mu_.
  bool stop_ = false;
  std::map<std::string, Tracked> pods_;      // by UID: every pod the kubelet reports
  std::set<std::string> dirty_;              // UIDs whose status must be (re)considered
  std::vector<api::Pod> deletes_;            // final deletes queued
  std::map<std::string, api::Pod> mirrors_;  // "ns/name" -> mirror pod in the apiserver
  bool mirrors_dirty_ = false;
  bool sources_ready_ = false;
  bool failed_ = false;  // the last round failed somewhere: wait 1 s before the next
  // Worker thread only.
  std::map<std::string, api::PodStatus> last_sent_;  // by pod UID (static pods: static UID)
  std::map<std::string, std::string> sent_to_;  // static UID -> mirror UID the last write went to
};

}  // namespace nanolet::kubelet
