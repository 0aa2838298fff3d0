#pragma once
// Read-only views the kubelet publishes for the HTTP servers. Handlers never lock the sync loop: they take
// the current immutable snapshot (a shared_ptr swapped atomically by its owner) and read it.
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "api/types.h"

namespace nanolet::kubelet {

class PodView {
 public:
  virtual ~PodView() = default;
  // Every pod nanolet runs, as the kubelet reports it: metadata (with static-pod annotations), defaulted spec,
  // live status. Never null.
  virtual std::shared_ptr<const std::vector<api::Pod>> Pods() const = 0;
};

// A PodView whose snapshot the owner replaces; readers see either the old or the new vector.
class SnapshotPodView final : public PodView {
 public:
  SnapshotPodView() : pods_(std::make_shared<const std::vector<api::Pod>>()) {}
  std::shared_ptr<const std::vector<api::Pod>> Pods() const override { return std::atomic_load(&pods_); }
  void Publish(std::vector<api::Pod> pods) {
    std::atomic_store(&pods_, std::shared_ptr<const std::vector<api::Pod>>(
                                  std::make_shared<const std::vector<api::Pod>>(std::move(pods))));
  }

 private:
  std::shared_ptr<const std::vector<api::Pod>> pods_;
};

}  // namespace nanolet::kubelet
