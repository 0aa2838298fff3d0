#pragma once
// imagePullPolicy and image pull backoff, as upstream pkg/kubelet/images/image_manager.go
// (EnsureImageExists, shouldPullImage). A caller may rely on:
// - Always pulls at every container start, IfNotPresent pulls when the image is absent, Never never pulls
//   and fails with ErrImageNeverPull `Container image "X" is not present with pull policy of Never`;
// - a failed pull returns ErrImagePull with the pull error's text and advances the backoff (key
//   "<pod uid>_<image>"); while in backoff no pull is tried and the result is ImagePullBackOff
//   `Back-off pulling image "X"`; a good pull garbage-collects the backoff;
// - the returned failure is what the worker records in its ReasonCache for the container;
// - with `events`, upstream's image events on the container (field path `field_path`): Pulling
//   `Pulling image "X"`, Pulled `Successfully pulled image "X" in 1.2s (1.2s including waiting).
//   Image size: N bytes.` or `Container image "X" already present on machine`, Failed `Failed to
//   pull image "X": ...` (Warning), BackOff `Back-off pulling image "X"`, ErrImageNeverPull.
#include <optional>
#include <string>
#include <string_view>

#include "kubelet/reason_cache.h"

namespace nanolet::api {
struct Container;
struct Pod;
class EventSink;
}  // namespace nanolet::api
namespace nanolet::runtime {
class Runtime;
struct PullAuth;
}  // namespace nanolet::runtime

namespace nanolet::kubelet {

class Backoff;

// As upstream shouldPullImage. An empty policy is taken as IfNotPresent (defaulting sets it from the tag).
bool ShouldPullImage(std::string_view pull_policy, bool image_present);

std::string ImagePullBackOffKey(const api::Pod& pod, const api::Container& container);

struct ImageResult {
  std::string image_ref;                          // the image ID to run when ok
  std::optional<ContainerWaitingReason> failure;  // set when the container cannot start
  bool pulled = false;                            // a pull happened (for the "Pulled" event)
  bool ok() const { return !failure.has_value(); }
};

// Blocking (may pull): call from the worker pool, at most one per pod.
ImageResult EnsureImageExists(runtime::Runtime& rt, Backoff& backoff, const api::Pod& pod,
                              const api::Container& container, const runtime::PullAuth& auth,
                              api::EventSink* events = nullptr, const std::string& field_path = "");

}  // namespace nanolet::kubelet
