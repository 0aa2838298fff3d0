#pragma once
// Adapters between OciRuntime and the image store and the CNI network, so oci_runtime.cc reads in the
// runtime's own terms.
#include <memory>
#include <string>
#include <vector>

#include "runtime/oci/oci_runtime.h"
#include "runtime/oci/spec_builder.h"

namespace nanolet::runtime::oci::glue {

struct ResolvedImage {
  std::string image_id;  // "<repo>@sha256:<manifest digest>" or "sha256:<config digest>"
  ImageConfig config;
  std::vector<std::string> layers_top_first;
};

struct NetworkResult {
  std::vector<std::string> ips;
};

Result<std::unique_ptr<image::ImageStore>> NewImageStore(const OciOptions& opts);
Result<std::unique_ptr<network::CniNetwork>> NewCniNetwork(const OciOptions& opts);

Result<ResolvedImage> ResolveImage(image::ImageStore& store, const std::string& ref);
Result<ImageInfo> ImageStatus(image::ImageStore& store, const std::string& ref);
Result<ImageInfo> PullImage(image::ImageStore& store, const std::string& ref, const PullAuth& auth,
                            const std::vector<std::string>& insecure_registries);
Result<std::vector<ImageInfo>> ListImages(image::ImageStore& store);
Result<void> RemoveImage(image::ImageStore& store, const std::string& ref);

// Network, IPC and UTS namespaces (host ones where the pod shares the host's: path "host").
Result<NamespacePaths> CreateNamespaces(const std::string& dir, const std::string& sandbox_id,
                                        const SandboxConfig& config);
Result<void> RemoveNamespaces(const std::string& dir, const std::string& sandbox_id);
Result<NetworkResult> SetUpNetwork(network::CniNetwork& cni, const std::string& sandbox_id,
                                   const std::string& netns_path, const SandboxConfig& config);
Result<void> TearDownNetwork(network::CniNetwork& cni, const std::string& sandbox_id,
                             const std::string& netns_path, const SandboxConfig& config);

}  // namespace nanolet::runtime::oci::glue
