#include "prober/exec_pool.h"

namespace nanolet::prober {

ExecPool::ExecPool(size_t threads) : max_threads_(threads == 0 ? 1 : threads) {}

ExecPool::~ExecPool() {
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
    queue_.clear();
    threads.swap(threads_);
  }
  cv_.notify_all();
  for (auto& t : threads) t.join();
}

void ExecPool::Submit(std::function<void()> job) {
  std::lock_guard<std::mutex> l(mu_);
  if (stopping_) return;
  queue_.push_back(std::move(job));
  // Threads start on demand: a node without exec probes runs none.
  if (idle_ == 0 && threads_.size() < max_threads_) {
    threads_.emplace_back([this] { Loop(); });
  } else {
    cv_.notify_one();
  }
}

void ExecPool::Loop() {
  std::unique_lock<std::mutex> l(mu_);
  while (true) {
    ++idle_;
    cv_.wait(l, [this] { return stopping_ || !queue_.empty(); });
    --idle_;
    if (stopping_) return;
    auto job = std::move(queue_.front());
    queue_.pop_front();
    l.unlock();
    job();
    l.lock();
  }
}

}  // namespace nanolet::prober
