#include "kubelet/status_manager.h"

#include "api/decode.h"
#include "api/encode.h"
#include "config/pod_source.h"
#include "config/static_pod.h"
#include "util/log.h"

namespace nanolet::kubelet {
namespace status_manager_detail {

std::string Key(const api::Pod& p) { return p.metadata.namespace_ + "/" + p.metadata.name; }
std::string PodPath(const api::Pod& p) {
  return "/api/v1/namespaces/" + p.metadata.namespace_ + "/pods/" + p.metadata.name;
}
std::string Annotation(const api::Pod& p, const char* key) {
  auto it = p.metadata.annotations.find(key);
  return it == p.metadata.annotations.end() ? "" : it->second;
}
nlohmann::json DeleteOptions(const std::string& uid) {
  return {{"apiVersion", "v1"},
          {"kind", "DeleteOptions"},
          {"gracePeriodSeconds", 0},
          {"preconditions", {{"uid", uid}}}};
}

// The apiserver accepts at most one IP per family in hostIPs/podIPs (validation "may specify no
// more than one IP for each IP family"), the first equal to hostIP/podIP; the kubelet's own view
// may list every host address.
void OnePerFamily(std::string& primary, std::vector<api::PodIP>& ips) {
  std::vector<api::PodIP> out;
  bool v4 = false, v6 = false;
  auto take = [&](const api::PodIP& ip) {
    bool is6 = ip.ip.find(':') != std::string::npos;
    if ((is6 && v6) || (!is6 && v4)) return;
    (is6 ? v6 : v4) = true;
    out.push_back(ip);
  };
  if (!primary.empty()) take(api::PodIP{primary});
  for (const auto& ip : ips) take(ip);
  if (primary.empty() && !out.empty()) primary = out.front().ip;
  ips = std::move(out);
}

api::PodStatus ForApiserver(api::PodStatus st) {
  OnePerFamily(st.host_ip, st.host_ips);
  OnePerFamily(st.pod_ip, st.pod_ips);
  return st;
}

}  // namespace status_manager_detail

using namespace status_manager_detail;

StatusManager::StatusManager(client::RestClient& client, Options opts)
    : client_(client), opts_(std::move(opts)) {}

StatusManager::~StatusManager() { Stop(); }

void StatusManager::Start() {
  if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
}

void StatusManager::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool StatusManager::IsStatic(const api::Pod& pod) const {
  std::string src = Annotation(pod, config::kConfigSourceAnnotation);
  return src == config::kSourceFile || src == config::kSourceHttp;
}

void StatusManager::SetPodStatus(const api::Pod& pod, bool terminating) {
  std::string src = Annotation(pod, config::kConfigSourceAnnotation);
  bool is_static = IsStatic(pod);
  if (!is_static && src != config::kSourceApi) return;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto& t = pods_[pod.metadata.uid];
    bool was_known = !t.pod.metadata.uid.empty();
    t.pod = pod;
    t.is_static = is_static;
    t.terminating = terminating;
    dirty_.insert(pod.metadata.uid);
    if (is_static && !was_known) mirrors_dirty_ = true;
  }
  cv_.notify_all();
}

void StatusManager::PodRemoved(const api::Pod& pod) {
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = pods_.find(pod.metadata.uid);
    bool is_static = it != pods_.end() ? it->second.is_static : IsStatic(pod);
    if (it != pods_.end()) pods_.erase(it);
    if (is_static) mirrors_dirty_ = true;
    if (!is_static && Annotation(pod, config::kConfigSourceAnnotation) == config::kSourceApi &&
        !pod.metadata.deletion_timestamp.empty()) {
      deletes_.push_back(pod);
    }
  }
  cv_.notify_all();
}

void StatusManager::MarkSourcesReady() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (sources_ready_) return;
    sources_ready_ = true;
    mirrors_dirty_ = true;
  }
  cv_.notify_all();
}

std::string StatusManager::MirrorUID(const api::Pod& pod) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = mirrors_.find(Key(pod));
  if (it == mirrors_.end() || it->second.metadata.uid == pod.metadata.uid) return "";
  return it->second.metadata.uid;
}

void StatusManager::SetMirrorPods(std::vector<api::Pod> mirrors) {
  {
    std::lock_guard<std::mutex> l(mu_);
    std::map<std::string, api::Pod> next;
    for (auto& m : mirrors) next[Key(m)] = std::move(m);
    bool changed = next.size() != mirrors_.size();
    for (const auto& [k, m] : next) {
      auto it = mirrors_.find(k);
      if (it == mirrors_.end() || it->second.metadata.uid != m.metadata.uid ||
          Annotation(it->second, config::kConfigMirrorAnnotation) !=
              Annotation(m, config::kConfigMirrorAnnotation)) {
        changed = true;
      }
    }
    if (!changed) return;
    mirrors_ = std::move(next);
    mirrors_dirty_ = true;
    for (const auto& [uid, t] : pods_) {
      if (t.is_static) dirty_.insert(uid);  // their status goes to the (new) mirror
    }
  }
  cv_.notify_all();
}

void StatusManager::Run() {
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    cv_.wait(l, [this] { return stop_ || !dirty_.empty() || !deletes_.empty() || mirrors_dirty_; });
    if (stop_) return;
    // Coalesce a burst: what changes during the delay goes out in this round.
    cv_.wait_for(l, opts_.batch_delay, [this] { return stop_; });
    if (stop_) return;
    std::vector<std::pair<std::string, Tracked>> work;
    for (const auto& uid : dirty_) {
      auto it = pods_.find(uid);
      if (it != pods_.end()) work.emplace_back(uid, it->second);
    }
    dirty_.clear();
    std::vector<api::Pod> deletes = std::move(deletes_);
    deletes_.clear();
    bool mirrors = mirrors_dirty_;
    mirrors_dirty_ = false;
    l.unlock();

    if (mirrors) SyncMirrors();
    for (auto& [uid, t] : work) {
      SyncOne(uid, std::move(t));
    }
    for (const auto& p : deletes) {
      last_sent_.erase(p.metadata.uid);
      auto r = client_.Delete(PodPath(p), DeleteOptions(p.metadata.uid));
      if (r.ok()) {
        stats_.pod_deletes++;
        log::Info("pod deleted from the apiserver", {{"pod", Key(p)}, {"uid", p.metadata.uid}});
      } else if (!r.error().is(ErrorCode::kNotFound) && !r.error().is(ErrorCode::kAlreadyExists)) {
        log::Warn("final pod delete failed; retrying",
                  {{"pod", Key(p)}, {"error", r.error().message()}});
        std::lock_guard<std::mutex> g(mu_);
        deletes_.push_back(p);
        failed_ = true;
      }
    }
    l.lock();
    // Forget what was sent for pods that are gone.
    for (auto it = last_sent_.begin(); it != last_sent_.end();) {
      it = pods_.count(it->first) ? std::next(it) : last_sent_.erase(it);
    }
    if (failed_) {
      // Something failed: do not spin on a down apiserver.
      failed_ = false;
      cv_.wait_for(l, std::chrono::seconds(1), [this] { return stop_; });
      if (stop_) return;
    }
  }
}

void StatusManager::SyncOne(const std::string& uid, Tracked t) {
  std::string target_uid = uid;
  if (t.is_static) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = mirrors_.find(Key(t.pod));
    // No mirror yet, or a mirror of another version: wait for the right one (SetMirrorPods
    // re-queues).
    if (it == mirrors_.end() || Annotation(it->second, config::kConfigMirrorAnnotation) !=
                                    Annotation(t.pod, config::kConfigHashAnnotation)) {
      return;
    }
    target_uid = it->second.metadata.uid;
  }
  auto last = last_sent_.find(uid);
  if (last != last_sent_.end() && last->second == t.pod.status &&
      (!t.is_static || sent_to_[uid] == target_uid)) {
    return;
  }
  nlohmann::json patch = {{"metadata", {{"uid", target_uid}}},
                          {"status", api::EncodeStatus(ForApiserver(t.pod.status))}};
  auto r = client_.Patch(PodPath(t.pod) + "/status", patch);
  if (r.ok()) {
    stats_.status_writes++;
    last_sent_[uid] = t.pod.status;
    if (t.is_static) sent_to_[uid] = target_uid;
    log::V(3, "pod status written", {{"pod", Key(t.pod)}, {"phase", t.pod.status.phase}});
    return;
  }
  if (r.error().is(ErrorCode::kNotFound) || r.error().is(ErrorCode::kAlreadyExists) ||
      r.error().is(ErrorCode::kInvalid)) {
    // The pod is gone or was replaced (UID precondition): nothing to write to.
    log::Warn("pod status not written", {{"pod", Key(t.pod)}, {"error", r.error().message()}});
    last_sent_[uid] = t.pod.status;
    return;
  }
  log::Warn("pod status write failed; retrying",
            {{"pod", Key(t.pod)}, {"error", r.error().message()}});
  std::lock_guard<std::mutex> l(mu_);
  dirty_.insert(uid);
  failed_ = true;
}

void StatusManager::SyncMirrors() {
  std::map<std::string, Tracked> desired;  // "ns/name" -> the static pod that should have a mirror
  std::set<std::string> static_names;      // every static pod, terminating ones included
  std::map<std::string, api::Pod> mirrors;
  bool ready = false;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& [uid, t] : pods_) {
      if (!t.is_static) continue;
      static_names.insert(Key(t.pod));
      if (!t.terminating) desired[Key(t.pod)] = t;
    }
    mirrors = mirrors_;
    ready = sources_ready_;
  }
  std::string node_uid = opts_.node_uid ? opts_.node_uid() : "";
  auto del = [&](const api::Pod& m, const char* why) {
    auto r = client_.Delete(PodPath(m), DeleteOptions(m.metadata.uid));
    if (r.ok() || r.error().is(ErrorCode::kNotFound)) {
      stats_.mirror_deletes++;
      log::Info("mirror pod deleted", {{"pod", Key(m)}, {"reason", why}});
      return true;
    }
    log::Warn("mirror pod delete failed", {{"pod", Key(m)}, {"error", r.error().message()}});
    return false;
  };
  bool retry = false;
  for (const auto& [key, m] : mirrors) {
    if (ready && !static_names.count(key)) retry |= !del(m, "static pod gone");
  }
  for (const auto& [key, t] : desired) {
    std::string hash = Annotation(t.pod, config::kConfigHashAnnotation);
    auto it = mirrors.find(key);
    if (it != mirrors.end()) {
      if (Annotation(it->second, config::kConfigMirrorAnnotation) == hash) continue;
      if (!del(it->second, "static pod changed")) {
        retry = true;
        continue;
      }
    }
    if (node_uid.empty()) {
      retry = true;  // as upstream: no mirror pods before the Node exists (the owner reference
                     // needs its UID)
      continue;
    }
    api::Pod mp;
    mp.metadata.name = t.pod.metadata.name;
    mp.metadata.namespace_ = t.pod.metadata.namespace_;
    mp.metadata.labels = t.pod.metadata.labels;
    mp.metadata.annotations = t.pod.metadata.annotations;
    mp.metadata.annotations[config::kConfigMirrorAnnotation] = hash;
    api::OwnerReference owner;
    owner.api_version = "v1";
    owner.kind = "Node";
    owner.name = opts_.node_name;
    owner.uid = node_uid;
    owner.controller = true;  // as upstream CreateMirrorPod
    mp.metadata.owner_references.push_back(owner);
    mp.spec = t.pod.spec;
    nlohmann::json body = api::Encode(mp);
    body.erase("status");
    auto r = client_.Post("/api/v1/namespaces/" + mp.metadata.namespace_ + "/pods", body);
    if (r.ok()) {
      stats_.mirror_creates++;
      log::Info("mirror pod created", {{"pod", key}});
      // Record it at once, so a second round before the watch catches up does not create it again.
      std::lock_guard<std::mutex> l(mu_);
      auto pod = api::DecodePod(*r);
      if (pod.ok()) mirrors_[key] = std::move(*pod);
      for (const auto& [uid, tr] : pods_) {
        if (tr.is_static && Key(tr.pod) == key) dirty_.insert(uid);
      }
    } else if (!r.error().is(ErrorCode::kAlreadyExists)) {
      log::Warn("mirror pod create failed", {{"pod", key}, {"error", r.error().message()}});
      retry = true;
    }
  }
  if (retry) {
    std::lock_guard<std::mutex> l(mu_);
    mirrors_dirty_ = true;
    failed_ = true;
  }
}

}  // namespace nanolet::kubelet
