#pragma once
// Reflector: list+watch of one collection, as client-go's cache.Reflector, on a thread of its own.
//
// It lists (paged, limit 500) and hands the whole set to Handler::OnReplace, then watches from the
// list's resourceVersion with allowWatchBookmarks and a server timeout of 5-10 min (randomised, as
// upstream), handing each ADDED/MODIFIED/DELETED to Handler::OnEvent. BOOKMARKs only advance the
// resourceVersion. When a watch ends normally it is reopened from the last resourceVersion (nothing
// is relisted, nothing replayed); when the connection breaks it is reopened the same way after a
// backoff (800 ms doubling to 30 s, reset after a healthy watch). A `410 Gone` (or an ERROR event
// with code 410: "too old resource version") relists, and OnReplace replaces the consumer's set, so
// no event is lost and none is applied twice. An event that repeats the resourceVersion already
// seen for that object is dropped. Malformed lines are logged and skipped.
//
// Threading: Handler methods run on the reflector's thread, one at a time; they must not block for
// long (post to the consumer's loop). Start/Stop from any one thread; Stop interrupts a watch at
// once.
#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "client/rest_client.h"

namespace nanolet::client {

enum class EventType { kAdded, kModified, kDeleted };

class ReflectorHandler {
 public:
  virtual ~ReflectorHandler() = default;
  // The complete set after a (re)list.
  virtual void OnReplace(std::vector<nlohmann::json> items) = 0;
  virtual void OnEvent(EventType type, nlohmann::json object) = 0;
};

class Reflector {
 public:
  struct Options {
    std::string path;            // collection, e.g. "/api/v1/pods"
    std::string field_selector;  // e.g. "spec.nodeName=node1"
    std::string name = "reflector";
    Duration min_backoff = std::chrono::milliseconds(800);
    Duration max_backoff = std::chrono::seconds(30);
    int min_watch_timeout_s = 300;  // upstream minWatchTimeout: 5 min, randomised up to twice that
  };
  struct Stats {
    std::atomic<uint64_t> lists{0};
    std::atomic<uint64_t> watches{0};
    std::atomic<uint64_t> events{0};
    std::atomic<uint64_t> malformed{0};
  };

  Reflector(RestClient& client, Options opts, ReflectorHandler& handler);
  ~Reflector();  // Stop()
  void Start();
  void Stop();
  // Has a list succeeded at least once?
  bool Synced() const { return synced_.load(); }
  const Stats& stats() const { return stats_; }
  std::string LastResourceVersion() const;

 private:
  void Run();
  Result<void> List();
  // Returns true when the caller must relist (410), false to re-watch; an Error on a broken stream.
  Result<bool> Watch();
  void HandleLine(std::string_view line, bool& gone);
  void HandleEvent(std::string_view line, bool& gone);
  void SleepFor(Duration d);

  RestClient& client_;
  const Options opts_;
  ReflectorHandler& handler_;
  Stats stats_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> synced_{false};
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  // Reflector thread only (rv_ also read by LastResourceVersion under mu_).
  std::string rv_;                           // guarded by mu_
  std::map<std::string, std::string> seen_;  // key (ns/name) -> resourceVersion
};

}  // namespace nanolet::client
