#pragma once
// The image store under ROOT/images/:
//   blobs/sha256/<hex>  content store (manifests, configs, compressed layers), digests verified
//   layers/<hex>/       each layer unpacked once, named by its diff id (sha256 of the uncompressed
//                       tar): an overlayfs lower layer, whiteouts in overlay form (see layer.h)
//   index.json          reference -> {target, manifest, config, layers}, written atomically
//   gc.lock, index.lock flock(2) files (see Locking)
//
// References are normalised as docker's (reference.h): `busybox:1.35` finds
// `docker.io/library/busybox:1.35`. An image is named by its config digest ("sha256:<hex>", the
// image id, as docker and CRI report it).
//
// Locking (threads and processes alike, e.g. the agent and `nanolet images pull` at once):
// - gc.lock: Pull, Import, Resolve and List hold it shared for their whole run, garbage
//   collection (Remove) exclusive; so GC never deletes what a running pull wrote but has not
//   indexed yet.
// - index.lock: exclusive around every read-modify-write of index.json; readers take no lock
//   (the file is replaced by rename).
// - Within a process, one blob or layer is fetched/unpacked by one thread at a time (keyed locks):
//   two pods pulling the same image share the work, the second waits, then finds it present.
//   Across processes, blobs and layers are verified in temporaries and renamed, so racing writers
//   are harmless.
// The store does not know which images running containers use: callers must not Remove an image
// whose layers are mounted (the kubelet's image GC only removes unused images).
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "runtime/image/content_store.h"
#include "runtime/image/reference.h"
#include "runtime/image/registry.h"
#include "runtime/runtime.h"
#include "util/result.h"

namespace nanolet::image {

// The parts of an image config (https://github.com/opencontainers/image-spec/blob/main/config.md) a
// runtime uses.
struct ImageConfig {
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::vector<std::string> env;  // "K=V"
  std::string working_dir;
  std::string user;
  std::string stop_signal;
  std::vector<std::string> exposed_ports;  // "80/tcp", sorted
  std::map<std::string, std::string> labels;
};

struct Image {
  std::string id;                      // "sha256:<config digest hex>"
  std::string manifest_digest;         // the platform manifest ("sha256:...")
  std::vector<std::string> repo_tags;  // "docker.io/library/busybox:1.35"
  // "docker.io/library/busybox@sha256:<digest the reference resolved to: index or manifest>"
  std::vector<std::string> repo_digests;
  ImageConfig config;
  // Unpacked layer directories, LOWEST (base layer) FIRST, as in the manifest. overlayfs wants the
  // top first in lowerdir=: use OverlayLowerDir().
  std::vector<std::string> layers;
  int64_t size = 0;  // config + compressed layers, bytes

  // "top:...:base", the value of overlayfs' lowerdir= option: a container's rootfs is
  // `mount -t overlay overlay -o lowerdir=<this>,upperdir=<bundle>/upper,workdir=<bundle>/work`.
  // (The whole option string must fit in a page: ~40 layers with the default root.)
  std::string OverlayLowerDir() const;
  // The layers top first.
  std::vector<std::string> LayersTopFirst() const { return {layers.rbegin(), layers.rend()}; }
};

class ImageStore {
 public:
  // The store of `root` (ROOT, not ROOT/images); creates ROOT/images. `registry` sets timeouts for
  // pulls (its `insecure` is ignored: see Pull).
  static Result<std::unique_ptr<ImageStore>> Open(const std::string& root,
                                                  RegistryOptions registry = {});

  // Imports every image of an OCI image layout, a directory or a tar of one (skopeo's and podman's
  // oci-archive). Names: `tag` when not empty (the layout must then hold one image), else the
  // descriptor's io.containerd.image.name annotation, else org.opencontainers.image.ref.name when
  // that is a full reference (a bare tag such as "1.35" is no name: error "image has no name; pass
  // --tag"). An index picks linux/amd64.
  Result<std::vector<Image>> Import(const std::string& path, const std::string& tag = "");

  // Pulls `ref` over the Distribution v2 API: HTTPS, or plain HTTP when the registry ("host:port"
  // as written in the reference) is in `insecure_registries`. Blobs already present are not fetched
  // again. A failed pull leaves no partial blob and no index entry (verified blobs it fetched stay
  // until the next GC).
  Result<Image> Pull(const std::string& ref, const runtime::PullAuth& auth = {},
                     const std::vector<std::string>& insecure_registries = {});

  // The image `ref` names (a reference, normalised; or an image id "sha256:<hex>", or its 64 hex),
  // with its layers unpacked (again, if a layer directory went missing). ErrorCode::kNotFound when
  // absent.
  Result<Image> Resolve(const std::string& ref);
  // Every image once, with all its tags and digests, sorted by id.
  Result<std::vector<Image>> List();
  // Removes the reference (an image id removes every reference to it), then garbage-collects blobs
  // and layers no remaining image uses. kNotFound when nothing matches.
  Result<void> Remove(const std::string& ref);
  // Deletes blobs, layers and temporaries no indexed image uses.
  Result<void> GarbageCollect();

  const std::string& dir() const { return dir_; }  // ROOT/images (symlinks resolved)

  // Internal, defined in image_store.cc.
  struct Record;
  struct Descriptor;

 private:
  class KeyedLocks {
   public:
    void Lock(const std::string& key);
    void Unlock(const std::string& key);

   private:
    std::mutex mu_;
    std::condition_variable cv_;
    std::set<std::string> busy_;  // guarded by mu_
  };
  class KeyGuard;
  // Fetches a blob's bytes into a sink; each source (registry, layout dir, archive) provides one.
  using Fetcher = std::function<Result<void>(
      const Descriptor&, const std::function<Result<void>(const char*, size_t)>&)>;

  ImageStore(std::string dir, RegistryOptions registry);

  Result<std::map<std::string, Record>> ReadIndex() const;
  Result<void> UpdateIndex(
      const std::function<Result<void>(std::map<std::string, Record>&)>& change);
  Result<void> EnsureBlob(const Descriptor& d, const Fetcher& fetch, const std::string& what);
  Result<std::string> EnsureLayer(const std::string& blob_digest, const std::string& diff_id);
  // Stores the image `target` names (an index picks linux/amd64), its config and layers, and
  // unpacks them.
  Result<Record> StoreManifest(const Descriptor& target, const Fetcher& fetch);
  Result<Image> MakeImage(const std::map<std::string, Record>& index, const std::string& key,
                          bool unpack);
  Result<std::vector<Image>> ImportLayout(const std::string& path, const std::string& tag);
  Result<std::vector<Image>> ImportArchive(const std::string& path, const std::string& tag);
  // Names the images of a layout's index.json, then runs `prepare` (may be empty), then stores
  // them.
  Result<std::vector<Image>> ImportDescriptors(const std::string& index_json,
                                               const std::string& tag, const Fetcher& fetch,
                                               const std::function<Result<void>()>& prepare);

  // Constant after construction.
  const std::string dir_;
  const RegistryOptions registry_;
  const ContentStore content_;
  // Serialises in-process work on one blob or layer ("blob:<digest>", "layer:<hex>").
  KeyedLocks keyed_;
};

}  // namespace nanolet::image
