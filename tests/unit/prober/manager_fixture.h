#pragma once
// ProbeManagerTestBase: a ProbeManager on a real libuv loop owned by the test, with results posted back
// through an async handle as the kubelet does, a FakeClock, and a shortened probe "second". A derived
// fixture owns its runtime and calls StartManager(rt, second) in its constructor; TearDown stops the
// manager (before the derived runtime goes away) and closes the loop.
#include <gtest/gtest.h>
#include <uv.h>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "prober/manager.h"
#include "util/clock.h"

namespace nanolet::prober::testing {

class ProbeManagerTestBase : public ::testing::Test {
 protected:
  ProbeManagerTestBase() {
    uv_loop_init(&loop_);
    uv_async_init(&loop_, &async_,
                  [](uv_async_t* a) { static_cast<ProbeManagerTestBase*>(a->data)->Drain(); });
    async_.data = this;
  }
  void StartManager(runtime::Runtime& rt, std::chrono::milliseconds second) {
    ProbeManagerOptions o;
    o.second = second;
    o.jitter_at_startup = false;
    mgr_ = std::make_unique<ProbeManager>(
        &loop_, rt, clock_,
        [this](std::function<void()> fn) {
          {
            std::lock_guard<std::mutex> l(post_mu_);
            posted_.push_back(std::move(fn));
          }
          uv_async_send(&async_);
        },
        [this](const std::string& uid) { changes_.push_back(uid); }, o);
  }
  void TearDown() override {
    mgr_.reset();
    uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0);
  }
  void Drain() {
    std::vector<std::function<void()>> fns;
    {
      std::lock_guard<std::mutex> l(post_mu_);
      fns.swap(posted_);
    }
    for (auto& f : fns) f();
  }
  // Runs the loop until pred() holds or `ms` pass.
  bool RunUntil(const std::function<bool()>& pred, uint64_t ms = 5000) {
    uv_timer_t deadline;
    uv_timer_init(&loop_, &deadline);
    uv_timer_start(
        &deadline, [](uv_timer_t*) {}, ms, 0);
    while (!pred() && uv_is_active(reinterpret_cast<uv_handle_t*>(&deadline)))
      uv_run(&loop_, UV_RUN_ONCE);
    uv_close(reinterpret_cast<uv_handle_t*>(&deadline), nullptr);
    uv_run(&loop_, UV_RUN_NOWAIT);
    return pred();
  }

  uv_loop_t loop_;
  uv_async_t async_;
  FakeClock clock_;
  std::mutex post_mu_;
  std::vector<std::function<void()>> posted_;
  std::vector<std::string> changes_;
  std::unique_ptr<ProbeManager> mgr_;
};

}  // namespace nanolet::prober::testing
