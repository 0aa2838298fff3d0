#include "kubelet/event_recorder.h"

#include "api/encode.h"
#include "config/pod_source.h"
#include "config/static_pod.h"
#include "util/log.h"
#include "util/strings.h"
#include "util/timefmt.h"

namespace nanolet::kubelet {
namespace event_recorder_detail {

// Upstream EventCorrelator defaults (client-go tools/record/events_cache.go).
constexpr size_t kAggregateMaxEvents = 10;
constexpr auto kAggregateInterval = std::chrono::minutes(10);
constexpr double kSpamQps = 1.0 / 300;
constexpr int kSpamBurst = 25;
constexpr size_t kMaxQueue = 1000;
constexpr size_t kMaxCache = 4096;  // upstream maxLruCacheEntries
constexpr int kMaxTries = 12;       // upstream maxTriesPerEvent
constexpr auto kRetryDelay = std::chrono::seconds(10);
constexpr auto kMirrorWait = std::chrono::seconds(30);
constexpr auto kMirrorPoll = std::chrono::milliseconds(500);

bool IsStaticPod(const api::Pod& pod) {
  auto it = pod.metadata.annotations.find(config::kConfigSourceAnnotation);
  return it != pod.metadata.annotations.end() &&
         (it->second == config::kSourceFile || it->second == config::kSourceHttp);
}

// Warning events are warnings; Normal ones are info lines when the log is their only place
// (`verbosity` 0), and at --v 2 beside the apiserver (upstream logs events at V(3)).
void LogEvent(const std::string& object, const std::string& type, const std::string& reason,
              const std::string& message, const std::string& field_path, int verbosity) {
  if (type != kEventWarning && verbosity > 0 && !log::Enabled(verbosity)) return;
  auto level = type == kEventWarning ? log::Level::kWarning
               : verbosity == 0      ? log::Level::kInfo
                                     : log::Level::kDebug;
  log::Write(level, "event",
             {{"object", object},
              {"type", type},
              {"reason", reason},
              {"fieldPath", field_path},
              {"message", message}});
}

// Source and involved object, without the field path (upstream getSpamKey).
std::string ObjectKey(const api::Event& ev) {
  const auto& o = ev.involved_object;
  return ev.source.component + "\x1f" + ev.source.host + "\x1f" + o.kind + "\x1f" + o.namespace_ +
         "\x1f" + o.name + "\x1f" + o.uid + "\x1f" + o.api_version;
}

}  // namespace event_recorder_detail

using namespace event_recorder_detail;

void LogEventRecorder::Record(const api::Pod& pod, const std::string& type,
                              const std::string& reason, const std::string& message,
                              const std::string& field_path) {
  LogEvent("pod/" + pod.metadata.namespace_ + "/" + pod.metadata.name, type, reason, message,
           field_path, 0);
}

void LogEventRecorder::RecordNode(const std::string& type, const std::string& reason,
                                  const std::string& message) {
  LogEvent("node/" + node_name_, type, reason, message, "", 0);
}

ApiEventRecorder::ApiEventRecorder(client::RestClient& client, std::string node_name,
                                   const Clock& clock, MirrorUIDFn mirror_uid)
    : client_(client),
      node_name_(std::move(node_name)),
      clock_(clock),
      mirror_uid_(std::move(mirror_uid)),
      qps_(50, 100, clock) {
  thread_ = std::thread([this] { Run(); });
}

ApiEventRecorder::~ApiEventRecorder() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void ApiEventRecorder::Record(const api::Pod& pod, const std::string& type,
                              const std::string& reason, const std::string& message,
                              const std::string& field_path) {
  LogEvent("pod/" + pod.metadata.namespace_ + "/" + pod.metadata.name, type, reason, message,
           field_path, 2);
  api::Event ev;
  ev.metadata.namespace_ = pod.metadata.namespace_;
  ev.involved_object.kind = "Pod";
  ev.involved_object.api_version = "v1";
  ev.involved_object.namespace_ = pod.metadata.namespace_;
  ev.involved_object.name = pod.metadata.name;
  ev.involved_object.uid = pod.metadata.uid;
  // A static pod is known to the apiserver as its mirror pod (same name, a UID of its own).
  std::optional<api::ObjectMeta> mirror_of;
  if (mirror_uid_) {
    std::string mirror = mirror_uid_(pod);
    if (!mirror.empty()) {
      ev.involved_object.uid = mirror;
    } else if (IsStaticPod(pod)) {
      mirror_of = api::ObjectMeta{};
      mirror_of->name = pod.metadata.name;
      mirror_of->namespace_ = pod.metadata.namespace_;
      mirror_of->uid = pod.metadata.uid;
    }
  }
  ev.involved_object.field_path = field_path;
  ev.reason = reason;
  ev.message = message;
  ev.type = type;
  Enqueue(std::move(ev), std::move(mirror_of));
}

void ApiEventRecorder::RecordNode(const std::string& type, const std::string& reason,
                                  const std::string& message) {
  LogEvent("node/" + node_name_, type, reason, message, "", 2);
  // As upstream kubelet's nodeRef: kind Node, the node name as name and UID, no namespace; the
  // event goes to "default".
  api::Event ev;
  ev.metadata.namespace_ = "default";
  ev.involved_object.kind = "Node";
  ev.involved_object.name = node_name_;
  ev.involved_object.uid = node_name_;
  ev.reason = reason;
  ev.message = message;
  ev.type = type;
  Enqueue(std::move(ev));
}

void ApiEventRecorder::Enqueue(api::Event ev, std::optional<api::ObjectMeta> mirror_of) {
  // Upstream truncates messages to 1024 bytes (events.k8s.io noteLengthLimit) in the recorder.
  if (ev.message.size() > 1024) ev.message = ev.message.substr(0, 1024);
  ev.source.component = "kubelet";
  ev.source.host = node_name_;
  ev.reporting_component = "kubelet";
  ev.reporting_instance = node_name_;
  TimePoint now = clock_.Now();
  ev.first_timestamp = ev.last_timestamp = FormatRFC3339(now);
  ev.count = 1;
  std::string object = ObjectKey(ev);
  std::string key = object + "\x1f" + ev.involved_object.field_path + "\x1f" + ev.type + "\x1f" +
                    ev.reason + "\x1f" + ev.message;
  {
    std::lock_guard<std::mutex> l(mu_);
    // EventAggregator: similar events (same object, type, reason) with many messages combine.
    std::string agg_key = object + "\x1f" + ev.type + "\x1f" + ev.reason;
    auto sim_it = similar_.find(agg_key);
    if (sim_it == similar_.end()) {
      if (similar_.size() >= kMaxCache) similar_.erase(similar_.begin());
      sim_it = similar_.emplace(agg_key, Similar{}).first;
    }
    Similar& sim = sim_it->second;
    if (sim.last != TimePoint{} && now - sim.last > kAggregateInterval) sim = Similar{};
    sim.messages.insert(ev.message);
    sim.last = now;
    if (sim.messages.size() >= kAggregateMaxEvents) {
      ev.message = "(combined from similar events): " + ev.message;
      ev.involved_object.field_path.clear();
      key = agg_key;
    }
    auto spam_it = spam_.find(object);
    if (spam_it == spam_.end()) {
      if (spam_.size() >= kMaxCache) spam_.erase(spam_.begin());
      spam_it =
          spam_.emplace(object, std::make_unique<client::TokenBucket>(kSpamQps, kSpamBurst, clock_))
              .first;
    }
    if (!spam_it->second->TryAccept() || !qps_.TryAccept()) {
      dropped_++;
      return;
    }
    if (queue_.size() >= kMaxQueue) {
      queue_.pop_front();
      dropped_++;
    }
    queue_.push_back(Queued{std::move(ev), std::move(key), 0, std::move(mirror_of), now});
  }
  cv_.notify_all();
}

void ApiEventRecorder::Run() {
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    auto ready = [this] { return stop_ || !queue_.empty(); };
    if (deferred_.empty()) {
      cv_.wait(l, ready);
    } else {
      cv_.wait_for(l, kMirrorPoll, ready);  // look for the mirror pods again
    }
    if (stop_) return;
    std::deque<Queued> batch = std::exchange(deferred_, {});  // the older ones first
    for (auto& q : queue_) batch.push_back(std::move(q));
    queue_.clear();
    l.unlock();
    for (auto& q : batch) {
      if (q.mirror_of) {
        api::Pod p;
        p.metadata = *q.mirror_of;
        std::string mirror = mirror_uid_(p);
        if (!mirror.empty()) {
          q.ev.involved_object.uid = mirror;
        } else if (clock_.Now() - q.queued_at < kMirrorWait && deferred_.size() < kMaxQueue) {
          deferred_.push_back(std::move(q));
          continue;
        }
        q.mirror_of.reset();  // no mirror in time: the static pod's own UID
      }
      while (!Send(q) && ++q.tries < kMaxTries) {
        l.lock();
        bool stopping = cv_.wait_for(l, kRetryDelay, [this] { return stop_; });
        l.unlock();
        if (stopping) return;
      }
    }
    l.lock();
  }
}

bool ApiEventRecorder::Send(Queued& q) {
  api::Event& ev = q.ev;
  auto it = seen_.find(q.key);
  std::string base = "/api/v1/namespaces/" + ev.metadata.namespace_ + "/events";
  if (it != seen_.end()) {
    // As upstream eventLogger: count, lastTimestamp and message patched onto the event posted.
    Aggregate& a = it->second;
    nlohmann::json patch = {
        {"count", a.count + 1}, {"lastTimestamp", ev.last_timestamp}, {"message", ev.message}};
    auto r = client_.Patch(base + "/" + a.name, patch, client::kStrategicMergePatch);
    if (r.ok()) {
      a.count++;
      patched_++;
      return true;
    }
    if (r.error().is(ErrorCode::kUnavailable)) return false;
    seen_.erase(it);  // gone (events expire after an hour): post a new one
  }
  // Upstream names events <object name>.<unique suffix>.
  ev.metadata.name =
      ev.involved_object.name + "." + Sha256Hex(q.key + ev.first_timestamp).substr(0, 16);
  auto r = client_.Post(base, api::Encode(ev));
  if (!r.ok()) {
    log::V(2, "event not posted", {{"reason", ev.reason}, {"error", r.error().message()}});
    return !r.error().is(ErrorCode::kUnavailable);
  }
  posted_++;
  seen_[q.key] = Aggregate{ev.metadata.name, ev.metadata.namespace_, 1, ev.first_timestamp};
  if (seen_.size() > kMaxCache) seen_.erase(seen_.begin());  // bounded, as upstream's LRU cache
  return true;
}

}  // namespace nanolet::kubelet
