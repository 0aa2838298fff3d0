#include "kubelet/image_pull.h"

#include "api/types.h"
#include "kubelet/backoff.h"
#include "runtime/runtime.h"

namespace nanolet::kubelet {

bool ShouldPullImage(std::string_view pull_policy, bool image_present) {
  if (pull_policy == "Never") return false;
  if (pull_policy == "Always") return true;
  return !image_present;
}

std::string ImagePullBackOffKey(const api::Pod& pod, const api::Container& container) {
  return pod.metadata.uid + "_" + container.image;
}

ImageResult EnsureImageExists(runtime::Runtime& rt, Backoff& backoff, const api::Pod& pod,
                              const api::Container& container, const runtime::PullAuth& auth) {
  ImageResult r;
  const std::string& image = container.image;
  auto status = rt.ImageStatus(image);
  bool present = status.ok();
  if (!present && !status.error().is(ErrorCode::kNotFound)) {
    r.failure = ContainerWaitingReason{std::string(kReasonErrImageInspect),
                                       "Failed to inspect image \"" + image + "\": " + status.error().message()};
    return r;
  }
  if (!ShouldPullImage(container.image_pull_policy, present)) {
    if (present) {
      r.image_ref = status->id;
      return r;
    }
    r.failure = ContainerWaitingReason{
        std::string(kReasonErrImageNeverPull),
        "Container image \"" + image + "\" is not present with pull policy of Never"};
    return r;
  }

  const std::string key = ImagePullBackOffKey(pod, container);
  TimePoint now = backoff.clock().Now();
  if (backoff.IsInBackOffSinceUpdate(key, now)) {
    r.failure = ContainerWaitingReason{std::string(kReasonImagePullBackOff),
                                       "Back-off pulling image \"" + image + "\""};
    return r;
  }
  auto pulled = rt.PullImage(image, auth);
  if (!pulled.ok()) {
    backoff.Next(key, backoff.clock().Now());
    r.failure = ContainerWaitingReason{std::string(kReasonErrImagePull), pulled.error().message()};
    return r;
  }
  backoff.GC();
  r.pulled = true;
  r.image_ref = pulled->id;
  return r;
}

}  // namespace nanolet::kubelet
