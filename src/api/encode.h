#pragma once
// Encoding to JSON with upstream field names and omitempty rules, so kubectl and client libraries decode it.
#include <nlohmann/json_fwd.hpp>

#include "api/types.h"

namespace nanolet::api {

// Each writes apiVersion and kind (from type_meta when set, else the type's own: "v1"/"Pod", ...).
nlohmann::json Encode(const Pod& pod);
nlohmann::json Encode(const PodList& list);
nlohmann::json Encode(const Workload& w);
nlohmann::json Encode(const ConfigMap& cm);
nlohmann::json Encode(const Secret& s);
nlohmann::json Encode(const Node& node);
nlohmann::json Encode(const Lease& lease);
nlohmann::json Encode(const Event& event);
// Parts, for patches: pod status and object metadata alone.
nlohmann::json EncodeStatus(const PodStatus& status);
nlohmann::json EncodeMeta(const ObjectMeta& meta);

}  // namespace nanolet::api
