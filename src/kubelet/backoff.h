#pragma once
// Per-key exponential backoff, as upstream k8s.io/client-go/util/flowcontrol/backoff.go (without jitter, as
// the kubelet builds it with NewBackOff). Used for CrashLoopBackOff (key: RestartBackOffKey) and for image
// pulls (key: ImagePullBackOffKey), each with its own instance. A caller may rely on:
// - the first Next() of a key sets its window to `initial`; every later Next() doubles it, capped at `max`;
// - an entry whose last Next() is more than 2 x max before the event time counts as expired: it is not in
//   backoff, and the next Next() starts again at `initial` (the "reset after 10 min of good running");
// - all time comes from the Clock given at construction; the class is thread-safe.
#include <map>
#include <mutex>
#include <string>

#include "util/clock.h"

namespace nanolet::kubelet {

// Upstream pkg/kubelet/kubelet.go: backOffPeriod = 10 s, MaxContainerBackOff = 300 s; the image pull
// backoff is built with the same two values (flowcontrol.NewBackOff(backOffPeriod, MaxContainerBackOff)).
inline constexpr Duration kCrashLoopBackOffInitial = std::chrono::seconds(10);
inline constexpr Duration kCrashLoopBackOffMax = std::chrono::seconds(300);
inline constexpr Duration kImagePullBackOffInitial = std::chrono::seconds(10);
inline constexpr Duration kImagePullBackOffMax = std::chrono::seconds(300);

class Backoff {
 public:
  Backoff(const Clock& clock, Duration initial, Duration max);

  // The current window of `key` (0 when there is no entry).
  Duration Get(const std::string& key) const;
  // Moves `key` to its next window and records now as its last update; `event_time` (the failure's time)
  // decides whether the old entry has expired.
  void Next(const std::string& key, TimePoint event_time);
  // True while now - event_time is shorter than the key's window (upstream IsInBackOffSince): the
  // CrashLoopBackOff check, with event_time = when the container last finished.
  bool IsInBackOffSince(const std::string& key, TimePoint event_time) const;
  // True while event_time - last update is shorter than the window (upstream IsInBackOffSinceUpdate): the
  // image pull check, with event_time = now.
  bool IsInBackOffSinceUpdate(const std::string& key, TimePoint event_time) const;
  // What is left of the window since the last update at `now` (0 when not in backoff): when to come back.
  Duration RemainingSinceUpdate(const std::string& key, TimePoint now) const;
  // A note kept with the entry until it is reset (the image pull's last error: upstream prevPullErrMsg).
  void SetNote(const std::string& key, std::string note);
  std::string Note(const std::string& key) const;
  void Reset(const std::string& key);
  // Drops entries not updated for more than 2 x max. Call it now and then (upstream: after a good pull).
  void GC();
  size_t size() const;

  const Clock& clock() const { return clock_; }

 private:
  struct Entry {
    Duration backoff{};
    TimePoint last_update{};
    std::string note;
  };
  bool Expired(TimePoint event_time, TimePoint last_update) const;

  // Constant after construction.
  const Clock& clock_;
  const Duration initial_;
  const Duration max_;
  // Protected by mu_.
  mutable std::mutex mu_;
  std::map<std::string, Entry> entries_;
};

}  // namespace nanolet::kubelet
