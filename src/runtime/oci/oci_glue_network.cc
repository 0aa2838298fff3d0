// The network half of oci_glue.h: pod namespaces and CNI.
#include "runtime/network/cni_network.h"
#include "runtime/network/namespaces.h"
#include "runtime/oci/oci_glue.h"

namespace nanolet::runtime::oci::glue {

Result<std::unique_ptr<network::CniNetwork>> NewCniNetwork(const OciOptions& opts) {
  network::CniOptions o;
  o.bin_dirs = opts.cni_bin_dirs;
  o.conf_dir = opts.cni_conf_dir;
  o.root_dir = opts.root_dir;
  o.default_bridge = opts.cni_bridge;
  o.default_subnet = opts.cni_subnet;
  return network::CniNetwork::Create(o);
}

Result<NamespacePaths> CreateNamespaces(const std::string& dir, const std::string& sandbox_id,
                                        const SandboxConfig& config) {
  network::PodNamespaceOptions o;
  o.net = !config.host_network;
  o.ipc = !config.host_ipc;
  o.uts = !config.host_network;
  o.hostname = config.hostname.empty() ? config.pod_name : config.hostname;
  ASSIGN_OR_RETURN_CTX(network::PodNamespaces ns, network::CreatePodNamespaces(dir, sandbox_id, o),
                       "create pod namespaces");
  NamespacePaths paths;
  paths.network = o.net ? ns.net_path() : "host";
  paths.ipc = o.ipc ? ns.ipc_path() : "host";
  paths.uts = o.uts ? ns.uts_path() : "host";
  ns.Release();
  return paths;
}

Result<void> RemoveNamespaces(const std::string& dir, const std::string& sandbox_id) {
  return network::RemovePodNamespaces(dir, sandbox_id);
}

static network::PodNetworkRequest Request(const std::string& sandbox_id, const std::string& netns_path,
                                          const SandboxConfig& config) {
  network::PodNetworkRequest r;
  r.container_id = sandbox_id;
  r.pod_namespace = config.pod_namespace;
  r.pod_name = config.pod_name;
  r.pod_uid = config.pod_uid;
  r.netns_path = netns_path;
  r.ports = config.port_mappings;
  return r;
}

Result<NetworkResult> SetUpNetwork(network::CniNetwork& cni, const std::string& sandbox_id,
                                   const std::string& netns_path, const SandboxConfig& config) {
  ASSIGN_OR_RETURN(network::PodNetworkResult res, cni.SetUp(Request(sandbox_id, netns_path, config)));
  NetworkResult out;
  for (const auto& ip : res.ips) out.ips.push_back(ip.address);
  return out;
}

Result<void> TearDownNetwork(network::CniNetwork& cni, const std::string& sandbox_id,
                             const std::string& netns_path, const SandboxConfig& config) {
  return cni.TearDown(Request(sandbox_id, netns_path, config));
}

}  // namespace nanolet::runtime::oci::glue
