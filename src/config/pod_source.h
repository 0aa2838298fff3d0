#pragma once
// Pod sources and their merge. Each source reports the COMPLETE set of pods it currently defines (upstream's
// kubetypes.SET semantics); PodConfig merges the sources and hands the kubelet incremental PodUpdates.
// Threading: sources and PodConfig live on the kubelet's event loop thread (libuv); blocking work (HTTP
// fetches) runs off-loop and is posted back. Callbacks are invoked on the loop thread.
#include <functional>
#include <string>
#include <vector>

#include "api/types.h"

namespace nanolet::config {

// Source names as upstream kubetypes: "file", "http", "api".
inline constexpr const char* kSourceFile = "file";
inline constexpr const char* kSourceHttp = "http";
inline constexpr const char* kSourceApi = "api";

enum class PodOp {
  kAdd,        // a new pod UID
  kUpdate,     // same UID, changed spec or metadata
  kDelete,     // graceful deletion requested (deletionTimestamp set; apiserver pods)
  kRemove,     // the pod is gone from its source: stop it
  kReconcile,  // only status-relevant fields changed
};

struct PodUpdate {
  PodOp op = PodOp::kAdd;
  std::string source;
  std::vector<api::Pod> pods;
};

// What a source calls with its full current set.
using SourceCallback = std::function<void(const std::string& source, std::vector<api::Pod> pods)>;
// What PodConfig calls for each change.
using UpdateCallback = std::function<void(const PodUpdate& update)>;

}  // namespace nanolet::config
