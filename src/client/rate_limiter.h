#pragma once
// A token bucket, as client-go's flowcontrol.NewTokenBucketRateLimiter: `qps` tokens per second
// refill a bucket of `burst`; each request takes one token, waiting for it when the bucket is
// empty. Thread-safe.
#include <mutex>

#include "util/clock.h"

namespace nanolet::client {

class TokenBucket {
 public:
  // qps <= 0 disables the limit.
  TokenBucket(double qps, int burst, const Clock& clock);
  // Takes a token and returns how long the caller must wait before using it (zero when one was
  // available). Tokens are reserved in order, so concurrent callers queue fairly.
  Duration Reserve();
  // Takes a token only when one is available now.
  bool TryAccept();
  // Reserve() and sleep for the wait.
  void Accept();

 private:
  void Refill(TimePoint now);  // mu_ held

  const double qps_;
  const double burst_;
  const Clock& clock_;
  std::mutex mu_;
  double tokens_;     // guarded by mu_; may go negative (reserved ahead)
  TimePoint last_{};  // guarded by mu_
};

}  // namespace nanolet::client
