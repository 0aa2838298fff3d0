#pragma once
// FakePodNetwork: a PodNetwork for unit tests of the sandbox code. Hands out 10.88.0.<n>, records
// calls, and fails the next SetUp/TearDown when told to. Thread-safe.
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "runtime/network/pod_network.h"

namespace nanolet::network {

class FakePodNetwork : public PodNetwork {
 public:
  Result<PodNetworkResult> SetUp(const PodNetworkRequest& request) override {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back("SetUp " + request.container_id);
    if (setup_error_) {
      Error e = *setup_error_;
      setup_error_.reset();
      return e;
    }
    PodNetworkResult r;
    r.network_name = Name();
    r.interface = "eth0";
    r.ips.push_back({"10.88.0." + std::to_string(next_++), 16, "10.88.0.1", false});
    attached_[request.container_id] = r;
    return r;
  }
  Result<void> TearDown(const PodNetworkRequest& request) override {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back("TearDown " + request.container_id);
    if (teardown_error_) {
      Error e = *teardown_error_;
      teardown_error_.reset();
      return e;
    }
    attached_.erase(request.container_id);
    return Ok();
  }
  Result<PodNetworkResult> Status(const std::string& container_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = attached_.find(container_id);
    if (it == attached_.end()) return NotFound("no network for " + container_id);
    return it->second;
  }
  std::string Name() const override { return "fake"; }

  void FailNextSetUp(Error e) {
    std::lock_guard<std::mutex> lock(mu_);
    setup_error_ = std::move(e);
  }
  void FailNextTearDown(Error e) {
    std::lock_guard<std::mutex> lock(mu_);
    teardown_error_ = std::move(e);
  }
  std::vector<std::string> calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  size_t attached() const {
    std::lock_guard<std::mutex> lock(mu_);
    return attached_.size();
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> calls_;                     // guarded by mu_
  std::map<std::string, PodNetworkResult> attached_;   // guarded by mu_
  std::optional<Error> setup_error_, teardown_error_;  // guarded by mu_
  int next_ = 2;                                       // guarded by mu_
};

}  // namespace nanolet::network
