// Image import parses untrusted JSON (an OCI layout's index.json, image indexes, manifests,
// configs) and unpacks untrusted layer archives. The input is an OCI layout: parts separated by a
// line "@@"; part 0 is index.json, part k (k = 1..9) is a blob. In a part, "$k" becomes the digest
// of part k and "#k" its size (parts only refer to later parts, so digests can be computed from the
// last part back). Everything is imported with a tag and without, listed, resolved and removed.
// Checks: nothing crashes, and unpacking never writes outside the store.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/image/image_store.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strings.h"

namespace {

struct ImageFuzzEnv {
  std::string dir;
  std::string layout;
  std::unique_ptr<nanolet::image::ImageStore> store;
  ~ImageFuzzEnv() { (void)nanolet::RemoveAll(dir); }  // at exit (not after a crash)
  ImageFuzzEnv() {
    char t[] = "/tmp/nanolet-fuzz-image-XXXXXX";
    dir = ::mkdtemp(t);
    layout = dir + "/layout";
    auto s = nanolet::image::ImageStore::Open(dir + "/root");
    if (!s.ok()) {
      std::fprintf(stderr, "open store: %s\n", s.error().message().c_str());
      std::abort();
    }
    store = std::move(*s);
  }
};

void ReplaceAll(std::string& s, const std::string& from, const std::string& to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) {
    s.replace(pos, from.size(), to);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static ImageFuzzEnv env;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> parts;
  for (size_t pos = 0;;) {
    size_t sep = in.find("\n@@\n", pos);
    parts.emplace_back(in.substr(pos, sep == std::string_view::npos ? sep : sep - pos));
    if (sep == std::string_view::npos || parts.size() == 10) break;
    pos = sep + 4;
  }
  std::vector<std::string> digests(parts.size());
  for (size_t i = parts.size(); i-- > 0;) {
    for (size_t k = i + 1; k < parts.size(); ++k) {
      ReplaceAll(parts[i], "$" + std::to_string(k), digests[k]);
      ReplaceAll(parts[i], "#" + std::to_string(k), std::to_string(parts[k].size()));
    }
    digests[i] = "sha256:" + nanolet::Sha256Hex(parts[i]);
  }
  (void)nanolet::RemoveAll(env.layout);
  (void)nanolet::MkdirAll(env.layout + "/blobs/sha256");
  (void)nanolet::WriteFile(env.layout + "/oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  (void)nanolet::WriteFile(env.layout + "/index.json", parts[0]);
  for (size_t k = 1; k < parts.size(); ++k) {
    (void)nanolet::WriteFile(env.layout + "/blobs/sha256/" + digests[k].substr(7), parts[k]);
  }

  auto& store = *env.store;
  auto a = store.Import(env.layout, "fuzz.local/img:1");
  auto b = store.Import(env.layout);
  if (a.ok()) {
    auto r = store.Resolve("fuzz.local/img:1");
    if (r.ok()) (void)r->OverlayLowerDir();
  }
  if (auto l = store.List(); l.ok()) {
    for (const auto& img : *l) (void)store.Remove(img.id);
  }
  (void)store.GarbageCollect();
  // Layer entries must land under the store: nothing but the store and the layout in the dir.
  auto names = nanolet::ListDir(env.dir);
  if (names.ok() && names->size() != 2) {
    for (const auto& n : *names) std::fprintf(stderr, "unexpected entry %s\n", n.c_str());
    std::abort();
  }
  return 0;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  nanolet::log::SetVerbosity(-1);  // import logs each image at Info
  return 0;
}
