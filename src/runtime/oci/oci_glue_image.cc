// The image half of oci_glue.h.
#include "runtime/image/image_store.h"
#include "runtime/oci/oci_glue.h"

namespace nanolet::runtime::oci::glue {
namespace {
ImageInfo Info(const image::Image& img) {
  ImageInfo info;
  info.id = img.id;
  info.repo_tags = img.repo_tags;
  info.repo_digests = img.repo_digests;
  info.size = img.size;
  return info;
}
}  // namespace

Result<std::unique_ptr<image::ImageStore>> NewImageStore(const OciOptions& opts) {
  return image::ImageStore::Open(opts.root_dir);
}

Result<ResolvedImage> ResolveImage(image::ImageStore& store, const std::string& ref) {
  ASSIGN_OR_RETURN(image::Image img, store.Resolve(ref));
  ResolvedImage out;
  // imageID as the kubelet reports it: the repo digest when there is one, else the config digest.
  out.image_id = img.repo_digests.empty() ? img.id : img.repo_digests[0];
  out.config.entrypoint = img.config.entrypoint;
  out.config.cmd = img.config.cmd;
  out.config.env = img.config.env;
  out.config.working_dir = img.config.working_dir;
  out.config.user = img.config.user;
  out.config.stop_signal = img.config.stop_signal;
  out.layers_top_first = img.LayersTopFirst();
  return out;
}

Result<ImageInfo> ImageStatus(image::ImageStore& store, const std::string& ref) {
  ASSIGN_OR_RETURN(image::Image img, store.Resolve(ref));
  return Info(img);
}

Result<ImageInfo> PullImage(image::ImageStore& store, const std::string& ref, const PullAuth& auth,
                            const std::vector<std::string>& insecure_registries) {
  ASSIGN_OR_RETURN(image::Image img, store.Pull(ref, auth, insecure_registries));
  return Info(img);
}

Result<std::vector<ImageInfo>> ListImages(image::ImageStore& store) {
  ASSIGN_OR_RETURN(auto imgs, store.List());
  std::vector<ImageInfo> out;
  for (const auto& i : imgs) out.push_back(Info(i));
  return out;
}

Result<void> RemoveImage(image::ImageStore& store, const std::string& ref) { return store.Remove(ref); }

}  // namespace nanolet::runtime::oci::glue
