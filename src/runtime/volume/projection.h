#pragma once
// What configMap, secret, downwardAPI and projected volumes hold: the payload (relative path ->
// bytes and mode) built from the objects and the pod, as upstream's MakePayload functions of
// pkg/volume/configmap, secret, downwardapi and projected. Pure apart from the provider lookups.
#include <string>
#include <vector>

#include "api/types.h"
#include "runtime/volume/atomic_writer.h"
#include "runtime/volume/object_provider.h"
#include "util/result.h"

namespace nanolet::volume {

// As upstream IsConfigMapKey (keys of ConfigMaps and Secrets): [-._a-zA-Z0-9]+, at most 253
// bytes, not `.`, `..`, nor starting with `..`.
Result<void> ValidateObjectKey(const std::string& key);

// `data` is the object's keys (ConfigMap data and binaryData, or Secret data); nullopt when the
// object is missing (then the payload is empty when `optional`, an error otherwise).
Result<Payload> KeyPayload(const char* kind, const std::string& name,
                           const std::optional<std::map<std::string, std::string>>& data,
                           const std::vector<api::KeyToPath>& items, uint32_t default_mode,
                           bool optional);

// downwardAPI items: fieldRef (metadata.name, namespace, uid, labels, annotations and one label or
// annotation by key) and resourceFieldRef (limits/requests of cpu, memory, ephemeral-storage; a
// missing limit is the node's capacity, as upstream).
Result<Payload> DownwardAPIPayload(const api::Pod& pod,
                                   const std::vector<api::DownwardAPIVolumeFile>& items,
                                   uint32_t default_mode);
Result<std::string> DownwardFieldValue(const api::Pod& pod, const std::string& field_path);
Result<std::string> DownwardResourceValue(const api::Pod& pod,
                                          const api::ResourceFieldSelector& sel,
                                          const std::string& default_container = "");

// A whole volume of one of those kinds (`v` must be configMap, secret, downwardAPI or projected).
// `notes` receives what was skipped (serviceAccountToken without an apiserver).
Result<Payload> VolumePayload(const api::Pod& pod, const api::Volume& v,
                              const ObjectProvider* objects, std::vector<std::string>* notes);

// Upstream fieldpath.FormatMap: sorted `key="value"` lines (Go %q quoting), no trailing newline.
std::string FormatDownwardMap(const std::map<std::string, std::string>& m);

}  // namespace nanolet::volume
