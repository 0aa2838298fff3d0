#pragma once
// Pod volumes on the host, set up before containers start and torn down after they stop:
// ROOT/pods/<uid>/volumes/kubernetes.io~<plugin>/<name> (upstream's layout).
// - emptyDir: on disk, or tmpfs with medium Memory (sizeLimit as the tmpfs size).
// - hostPath: the host path itself, after its type check.
// - configMap (kubernetes.io~configmap), secret (kubernetes.io~secret, on its own tmpfs),
//   downwardAPI (kubernetes.io~downward-api) and projected (kubernetes.io~projected, on tmpfs as it
//   may hold secrets): written with the atomic writer, rewritten in place on every call when the
//   objects or the pod's metadata changed; always mounted read-only, as upstream.
// - subPath: bind-mounted from a descriptor opened beneath the volume onto
//   ROOT/pods/<uid>/volume-subpaths/<volume>/<container>/<mount index> (see subpath.h).
#include <map>
#include <string>
#include <vector>

#include "api/types.h"
#include "runtime/runtime.h"
#include "runtime/volume/object_provider.h"
#include "util/result.h"

namespace nanolet::volume {

// Volume name -> host path, for every volume of the pod nanolet supports.
using VolumePaths = std::map<std::string, std::string>;

std::string PodDir(const std::string& root_dir, const std::string& pod_uid);

// Idempotent; call it on every sync: object-backed volumes are brought up to date. A volume that
// cannot be set up fails the call with upstream's wording (`MountVolume.SetUp failed for volume
// "cfg" : configmap "x" not found`), unless it was set up before: then it keeps its last content
// and the failure is logged. `objects` may be null (no ConfigMaps or Secrets anywhere).
Result<VolumePaths> SetUpPodVolumes(const std::string& root_dir, const api::Pod& pod,
                                    const ObjectProvider* objects = nullptr);

// The container's mounts (volumeMounts resolved to host paths; subPaths bound safely, see
// subpath.h). `env` is the container's resolved environment, which subPathExpr expands from
// ($(VAR), $$ for "$", as upstream ExpandContainerVolumeMounts: a missing or empty variable is an
// error); without it, the literal env values of the spec.
using EnvList = std::vector<std::pair<std::string, std::string>>;
Result<std::vector<runtime::Mount>> ContainerMounts(const std::string& root_dir,
                                                    const api::Pod& pod, const api::Container& c,
                                                    const VolumePaths& volumes,
                                                    const EnvList* env = nullptr);

// subPathExpr expanded (exposed for tests).
Result<std::string> ExpandSubPathExpr(const std::string& expr, const EnvList& env);

// Unmounts everything mounted below ROOT/pods/<uid> (tmpfs volumes, subPath binds), then removes
// the directory (never crossing into a hostPath).
Result<void> TearDownPodVolumes(const std::string& root_dir, const std::string& pod_uid);

}  // namespace nanolet::volume
