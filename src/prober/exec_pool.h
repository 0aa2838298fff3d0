#pragma once
// A few threads for exec probes: ExecSync blocks (runc exec) for up to the probe's timeout.
// Bounded: each worker has at most one probe in flight, so the queue never holds more jobs than
// there are exec probes.
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace nanolet::prober {

class ExecPool {
 public:
  explicit ExecPool(size_t threads);
  ~ExecPool();  // drops what is still queued, waits for the running jobs
  ExecPool(const ExecPool&) = delete;
  ExecPool& operator=(const ExecPool&) = delete;

  void Submit(std::function<void()> job);

 private:
  void Loop();
  const size_t max_threads_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;  // guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  size_t idle_ = 0;                          // guarded by mu_
  std::vector<std::thread> threads_;         // guarded by mu_; started on demand
};

}  // namespace nanolet::prober
