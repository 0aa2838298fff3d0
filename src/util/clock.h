#pragma once
// Clock: real and fake. Time logic (backoff, grace periods, probes) takes a Clock so unit tests run it on
// FakeClock in milliseconds.
#include <chrono>
#include <mutex>

namespace nanolet {

using Duration = std::chrono::nanoseconds;
// Wall time (for timestamps in status) and monotonic time are both modelled by system_clock points here:
// the fake clock moves both together.
using TimePoint = std::chrono::system_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
};

class RealClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::system_clock::now(); }
  static RealClock& Instance();
};

// Thread-safe fake clock; starts at a fixed date so golden outputs are stable.
class FakeClock final : public Clock {
 public:
  FakeClock();
  explicit FakeClock(TimePoint start) : now_(start) {}
  TimePoint Now() const override {
    std::lock_guard<std::mutex> l(mu_);
    return now_;
  }
  void Advance(Duration d) {
    std::lock_guard<std::mutex> l(mu_);
    now_ += std::chrono::duration_cast<TimePoint::duration>(d);
  }
  void Set(TimePoint t) {
    std::lock_guard<std::mutex> l(mu_);
    now_ = t;
  }

 private:
  mutable std::mutex mu_;
  TimePoint now_;
};

}  // namespace nanolet
