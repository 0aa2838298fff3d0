#include "kubelet/image_pull.h"

#include "api/event_sink.h"
#include "api/types.h"
#include "kubelet/backoff.h"
#include "runtime/runtime.h"
#include "util/timefmt.h"

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
                              const api::Container& container, const runtime::PullAuth& auth,
                              api::EventSink* events, const std::string& field_path) {
  ImageResult r;
  const std::string& image = container.image;
  auto event = [&](const char* type, const char* reason, const std::string& message) {
    if (events) events->Record(pod, type, reason, message, field_path);
  };
  auto status = rt.ImageStatus(image);
  bool present = status.ok();
  if (!present && !status.error().is(ErrorCode::kNotFound)) {
    r.failure = ContainerWaitingReason{std::string(kReasonErrImageInspect),
                                       "Failed to inspect image \"" + image + "\": " + status.error().message()};
    event(api::kEventWarning, "InspectFailed", r.failure->message);
    return r;
  }
  if (!ShouldPullImage(container.image_pull_policy, present)) {
    if (present) {
      event(api::kEventNormal, "Pulled", "Container image \"" + image + "\" already present on machine");
      r.image_ref = status->id;
      return r;
    }
    r.failure = ContainerWaitingReason{
        std::string(kReasonErrImageNeverPull),
        "Container image \"" + image + "\" is not present with pull policy of Never"};
    event(api::kEventWarning, "ErrImageNeverPull", r.failure->message);
    return r;
  }

  const std::string key = ImagePullBackOffKey(pod, container);
  TimePoint now = backoff.clock().Now();
  if (backoff.IsInBackOffSinceUpdate(key, now)) {
    std::string msg = "Back-off pulling image \"" + image + "\"";
    event(api::kEventNormal, "BackOff", msg);
    // As upstream (1.31+): the waiting message carries the last pull's error, so the cause stays in the
    // pod's status through the backoff, not only in events and the log.
    if (std::string prev = backoff.Note(key); !prev.empty()) msg += ": " + prev;
    r.failure = ContainerWaitingReason{std::string(kReasonImagePullBackOff), std::move(msg)};
    return r;
  }
  event(api::kEventNormal, "Pulling", "Pulling image \"" + image + "\"");
  auto t0 = std::chrono::steady_clock::now();
  auto pulled = rt.PullImage(image, auth);
  if (!pulled.ok()) {
    backoff.Next(key, backoff.clock().Now());
    backoff.SetNote(key, pulled.error().message());
    r.failure = ContainerWaitingReason{std::string(kReasonErrImagePull), pulled.error().message()};
    event(api::kEventWarning, "Failed", "Failed to pull image \"" + image + "\": " + pulled.error().message());
    return r;
  }
  if (events) {
    // Pulls are not queued here: the time waiting is the time pulling.
    std::string took = FormatDuration(std::chrono::steady_clock::now() - t0);
    event(api::kEventNormal, "Pulled",
          "Successfully pulled image \"" + image + "\" in " + took + " (" + took +
              " including waiting). Image size: " + std::to_string(pulled->size) + " bytes.");
  }
  backoff.GC();
  r.pulled = true;
  r.image_ref = pulled->id;
  return r;
}

}  // namespace nanolet::kubelet
