#pragma once
// Pod volumes on the host, set up before containers start and torn down after they stop:
// ROOT/pods/<uid>/volumes/kubernetes.io~<plugin>/<name> (upstream's layout).
// Supported: emptyDir (disk, or tmpfs with medium Memory and sizeLimit), hostPath with its type checks.
// configMap, secret, downwardAPI and projected volumes are issue 5.
#include <map>
#include <string>
#include <vector>

#include "api/types.h"
#include "runtime/runtime.h"
#include "util/result.h"

namespace nanolet::volume {

// Volume name -> host path, for every volume of the pod.
using VolumePaths = std::map<std::string, std::string>;

std::string PodDir(const std::string& root_dir, const std::string& pod_uid);

// Idempotent: a volume already set up is left as it is.
Result<VolumePaths> SetUpPodVolumes(const std::string& root_dir, const api::Pod& pod);

// The container's mounts (volumeMounts resolved to host paths; subPath checked not to escape the volume).
Result<std::vector<runtime::Mount>> ContainerMounts(const api::Pod& pod, const api::Container& c,
                                                    const VolumePaths& volumes);

// Unmounts and removes everything under ROOT/pods/<uid> (never crossing into a hostPath).
Result<void> TearDownPodVolumes(const std::string& root_dir, const std::string& pod_uid);

}  // namespace nanolet::volume
