#pragma once
// CniNetwork: the pod network through CNI plugins (containernetworking-plugins: bridge, host-local,
// portmap, loopback), following the CNI spec (1.0) and libcni's behaviour where the spec leaves
// room:
//
// Config: the first file, in lexicographic order, in conf_dir named *.conflist, *.conf or *.json (a
// single plugin config is wrapped into a list); files that do not parse are skipped with a warning,
// and if files exist but none is valid, Create fails. No file (or no conf_dir): the built-in list,
// a bridge `nanolet0` with host-local IPAM on 10.88.0.0/16 (state in ROOT/cni/networks) and
// portmap. The config is read once, by Create.
//
// ADD: plugins in order, each with `name`, `cniVersion` and the previous plugin's result as
// `prevResult` injected into its config, and `runtimeConfig.portMappings` when it declares that
// capability and the pod has hostPorts. Env: CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS,
// CNI_IFNAME=eth0, CNI_PATH (bin_dirs) and CNI_ARGS (IgnoreUnknown=1;K8S_POD_NAMESPACE=..;
// K8S_POD_NAME=..;K8S_POD_INFRA_CONTAINER_ID=..;K8S_POD_UID=.., without spaces) over nanolet's own
// environment (plugins need PATH for iptables). Every exec has a deadline (plugin_timeout). A
// failed ADD is rolled back with DEL before SetUp returns its error. The portmap plugin is not run
// for pods without hostPorts (skip_idle_portmap).
//
// Cache: ROOT/cni/cache/results/<network>-<container id>-<ifname> (libcni's naming) holds the
// config list, CNI_ARGS, runtime config, netns and the ADD result. It is written before the first
// plugin runs, so DEL after a crash or restart uses the config the ADD used (even if conf_dir
// changed since) and gets `prevResult`.
//
// DEL: plugins in reverse order with the cached result as prevResult (spec 0.4.0 and later).
// CNI_NETNS is passed only while the path is still a mounted namespace (plugins treat an empty
// CNI_NETNS as "already gone" and still release IPAM). Every plugin is tried even if one fails (so
// IPAM is released); on any failure the cache stays for a retry. DEL without a cache entry (never
// added, or already deleted) runs the current config and succeeds: idempotent.
//
// Errors name the command and plugin:
//   cni ADD bridge: exit status 1: <msg>: <details> (CNI error 11)
//   cni ADD: plugin "bridge" not found in /usr/lib/cni, /opt/cni/bin
//   cni DEL portmap: timed out after 30s
//
// Thread-safe: the config is constant after Create, and each pod's state is its own cache file.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "runtime/network/pod_network.h"
#include "util/result.h"

namespace nanolet::network {

struct CniOptions {
  std::vector<std::string> bin_dirs = {"/usr/lib/cni"};  // --cni-bin-dir (searched in order)
  std::string conf_dir = "/etc/cni/net.d";    // --cni-conf-dir; "" for the built-in config
  std::string root_dir = "/var/lib/nanolet";  // --root-dir: ROOT/cni/{cache,networks}
  // The built-in config (used when conf_dir has no config); tests use their own bridge and subnet.
  std::string default_network_name = "nanolet";
  std::string default_bridge = "nanolet0";
  std::string default_subnet = "10.88.0.0/16";
  std::string interface_name = "eth0";
  // Run the loopback plugin on `lo` before the network (as CRI runtimes do) and on teardown. Off by
  // default: CreatePodNamespaces brings lo up itself, saving an exec per ADD and per DEL. Turn it
  // on for network namespaces nanolet did not create.
  bool run_loopback_plugin = false;
  // Skip exec'ing portmap when the pod has no hostPorts: it would only pass the result through (its
  // cmdAdd, cmdDel and cmdCheck return at once without mappings), and each exec costs ~7 ms here.
  bool skip_idle_portmap = true;
  std::chrono::milliseconds plugin_timeout{30000};
  // The built-in config's outbound NAT: one chain for the whole subnet, installed at Create
  // (masquerade.h), instead of the bridge plugin's ipMasq chain per pod (several iptables execs per ADD
  // and per DEL, and a chain left behind by any pod whose DEL never ran).
  bool shared_masquerade = true;
};

class CniNetwork : public PodNetwork {
 public:
  // Loads the config (see above) and checks ROOT is usable. Plugin binaries are looked up at each
  // call.
  static Result<std::unique_ptr<CniNetwork>> Create(const CniOptions& options);

  Result<PodNetworkResult> SetUp(const PodNetworkRequest& request) override;
  Result<void> TearDown(const PodNetworkRequest& request) override;
  Result<PodNetworkResult> Status(const std::string& container_id) override;
  std::string Name() const override;

  // CNI CHECK of the cached ADD (plugins in order, prevResult = cached result).
  Result<void> Check(const PodNetworkRequest& request);

  // Where the config came from: a file path, or "built-in".
  const std::string& config_source() const;
  // The config list in use, as JSON text.
  std::string config_json() const;

  ~CniNetwork() override;
  struct Impl;

 private:
  explicit CniNetwork(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The built-in config list for `options` (JSON text).
std::string BuiltinCniConfig(const CniOptions& options);

// Parses a CNI result (spec 0.1.0 to 1.0.0) into the pod's addresses on `interface_name`: the IPs
// whose `interface` index names that interface inside the sandbox, or every IP when the result has
// no interfaces.
Result<PodNetworkResult> ParseCniResult(const std::string& json, const std::string& interface_name);

}  // namespace nanolet::network
