#pragma once
// Builds OCI runtime spec (config.json) documents for the pause sandbox container and app containers.
// Pure: no I/O besides reading the image's /etc/passwd and /etc/group for a named USER.
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "runtime/runtime.h"
#include "util/result.h"

namespace nanolet::runtime::oci {

// The parts of an image config the spec needs.
struct ImageConfig {
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::vector<std::string> env;  // "K=V"
  std::string working_dir;
  std::string user;
  std::string stop_signal;
};

// Namespaces a container joins. An empty path means a new namespace, "host" the host's.
struct NamespacePaths {
  std::string network;
  std::string ipc;
  std::string uts;
  std::string pid;
};

struct ContainerSpecInput {
  std::string rootfs;  // absolute
  NamespacePaths ns;
  std::string shm_path;       // bind-mounted at /dev/shm ("" = private tmpfs)
  std::string hosts_path;     // bind-mounted at /etc/hosts when set
  std::string resolv_path;    // bind-mounted at /etc/resolv.conf when set
  std::string hostname_path;  // bind-mounted at /etc/hostname when set
  std::string hostname;
  std::string cgroups_path;  // "/nanolet/pod<uid>/<id>"
  std::vector<int64_t> supplemental_groups;  // pod-level
};

// Kubernetes command/args merge with the image's ENTRYPOINT/CMD (as upstream's container runtime does):
// command replaces ENTRYPOINT and drops CMD; args replaces CMD.
std::vector<std::string> MergeCommand(const ContainerConfig& c, const ImageConfig& image);

// Image env first, then the container's (a container variable replaces the image's of the same name).
std::vector<std::string> MergeEnv(const ContainerConfig& c, const ImageConfig& image);

// Resolves USER ("1000", "1000:1000", "app", "app:staff") against rootfs/etc/passwd and /etc/group, then
// applies runAsUser/runAsGroup. Returns uid, gid and the user's additional groups.
struct ResolvedUser {
  int64_t uid = 0;
  int64_t gid = 0;
  std::vector<int64_t> additional_gids;
};
Result<ResolvedUser> ResolveUser(const std::string& rootfs, const std::string& image_user,
                                 const SecurityContext& sc);

Result<nlohmann::json> BuildContainerSpec(const ContainerConfig& c, const ImageConfig& image,
                                          const ContainerSpecInput& in);

// The pause container: `/pause` as uid 65535 in a read-only rootfs, no capabilities.
nlohmann::json BuildSandboxSpec(const std::string& rootfs, const NamespacePaths& ns,
                                const std::string& cgroups_path, const std::string& hostname);

// Parses a signal name or number ("SIGTERM", "TERM", "15"); 0 when unknown.
int ParseSignal(const std::string& s);

}  // namespace nanolet::runtime::oci
