#pragma once
// PodNetwork: what the sandbox code needs from a pod network (CNI in production: cni_network.h; a
// fake for unit tests: fake_pod_network.h).
//
// Contract for callers:
// - hostNetwork pods skip the pod network entirely: no namespace, no SetUp, no TearDown.
// - SetUp runs on a network namespace that exists (namespaces.h creates it). On failure SetUp has
// already
//   undone what it could (IPAM released); the caller still removes the namespace.
// - TearDown runs before the network namespace is removed: some plugins clean host state (the
// bridge
//   plugin's iptables masquerade rules) only when they can look inside it. TearDown is idempotent,
//   and works after a nanolet restart from the request's container_id alone (state is cached under
//   ROOT).
// - Calls for different pods may run concurrently; calls for one pod are serialised by the caller
// (its pod
//   worker).
#include <string>
#include <vector>

#include "runtime/runtime.h"
#include "util/result.h"

namespace nanolet::network {

using PortMapping = runtime::PortMapping;

struct PodNetworkRequest {
  std::string container_id;  // the sandbox id: CNI_CONTAINERID, the key of the cached state
  std::string pod_namespace;
  std::string pod_name;
  std::string pod_uid;
  std::string netns_path;          // the pod's network namespace file; may be gone on TearDown
  std::vector<PortMapping> ports;  // hostPort mappings (entries with host_port 0 are ignored)
};

struct PodIp {
  std::string address;  // "10.88.0.5", "fd00::5"
  int prefix_length = 0;
  std::string gateway;  // may be empty
  bool ipv6 = false;
};

struct PodNetworkResult {
  std::string network_name;
  std::string interface;   // in the pod ("eth0")
  std::string mac;         // of that interface, when the plugin reported it
  std::vector<PodIp> ips;  // addresses on that interface; ips[0] is the pod IP
  std::string raw_result;  // the final CNI result JSON, for diagnostics
};

class PodNetwork {
 public:
  virtual ~PodNetwork() = default;
  virtual Result<PodNetworkResult> SetUp(const PodNetworkRequest& request) = 0;
  virtual Result<void> TearDown(const PodNetworkRequest& request) = 0;
  // The result of the last successful SetUp of `container_id` (survives restarts); kNotFound if
  // none.
  virtual Result<PodNetworkResult> Status(const std::string& container_id) = 0;
  // The network's name ("nanolet" for the built-in one).
  virtual std::string Name() const = 0;
};

}  // namespace nanolet::network
