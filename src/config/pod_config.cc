#include "config/pod_config.h"

#include <utility>

#include "config/static_pod.h"
#include "util/log.h"

namespace nanolet::config {
namespace {

// Upstream localAnnotations: set by the kubelet itself, ignored when comparing pods.
bool IsLocalAnnotation(const std::string& key) {
  return key == kConfigSourceAnnotation || key == kConfigMirrorAnnotation ||
         key == kConfigSeenAnnotation;
}

// Upstream isAnnotationMapEqual.
bool AnnotationsEqual(const api::StringMap& existing, const api::StringMap& candidate) {
  for (const auto& [k, v] : candidate) {
    if (IsLocalAnnotation(k)) continue;
    auto it = existing.find(k);
    if (it == existing.end() || it->second != v) return false;
  }
  for (const auto& [k, v] : existing) {
    if (IsLocalAnnotation(k)) continue;
    if (candidate.find(k) == candidate.end()) return false;
  }
  return true;
}

// Upstream updateAnnotations: the candidate's annotations plus the existing pod's local ones.
void UpdateAnnotations(api::Pod& existing, const api::Pod& candidate) {
  api::StringMap merged = candidate.metadata.annotations;
  for (const char* key :
       {kConfigSourceAnnotation, kConfigMirrorAnnotation, kConfigSeenAnnotation}) {
    auto it = existing.metadata.annotations.find(key);
    if (it != existing.metadata.annotations.end()) merged[key] = it->second;
  }
  existing.metadata.annotations = std::move(merged);
}

enum class Change { kNone, kUpdate, kReconcile, kDelete };

// Upstream checkAndUpdatePod: folds `candidate` into `existing` and says what kind of change it
// was.
Change CheckAndUpdatePod(api::Pod& existing, const api::Pod& candidate) {
  if (!PodsDifferSemantically(existing, candidate)) {
    if (existing.status != candidate.status) {
      existing.status = candidate.status;
      return Change::kReconcile;
    }
    return Change::kNone;
  }
  existing.spec = candidate.spec;
  existing.metadata.labels = candidate.metadata.labels;
  existing.metadata.deletion_timestamp = candidate.metadata.deletion_timestamp;
  existing.metadata.deletion_grace_period_seconds =
      candidate.metadata.deletion_grace_period_seconds;
  existing.metadata.generation = candidate.metadata.generation;
  existing.status = candidate.status;
  UpdateAnnotations(existing, candidate);  // keeps the existing config.seen
  return candidate.metadata.deletion_timestamp.empty() ? Change::kUpdate : Change::kDelete;
}

}  // namespace

bool PodsDifferSemantically(const api::Pod& existing, const api::Pod& candidate) {
  return !(existing.spec == candidate.spec &&
           existing.metadata.labels == candidate.metadata.labels &&
           existing.metadata.deletion_timestamp == candidate.metadata.deletion_timestamp &&
           existing.metadata.deletion_grace_period_seconds ==
               candidate.metadata.deletion_grace_period_seconds &&
           AnnotationsEqual(existing.metadata.annotations, candidate.metadata.annotations));
}

std::string PodFullName(const api::Pod& pod) {
  return pod.metadata.name + "_" + pod.metadata.namespace_;
}

PodConfig::PodConfig(UpdateCallback on_update, const Clock* clock)
    : on_update_(std::move(on_update)), clock_(clock != nullptr ? clock : &RealClock::Instance()) {}

void PodConfig::RegisterSource(const std::string& source) { registered_.insert(source); }

SourceCallback PodConfig::Callback() {
  return [this](const std::string& source, std::vector<api::Pod> pods) {
    Merge(source, std::move(pods));
  };
}

SourceCallback PodConfig::Channel(const std::string& source) {
  RegisterSource(source);
  return Callback();
}

bool PodConfig::Seen(const std::string& source) const { return seen_.count(source) != 0; }

bool PodConfig::AllSourcesReady() const {
  for (const auto& s : registered_) {
    if (!Seen(s)) return false;
  }
  return true;
}

std::vector<api::Pod> PodConfig::MergedState() const {
  std::vector<api::Pod> out;
  for (const auto& [source, by_uid] : pods_) {
    for (const auto& [uid, pod] : by_uid) out.push_back(pod);
  }
  return out;
}

void PodConfig::Merge(const std::string& source, std::vector<api::Pod> pods) {
  bool first_set = seen_.insert(source).second;
  std::map<std::string, api::Pod>& stored = pods_[source];
  std::map<std::string, api::Pod> next;

  PodUpdate adds{PodOp::kAdd, source, {}};
  PodUpdate updates{PodOp::kUpdate, source, {}};
  PodUpdate deletes{PodOp::kDelete, source, {}};
  PodUpdate removes{PodOp::kRemove, source, {}};
  PodUpdate reconciles{PodOp::kReconcile, source, {}};

  std::set<std::string> names;  // upstream filterInvalidPods: full names already taken in this set
  std::string seen_now;
  for (auto& pod : pods) {
    std::string full = PodFullName(pod);
    if (!names.insert(full).second) {
      log::Error("pod failed validation due to duplicate pod name, ignoring",
                 {{"pod", pod.metadata.namespace_ + "/" + pod.metadata.name},
                  {"podUID", pod.metadata.uid},
                  {"source", source}});
      continue;
    }
    if (next.count(pod.metadata.uid) != 0) {
      log::Error("pod failed validation due to duplicate pod UID, ignoring",
                 {{"pod", pod.metadata.namespace_ + "/" + pod.metadata.name},
                  {"podUID", pod.metadata.uid},
                  {"source", source}});
      continue;
    }
    // Annotate the pod with its source before any comparison (upstream merge).
    pod.metadata.annotations[kConfigSourceAnnotation] = source;
    auto it = stored.find(pod.metadata.uid);
    if (it != stored.end()) {
      api::Pod existing = std::move(it->second);
      stored.erase(it);
      switch (CheckAndUpdatePod(existing, pod)) {
        case Change::kUpdate:
          updates.pods.push_back(existing);
          break;
        case Change::kDelete:
          deletes.pods.push_back(existing);
          break;
        case Change::kReconcile:
          reconciles.pods.push_back(existing);
          break;
        case Change::kNone:
          break;
      }
      next.emplace(existing.metadata.uid, std::move(existing));
      continue;
    }
    // Upstream recordFirstSeenTime.
    if (seen_now.empty()) seen_now = FormatSeenTime(clock_->Now());
    pod.metadata.annotations[kConfigSeenAnnotation] = seen_now;
    log::V(4, "receiving a new pod",
           {{"pod", pod.metadata.namespace_ + "/" + pod.metadata.name}, {"source", source}});
    adds.pods.push_back(pod);
    std::string uid = pod.metadata.uid;
    next.emplace(std::move(uid), std::move(pod));
  }
  // What is left in `stored` is gone from the source.
  for (auto& [uid, pod] : stored) removes.pods.push_back(std::move(pod));
  stored = std::move(next);

  if (!removes.pods.empty()) on_update_(removes);
  if (!adds.pods.empty()) on_update_(adds);
  if (!updates.pods.empty()) on_update_(updates);
  if (!deletes.pods.empty()) on_update_(deletes);
  if (first_set && adds.pods.empty() && updates.pods.empty() && deletes.pods.empty()) {
    on_update_(adds);  // empty ADD: the source is ready
  }
  if (!reconciles.pods.empty()) on_update_(reconciles);
}

}  // namespace nanolet::config
