#include "util/clock.h"

namespace nanolet {

RealClock& RealClock::Instance() {
  static RealClock c;
  return c;
}

// 2026-01-01T00:00:00Z
FakeClock::FakeClock() : now_(std::chrono::system_clock::from_time_t(1767225600)) {}

}  // namespace nanolet
