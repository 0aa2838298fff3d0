#pragma once
// PodConfig: merges the pod sources into incremental PodUpdates, as upstream
// pkg/kubelet/config/config.go (podStorage.Merge/merge in PodConfigNotificationIncremental mode,
// SET updates only).
//
// For each source's new complete set, pods are matched by UID against that source's previous set:
//   new UID                                   -> kAdd (config.seen stamped, as recordFirstSeenTime)
//   UID gone                                  -> kRemove
//   same UID, spec/labels/deletionTimestamp/deletionGracePeriodSeconds/annotations changed (the
//   local annotations config.source, config.mirror and config.seen do not count): the stored pod
//   takes the new values (keeping its config.seen) and is reported as
//       kDelete when the new pod has a deletionTimestamp, kUpdate otherwise;
//   same UID, only status changed             -> kReconcile
// Within one source, a second pod with the same full name (name_namespace) is dropped with a log
// line (upstream filterInvalidPods): the first one in the source's order wins; the file source
// orders its pods by file name, so the lexically first file wins.
// Each Merge emits, in this order and only when non-empty: REMOVE, ADD, UPDATE, DELETE, then
// RECONCILE; the first SET from a source that yields no ADD/UPDATE/DELETE emits an empty kAdd so
// the kubelet learns the source is ready (upstream does the same).
//
// Threading: not thread-safe; owned by the event loop thread, like the sources that call it. The
// UpdateCallback runs synchronously inside the source callback; it must not call back into this
// PodConfig's callback (no re-entrant merges).
#include <map>
#include <set>
#include <string>
#include <vector>

#include "api/types.h"
#include "config/pod_source.h"
#include "util/clock.h"

namespace nanolet::config {

class PodConfig {
 public:
  // `clock` stamps config.seen (RealClock when null); it must outlive the PodConfig.
  explicit PodConfig(UpdateCallback on_update, const Clock* clock = nullptr);

  // Declares a source the kubelet waits for (upstream PodConfig.Channel): AllSourcesReady() is true
  // once each registered source has reported a set at least once.
  void RegisterSource(const std::string& source);
  // The callback to hand to sources (FileSource, UrlSource, the apiserver source). Valid while this
  // PodConfig lives.
  SourceCallback Callback();
  // RegisterSource(source) + Callback().
  SourceCallback Channel(const std::string& source);

  // Merges one source's complete set (what Callback() calls).
  void Merge(const std::string& source, std::vector<api::Pod> pods);

  // Has `source` reported at least once?
  bool Seen(const std::string& source) const;
  // Have all registered sources reported at least once (upstream SeenAllSources)? The kubelet must
  // not remove orphaned pods before this is true.
  bool AllSourcesReady() const;
  // The merged desired pods of all sources (upstream mergedState, for a full resync), ordered by
  // source and then UID.
  std::vector<api::Pod> MergedState() const;

 private:
  UpdateCallback on_update_;
  const Clock* clock_;
  std::set<std::string> registered_;
  std::set<std::string> seen_;
  // source -> UID -> stored pod.
  std::map<std::string, std::map<std::string, api::Pod>> pods_;
};

// Upstream checkAndUpdatePod/podsDifferSemantically, exposed for tests: do `a` and `b` differ in
// what the kubelet acts on (spec, labels, deletion timestamp and grace, non-local annotations)?
bool PodsDifferSemantically(const api::Pod& existing, const api::Pod& candidate);
// "name_namespace", as upstream kubecontainer.GetPodFullName.
std::string PodFullName(const api::Pod& pod);

}  // namespace nanolet::config
