#include "kubelet/worker_pool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace nanolet::kubelet {
namespace {

// Threads start on demand: two blocked jobs in a pool of two run at the same time.
TEST(WorkerPool, RunsJobsConcurrentlyUpToItsSize) {
  std::mutex mu;
  std::condition_variable cv;
  int running = 0, max_running = 0;
  bool release = false;
  {
    WorkerPool pool(2);
    for (int i = 0; i < 4; ++i) {
      pool.Submit([&] {
        std::unique_lock<std::mutex> l(mu);
        max_running = std::max(max_running, ++running);
        cv.notify_all();
        cv.wait(l, [&] { return release; });
        --running;
      });
    }
    std::unique_lock<std::mutex> l(mu);
    ASSERT_TRUE(cv.wait_for(l, std::chrono::seconds(10), [&] { return running == 2; }));
    release = true;
    cv.notify_all();
  }  // the destructor runs what is queued, then joins
  EXPECT_EQ(max_running, 2);
  EXPECT_EQ(running, 0);
}

TEST(WorkerPool, DestructorRunsQueuedJobsIncludingOnesQueuedByJobs) {
  std::atomic<int> ran{0};
  {
    WorkerPool pool(1);
    for (int i = 0; i < 3; ++i) pool.Submit([&] { ++ran; });
    pool.Submit([&] { pool.Submit([&] { ++ran; }); });
  }
  EXPECT_EQ(ran.load(), 4);
}

}  // namespace
}  // namespace nanolet::kubelet
