#pragma once
// A pool of at most N threads, started on demand, for blocking work (runc, CNI, pulls, mounts).
// The kubelet keeps at most one job in flight per pod, so a slow pod occupies at most one thread.
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace nanolet::kubelet {

class WorkerPool {
 public:
  explicit WorkerPool(size_t threads);
  ~WorkerPool();  // runs what is queued, then joins
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void Submit(std::function<void()> job);

 private:
  void Loop();
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;  // guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  size_t idle_ = 0;                          // threads waiting for a job; guarded by mu_
  const size_t max_threads_;
  std::vector<std::thread> threads_;  // guarded by mu_ (joined by the destructor)
};

}  // namespace nanolet::kubelet
