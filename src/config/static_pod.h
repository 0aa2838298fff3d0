#pragma once
// Static pods: what the file and URL sources make of a manifest. Follows upstream
// pkg/kubelet/config/common.go (applyDefaults, tryDecodeSinglePod, tryDecodePodList):
//  - a pod must have metadata.name ("name is needed for the pod"; checked before the node suffix
//    would make any name non-empty);
//  - api::SetDefaults, then, when metadata.uid is empty, UID = hex MD5 of the defaulted object plus
//    "host:<node>" "file:<path>" (files) or "url:<url>" (URLs). Upstream hashes the Go object with
//    DeepHashObject (spew output we cannot reproduce; recent upstream also moved to FNV-128a); we
//    hash the object's canonical JSON encoding (api::Encode, keys sorted): any change to the pod's
//    content gives a new UID, while comments, key order and whitespace do not. A metadata.uid given
//    in the manifest is kept, as upstream;
//  - name `<name>-<lowercased node name>`, namespace "default" when empty, spec.nodeName = node
//    name, annotations kubernetes.io/config.hash = UID and kubernetes.io/config.source =
//    "file"/"http", a toleration {operator: Exists, effect: NoExecute} for file pods only
//    (AddOrUpdateTolerationInPod), status.phase Pending;
//  - validation runs on the final pod (as upstream ValidatePodCreate after applyDefaults), so the
//    suffixed name must still be a valid DNS subdomain.
// Deliberate differences: upstream reads one pod per file (the first document), a nanolet manifest
// may hold several documents and List/PodList items; upstream (1.32+,
// PreventStaticPodAPIReferences) rejects static pods that reference ConfigMaps/Secrets, nanolet
// allows them (static ConfigMaps and Secrets for standalone nodes come from the same manifests).
#include <string>
#include <string_view>
#include <vector>

#include "api/decode.h"
#include "api/types.h"
#include "util/clock.h"

namespace nanolet::config {

inline constexpr const char* kConfigHashAnnotation = "kubernetes.io/config.hash";
inline constexpr const char* kConfigSourceAnnotation = "kubernetes.io/config.source";
inline constexpr const char* kConfigSeenAnnotation = "kubernetes.io/config.seen";
inline constexpr const char* kConfigMirrorAnnotation = "kubernetes.io/config.mirror";
// Upstream maxConfigLength: larger manifests (files or URL bodies) are refused.
inline constexpr size_t kMaxManifestBytes = 10 << 20;

struct ManifestOrigin {
  std::string source;    // kSourceFile or kSourceHttp
  std::string location;  // file path or URL: names diagnostics and enters the UID hash
  std::string
      node_name;  // as given (the pod name suffix is lowercased, the UID hash uses it verbatim)
};

// Everything one manifest (file or URL body) defines. When `errors` is not empty, the caller must
// use none of it (a manifest contributes all of its objects or nothing); errors of any object
// count, an invalid Deployment next to a pod included.
struct ManifestContents {
  std::vector<api::Pod> pods;
  std::vector<api::ConfigMap> config_maps;  // static ConfigMaps (standalone nodes)
  std::vector<api::Secret> secrets;         // static Secrets (standalone nodes)
  std::vector<api::Diagnostic> errors;
  std::vector<api::Diagnostic> warnings;  // unknown fields, ignored kinds (workloads, nodes, ...)
  bool ok() const { return errors.empty(); }
};

// `<name>-<lowercase(node)>`, as upstream generatePodName.
std::string StaticPodName(std::string_view name, std::string_view node_name);

// Decodes, defaults, names and validates every object in `data`. Pure: no I/O, no logging,
// thread-safe. config.seen is not set here (see StampSeen).
ManifestContents LoadManifest(std::string_view data, const ManifestOrigin& origin);

// Applies upstream applyDefaults to an already api::SetDefaults'ed pod (exposed for tests).
void ApplyStaticPodDefaults(api::Pod& pod, const ManifestOrigin& origin);

// Sets kubernetes.io/config.seen on each pod: carried over from the pod with the same UID in
// `previous`, else `now` (RFC 3339 with nanoseconds, trailing zeros trimmed as Go's
// time.RFC3339Nano).
void StampSeen(std::vector<api::Pod>& pods, const std::vector<api::Pod>& previous, TimePoint now);
std::string FormatSeenTime(TimePoint now);

// Logs each error as `invalid manifest file=<location> error="FILE:LINE: field: message"` and each
// warning as a warning line.
void LogManifestProblems(const ManifestContents& contents, std::string_view location);

}  // namespace nanolet::config
