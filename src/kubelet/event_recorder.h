#pragma once
// EventRecorder: core/v1 Events about pods and this node (Pulling, Pulled, Created, Started,
// Killing, BackOff, Unhealthy, FailedMount, Starting, NodeReady, ...), as upstream client-go
// tools/record with the kubelet's settings. Callers see api::EventSink only.
//  - LogEventRecorder: without an apiserver, each event is a log line (Warning events as warnings).
//  - ApiEventRecorder: posts to /api/v1/namespaces/<pod ns>/events (node events: "default") from a
//    thread of its own, with upstream's EventCorrelator in front:
//    * aggregation (EventAggregator): once 10 events of one object, type and reason but different
//      messages came within 10 min, further ones become one event "(combined from similar
//      events): <message>";
//    * dedup (eventLogger): an event with the same object, field path, type, reason and message as
//      one already posted PATCHes that event's count and lastTimestamp instead of creating another;
//    * spam filter: a token bucket per source and object (burst 25, one token per 5 min), and one
//      for the recorder (--event-qps 50, burst 100), drop the excess; a queue of at most 1000
//      events drops the oldest when the apiserver is slow.
//    An apiserver that does not answer is retried as upstream's recordToSink: 12 tries, 10 s apart
//    (the queue waits meanwhile).
//    The involved object of a static pod is its mirror pod (`mirror_uid` resolves it), so
//    `kubectl describe pod` of the mirror shows the events.
// Threading: Record/RecordNode are thread-safe and never block on the network.
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "api/event_sink.h"
#include "api/types.h"
#include "client/rate_limiter.h"
#include "client/rest_client.h"
#include "util/clock.h"

namespace nanolet::kubelet {

using EventRecorder = api::EventSink;
using api::kEventNormal;
using api::kEventWarning;

class LogEventRecorder : public api::EventSink {
 public:
  explicit LogEventRecorder(std::string node_name = "") : node_name_(std::move(node_name)) {}
  void Record(const api::Pod& pod, const std::string& type, const std::string& reason,
              const std::string& message, const std::string& field_path = "") override;
  void RecordNode(const std::string& type, const std::string& reason,
                  const std::string& message) override;

 private:
  const std::string node_name_;
};

class ApiEventRecorder : public api::EventSink {
 public:
  // The UID of the mirror pod of static pod `pod` ("" when none, or when `pod` is no static pod).
  // Called on the recording thread; must be thread-safe.
  using MirrorUIDFn = std::function<std::string(const api::Pod& pod)>;

  ApiEventRecorder(client::RestClient& client, std::string node_name, const Clock& clock,
                   MirrorUIDFn mirror_uid = nullptr);
  ~ApiEventRecorder() override;
  void Record(const api::Pod& pod, const std::string& type, const std::string& reason,
              const std::string& message, const std::string& field_path = "") override;
  void RecordNode(const std::string& type, const std::string& reason,
                  const std::string& message) override;
  uint64_t posted() const { return posted_.load(); }
  uint64_t patched() const { return patched_.load(); }
  uint64_t dropped() const { return dropped_.load(); }

 private:
  struct Aggregate {
    std::string name;  // the event posted in the apiserver
    std::string ns;
    int32_t count = 0;
    std::string first_timestamp;
  };
  struct Similar {  // upstream aggregateRecord
    std::set<std::string> messages;
    TimePoint last{};
  };
  struct Queued {
    api::Event ev;
    std::string key;  // dedup key: the event's own, or its aggregate's once combined
    int tries = 0;
    // A static pod whose mirror pod was not known when the event was recorded: resolved when sent,
    // held up to 30 s for the mirror to appear.
    std::optional<api::ObjectMeta> mirror_of;
    TimePoint queued_at{};
  };
  void Enqueue(api::Event ev, std::optional<api::ObjectMeta> mirror_of = std::nullopt);
  void Run();
  // False when the apiserver did not answer (the event is to be sent again).
  bool Send(Queued& q);

  client::RestClient& client_;
  const std::string node_name_;
  const Clock& clock_;
  const MirrorUIDFn mirror_uid_;
  client::TokenBucket qps_;
  std::atomic<uint64_t> posted_{0}, patched_{0}, dropped_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;         // guarded by mu_
  std::deque<Queued> queue_;  // guarded by mu_
  std::map<std::string, std::unique_ptr<client::TokenBucket>>
      spam_;                                // per source+object, guarded by mu_
  std::map<std::string, Similar> similar_;  // per object+type+reason, guarded by mu_
  std::map<std::string, Aggregate> seen_;   // worker thread only
  std::deque<Queued> deferred_;             // waiting for a mirror pod; worker thread only
  std::thread thread_;
};

}  // namespace nanolet::kubelet
