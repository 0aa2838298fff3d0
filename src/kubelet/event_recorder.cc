#include "kubelet/event_recorder.h"

#include "api/encode.h"
#include "util/log.h"
#include "util/strings.h"
#include "util/timefmt.h"

namespace nanolet::kubelet {

void LogEventRecorder::Record(const api::Pod& pod, const std::string& type,
                              const std::string& reason, const std::string& message,
                              const std::string& field_path) {
  std::string ref = pod.metadata.namespace_ + "/" + pod.metadata.name;
  auto level = type == kEventWarning ? log::Level::kWarning : log::Level::kInfo;
  log::Write(level, "event",
             {{"pod", ref},
              {"type", type},
              {"reason", reason},
              {"object", field_path},
              {"message", message}});
}

ApiEventRecorder::ApiEventRecorder(client::RestClient& client, std::string node_name,
                                   const Clock& clock)
    : client_(client), node_name_(std::move(node_name)), clock_(clock), qps_(50, 100, clock) {
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
  LogEventRecorder().Record(pod, type, reason, message, field_path);
  api::Event ev;
  ev.metadata.namespace_ = pod.metadata.namespace_;
  ev.involved_object.kind = "Pod";
  ev.involved_object.api_version = "v1";
  ev.involved_object.namespace_ = pod.metadata.namespace_;
  ev.involved_object.name = pod.metadata.name;
  ev.involved_object.uid = pod.metadata.uid;
  ev.involved_object.field_path = field_path;
  ev.reason = reason;
  ev.message = message.size() > 1024 ? message.substr(0, 1024) : message;
  ev.type = type;
  ev.source.component = "kubelet";
  ev.source.host = node_name_;
  ev.reporting_component = "kubelet";
  ev.reporting_instance = node_name_;
  ev.first_timestamp = ev.last_timestamp = FormatRFC3339(clock_.Now());
  ev.count = 1;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto& bucket = spam_[pod.metadata.uid];
    if (!bucket) bucket = std::make_unique<client::TokenBucket>(1.0 / 300, 25, clock_);
    if (!bucket->TryAccept() || !qps_.TryAccept()) {
      dropped_++;
      return;
    }
    if (queue_.size() >= 1000) {
      queue_.pop_front();
      dropped_++;
    }
    queue_.push_back(std::move(ev));
  }
  cv_.notify_all();
}

void ApiEventRecorder::Run() {
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    cv_.wait(l, [this] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    api::Event ev = std::move(queue_.front());
    queue_.pop_front();
    l.unlock();
    Send(std::move(ev));
    l.lock();
  }
}

void ApiEventRecorder::Send(api::Event ev) {
  // Upstream EventAggregatorByReasonFunc/eventObserve key: source, object, type, reason, message.
  std::string key = ev.involved_object.uid + "\x1f" + ev.involved_object.field_path + "\x1f" +
                    ev.type + "\x1f" + ev.reason + "\x1f" + ev.message;
  auto it = seen_.find(key);
  std::string base = "/api/v1/namespaces/" + ev.metadata.namespace_ + "/events";
  if (it != seen_.end()) {
    Aggregate& a = it->second;
    nlohmann::json patch = {{"count", a.count + 1}, {"lastTimestamp", ev.last_timestamp}};
    auto r = client_.Patch(base + "/" + a.name, patch, client::kStrategicMergePatch);
    if (r.ok()) {
      a.count++;
      patched_++;
      return;
    }
    seen_.erase(it);  // gone (events expire after an hour): post a new one
  }
  // Upstream names events <object name>.<unique suffix>.
  ev.metadata.name =
      ev.involved_object.name + "." + Sha256Hex(key + ev.first_timestamp).substr(0, 16);
  auto r = client_.Post(base, api::Encode(ev));
  if (!r.ok()) {
    log::V(2, "event not posted", {{"reason", ev.reason}, {"error", r.error().message()}});
    return;
  }
  posted_++;
  seen_[key] = Aggregate{ev.metadata.name, ev.metadata.namespace_, 1, ev.first_timestamp};
  if (seen_.size() > 4096) seen_.erase(seen_.begin());  // bounded, as upstream's LRU cache
}

}  // namespace nanolet::kubelet
