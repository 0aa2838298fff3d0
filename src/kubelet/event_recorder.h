#pragma once
// EventRecorder: core/v1 Events about pods (Pulling, Pulled, Created, Started, Killing, BackOff,
// Unhealthy, FailedMount, ...), as upstream client-go tools/record with the kubelet's settings.
//  - LogEventRecorder: without an apiserver, each event is a log line (Warning events as warnings).
//  - ApiEventRecorder: posts to /api/v1/namespaces/<pod ns>/events from a thread of its own.
//  Aggregation as
//    upstream's EventCorrelator: an event with the same object, type, reason and message as one
//    already posted PATCHes that event's count and lastTimestamp instead of creating another. A
//    token bucket per object (burst 25, one token per 5 min, upstream's spam filter) and one for
//    the recorder (--event-qps 50, burst 100) drop the excess; a queue of at most 1000 events drops
//    the oldest when the apiserver is slow.
// Threading: Record is thread-safe and never blocks on the network.
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "api/types.h"
#include "client/rate_limiter.h"
#include "client/rest_client.h"
#include "util/clock.h"

namespace nanolet::kubelet {

inline constexpr const char* kEventNormal = "Normal";
inline constexpr const char* kEventWarning = "Warning";

class EventRecorder {
 public:
  virtual ~EventRecorder() = default;
  // `type` kEventNormal or kEventWarning; `field_path` e.g. "spec.containers{app}" (may be empty).
  virtual void Record(const api::Pod& pod, const std::string& type, const std::string& reason,
                      const std::string& message, const std::string& field_path = "") = 0;
};

class LogEventRecorder : public EventRecorder {
 public:
  void Record(const api::Pod& pod, const std::string& type, const std::string& reason,
              const std::string& message, const std::string& field_path = "") override;
};

class ApiEventRecorder : public EventRecorder {
 public:
  ApiEventRecorder(client::RestClient& client, std::string node_name, const Clock& clock);
  ~ApiEventRecorder() override;
  void Record(const api::Pod& pod, const std::string& type, const std::string& reason,
              const std::string& message, const std::string& field_path = "") override;
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
  void Run();
  void Send(api::Event ev);

  client::RestClient& client_;
  const std::string node_name_;
  const Clock& clock_;
  client::TokenBucket qps_;
  std::atomic<uint64_t> posted_{0}, patched_{0}, dropped_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;             // guarded by mu_
  std::deque<api::Event> queue_;  // guarded by mu_
  std::map<std::string, std::unique_ptr<client::TokenBucket>>
      spam_;                               // per object UID, guarded by mu_
  std::map<std::string, Aggregate> seen_;  // worker thread only
  std::thread thread_;
};

}  // namespace nanolet::kubelet
