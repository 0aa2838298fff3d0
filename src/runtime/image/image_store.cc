#include "runtime/image/image_store.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <nlohmann/json.hpp>

#include "runtime/image/layer.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strings.h"

namespace nanolet::image {

using json = nlohmann::json;
using Sink = std::function<Result<void>(const char*, size_t)>;

struct ImageStore::Record {
  std::string target;    // what the reference points to: an index or a manifest
  std::string manifest;  // the platform manifest
  std::vector<std::string>
      indexes;  // indexes walked from target to manifest (target first, when one)
  std::string config;
  std::vector<std::string> layers;    // compressed layer blobs, base first
  std::vector<std::string> diff_ids;  // their uncompressed digests (names of the layer directories)
  int64_t size = 0;                   // config + layers
};

struct ImageStore::Descriptor {
  std::string media_type;
  std::string digest;
  int64_t size = -1;
  std::map<std::string, std::string> annotations;
  std::string os, architecture, variant;
};

class ImageStore::KeyGuard {
 public:
  KeyGuard(KeyedLocks& locks, std::string key) : locks_(locks), key_(std::move(key)) {
    locks_.Lock(key_);
  }
  ~KeyGuard() { locks_.Unlock(key_); }
  KeyGuard(const KeyGuard&) = delete;
  KeyGuard& operator=(const KeyGuard&) = delete;

 private:
  KeyedLocks& locks_;
  std::string key_;
};

void ImageStore::KeyedLocks::Lock(const std::string& key) {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait(l, [&] { return !busy_.count(key); });
  busy_.insert(key);
}

void ImageStore::KeyedLocks::Unlock(const std::string& key) {
  {
    std::lock_guard<std::mutex> l(mu_);
    busy_.erase(key);
  }
  cv_.notify_all();
}

namespace {

using Clock = std::chrono::steady_clock;

std::string Ms(Clock::time_point since) {
  return std::to_string(
             std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count()) +
         "ms";
}

// flock(2) on a file of its own open file description: conflicts between threads of one process as
// between processes.
class FileLock {
 public:
  static Result<FileLock> Acquire(const std::string& path, bool exclusive) {
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (!fd.valid()) return ErrnoError("open " + path);
    while (::flock(fd.get(), exclusive ? LOCK_EX : LOCK_SH) != 0) {
      if (errno != EINTR) return ErrnoError("lock " + path);
    }
    FileLock l;
    l.fd_ = std::move(fd);
    return l;
  }

 private:
  UniqueFd fd_;  // closing releases the lock
};

bool IsIndexType(const std::string& mt) { return mt == kOciIndex || mt == kDockerManifestList; }
bool IsManifestType(const std::string& mt) { return mt == kOciManifest || mt == kDockerManifest; }

std::vector<std::string> StringArray(const json& j, const char* key) {
  std::vector<std::string> out;
  if (!j.contains(key) || !j[key].is_array()) return out;
  for (auto& v : j[key]) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

std::string StringField(const json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

Result<json> ParseJson(std::string_view body, const std::string& what) {
  try {
    json j = json::parse(body);
    if (!j.is_object()) return Invalid(what + ": not a JSON object");
    return j;
  } catch (const std::exception& e) {
    return Invalid(what + ": not JSON: " + e.what());
  }
}

// as containerd's platforms.Only(linux/amd64): exact os/architecture; a lone entry without a
// platform is taken.
template <typename D>
Result<D> PickPlatform(const std::vector<D>& ds) {
  for (auto& d : ds) {
    if (d.os == "linux" && d.architecture == "amd64") return d;
  }
  if (ds.size() == 1 && ds[0].os.empty() && ds[0].architecture.empty()) return ds[0];
  std::vector<std::string> have;
  for (auto& d : ds)
    have.push_back(d.os + "/" + d.architecture + (d.variant.empty() ? "" : "/" + d.variant));
  return NotFound("no linux/amd64 image in the index (it has: " +
                  (have.empty() ? "nothing" : Join(have, ", ")) + ")");
}

Result<ImageConfig> ParseConfig(const json& j) {
  ImageConfig c;
  if (!j.contains("config") || !j["config"].is_object()) return c;
  const json& cfg = j["config"];
  c.entrypoint = StringArray(cfg, "Entrypoint");
  c.cmd = StringArray(cfg, "Cmd");
  c.env = StringArray(cfg, "Env");
  c.working_dir = StringField(cfg, "WorkingDir");
  c.user = StringField(cfg, "User");
  c.stop_signal = StringField(cfg, "StopSignal");
  if (cfg.contains("ExposedPorts") && cfg["ExposedPorts"].is_object()) {
    for (auto& [k, v] : cfg["ExposedPorts"].items()) c.exposed_ports.push_back(k);
    std::sort(c.exposed_ports.begin(), c.exposed_ports.end());
  }
  if (cfg.contains("Labels") && cfg["Labels"].is_object()) {
    for (auto& [k, v] : cfg["Labels"].items()) {
      if (v.is_string()) c.labels[k] = v.get<std::string>();
    }
  }
  return c;
}

bool IsImageId(std::string_view s) {
  if (StartsWith(s, "sha256:")) return IsValidDigest(s);
  return s.size() == 64 && IsValidDigest("sha256:" + std::string(s));
}

}  // namespace

std::string Image::OverlayLowerDir() const { return Join(LayersTopFirst(), ":"); }

ImageStore::ImageStore(std::string dir, RegistryOptions registry)
    : dir_(std::move(dir)), registry_(registry), content_(dir_ + "/blobs") {}

Result<std::unique_ptr<ImageStore>> ImageStore::Open(const std::string& root,
                                                     RegistryOptions registry) {
  std::string dir = JoinPath(root, "images");
  RETURN_IF_ERROR_CTX(MkdirAll(dir + "/blobs/sha256", 0755), "open image store");
  RETURN_IF_ERROR_CTX(MkdirAll(dir + "/layers", 0755), "open image store");
  char real[PATH_MAX];
  if (!::realpath(dir.c_str(), real)) return ErrnoError("open image store: resolve " + dir);
  return std::unique_ptr<ImageStore>(new ImageStore(real, registry));
}

// ---- index ----

Result<std::map<std::string, ImageStore::Record>> ImageStore::ReadIndex() const {
  std::map<std::string, Record> out;
  std::string path = dir_ + "/index.json";
  if (!PathExists(path)) return out;
  ASSIGN_OR_RETURN(std::string data, ReadFile(path));
  ASSIGN_OR_RETURN(json j, ParseJson(data, path));
  try {
    for (auto& [key, v] : j.at("images").items()) {
      Record r;
      r.target = v.at("target").get<std::string>();
      r.manifest = v.at("manifest").get<std::string>();
      r.config = v.at("config").get<std::string>();
      r.layers = v.at("layers").get<std::vector<std::string>>();
      r.diff_ids = v.at("diffIds").get<std::vector<std::string>>();
      r.size = v.value("size", int64_t{0});
      if (v.contains("indexes")) r.indexes = v.at("indexes").get<std::vector<std::string>>();
      if (r.layers.size() != r.diff_ids.size())
        return Invalid(path + ": " + key + ": layers and diffIds differ");
      out[key] = std::move(r);
    }
  } catch (const std::exception& e) {
    return Invalid(path + ": " + e.what());
  }
  return out;
}

Result<void> ImageStore::UpdateIndex(
    const std::function<Result<void>(std::map<std::string, Record>&)>& change) {
  ASSIGN_OR_RETURN(FileLock lock, FileLock::Acquire(dir_ + "/index.lock", true));
  ASSIGN_OR_RETURN(auto index, ReadIndex());
  RETURN_IF_ERROR(change(index));
  json images = json::object();
  for (auto& [key, r] : index) {
    images[key] = {{"target", r.target}, {"manifest", r.manifest}, {"indexes", r.indexes},
                   {"config", r.config}, {"layers", r.layers},     {"diffIds", r.diff_ids},
                   {"size", r.size}};
  }
  json j = {{"version", 1}, {"images", images}};
  return WriteFileAtomic(dir_ + "/index.json", j.dump(1) + "\n");
}

// ---- storing ----

Result<void> ImageStore::EnsureBlob(const Descriptor& d, const Fetcher& fetch,
                                    const std::string& what) {
  if (!IsValidDigest(d.digest)) return Invalid(what + ": invalid digest \"" + d.digest + "\"");
  KeyGuard g(keyed_, "blob:" + d.digest);
  if (content_.Has(d.digest)) {
    log::V(2, "blob already present", {{"digest", d.digest}});
    return Ok();
  }
  ASSIGN_OR_RETURN_CTX(BlobWriter w, content_.NewWriter(), what);
  const bool layer = StartsWith(what, "layer");
  const auto start = Clock::now();
  auto last = start;
  if (layer) log::Info("fetching layer", {{"digest", d.digest}, {"size", std::to_string(d.size)}});
  Sink sink = [&](const char* p, size_t n) -> Result<void> {
    RETURN_IF_ERROR(w.Write(p, n));
    if (d.size >= 0 && w.size() > static_cast<uint64_t>(d.size)) {
      return Invalid("more than the " + std::to_string(d.size) + " bytes announced");
    }
    if (layer && Clock::now() - last > std::chrono::seconds(1) && log::Enabled(1)) {
      last = Clock::now();
      log::V(1, "fetching layer",
             {{"digest", d.digest},
              {"bytes", std::to_string(w.size())},
              {"size", std::to_string(d.size)}});
    }
    return Ok();
  };
  RETURN_IF_ERROR_CTX(fetch(d, sink), what);
  RETURN_IF_ERROR_CTX(w.Commit(d.digest, d.size), what);
  if (layer) {
    log::Info("fetched layer",
              {{"digest", d.digest}, {"bytes", std::to_string(w.size())}, {"took", Ms(start)}});
  }
  return Ok();
}

Result<std::string> ImageStore::EnsureLayer(const std::string& blob_digest,
                                            const std::string& diff_id) {
  if (!IsValidDigest(diff_id)) return Invalid("invalid diff id \"" + diff_id + "\"");
  std::string dest = dir_ + "/layers/" + diff_id.substr(7);
  KeyGuard g(keyed_, "layer:" + diff_id);
  if (IsDirectory(dest)) return dest;
  if (!content_.Has(blob_digest))
    return NotFound("layer blob " + blob_digest + " is missing; pull the image again");
  const auto start = Clock::now();
  auto stats = UnpackLayer(content_.Path(blob_digest), dest, diff_id);
  if (!stats.ok()) return std::move(stats).error().Wrap("unpack layer " + blob_digest);
  log::Info("unpacked layer", {{"digest", blob_digest},
                               {"entries", std::to_string(stats->entries)},
                               {"bytes", std::to_string(stats->bytes)},
                               {"took", Ms(start)}});
  return dest;
}

static Result<ImageStore::Descriptor> ParseDescriptorJson(const json& j, const std::string& what);

Result<ImageStore::Record> ImageStore::StoreManifest(const Descriptor& target,
                                                     const Fetcher& fetch) {
  Descriptor d = target;
  Record rec;
  rec.target = target.digest;
  for (int depth = 0;; ++depth) {
    RETURN_IF_ERROR(EnsureBlob(d, fetch, "fetch manifest " + d.digest));
    ASSIGN_OR_RETURN(std::string body, content_.Get(d.digest, 8 << 20));
    ASSIGN_OR_RETURN(json j, ParseJson(body, "manifest " + d.digest));
    std::string mt = StringField(j, "mediaType");
    if (mt.empty()) mt = d.media_type;
    if (mt.empty())
      mt = j.contains("manifests") ? kOciIndex : kOciManifest;  // OCI allows omitting it
    if (IsIndexType(mt)) {
      rec.indexes.push_back(d.digest);
      if (depth >= 3) return Invalid("manifest " + d.digest + ": indexes nested too deeply");
      if (!j.contains("manifests") || !j["manifests"].is_array()) {
        return Invalid("index " + d.digest + ": no manifests");
      }
      std::vector<Descriptor> ds;
      for (auto& m : j["manifests"]) {
        ASSIGN_OR_RETURN(Descriptor md, ParseDescriptorJson(m, "index " + d.digest));
        ds.push_back(md);
      }
      // (A named context: ASSIGN_OR_RETURN_CTX keeps a string_view of it.)
      const std::string index_ctx = "index " + d.digest;
      ASSIGN_OR_RETURN_CTX(d, PickPlatform(ds), index_ctx);
      continue;
    }
    if (!IsManifestType(mt))
      return Invalid("manifest " + d.digest + ": unsupported media type \"" + mt + "\"");
    rec.manifest = d.digest;
    if (!j.contains("config") || !j.contains("layers") || !j["layers"].is_array()) {
      return Invalid("manifest " + d.digest + ": no config or layers");
    }
    ASSIGN_OR_RETURN(Descriptor config,
                     ParseDescriptorJson(j["config"], "manifest " + d.digest + ": config"));
    RETURN_IF_ERROR(EnsureBlob(config, fetch, "fetch config " + config.digest));
    ASSIGN_OR_RETURN(std::string cbody, content_.Get(config.digest, 8 << 20));
    ASSIGN_OR_RETURN(json cj, ParseJson(cbody, "config " + config.digest));
    rec.config = config.digest;
    rec.size = static_cast<int64_t>(cbody.size());
    try {
      rec.diff_ids = cj.at("rootfs").at("diff_ids").get<std::vector<std::string>>();
    } catch (const std::exception&) {
      return Invalid("config " + config.digest + ": no rootfs.diff_ids");
    }
    std::vector<Descriptor> layers;
    for (auto& l : j["layers"]) {
      ASSIGN_OR_RETURN(Descriptor ld, ParseDescriptorJson(l, "manifest " + d.digest + ": layer"));
      layers.push_back(ld);
    }
    if (layers.size() != rec.diff_ids.size()) {
      return Invalid("manifest " + d.digest + " has " + std::to_string(layers.size()) +
                     " layers, its config " + std::to_string(rec.diff_ids.size()) + " diff ids");
    }
    for (auto& l : layers) {
      RETURN_IF_ERROR(EnsureBlob(l, fetch, "layer " + l.digest));
      rec.layers.push_back(l.digest);
      rec.size += std::max<int64_t>(l.size, 0);
    }
    for (size_t i = 0; i < layers.size(); ++i)
      RETURN_IF_ERROR(EnsureLayer(rec.layers[i], rec.diff_ids[i]));
    return rec;
  }
}

static Result<ImageStore::Descriptor> ParseDescriptorJson(const json& j, const std::string& what) {
  ImageStore::Descriptor d;
  if (!j.is_object()) return Invalid(what + ": descriptor is not an object");
  d.media_type = StringField(j, "mediaType");
  d.digest = StringField(j, "digest");
  if (!IsValidDigest(d.digest))
    return Invalid(what + ": invalid or unsupported digest \"" + d.digest + "\"");
  if (j.contains("size") && j["size"].is_number_integer()) d.size = j["size"].get<int64_t>();
  if (j.contains("annotations") && j["annotations"].is_object()) {
    for (auto& [k, v] : j["annotations"].items()) {
      if (v.is_string()) d.annotations[k] = v.get<std::string>();
    }
  }
  if (j.contains("platform") && j["platform"].is_object()) {
    d.os = StringField(j["platform"], "os");
    d.architecture = StringField(j["platform"], "architecture");
    d.variant = StringField(j["platform"], "variant");
  }
  return d;
}

// ---- images ----

Result<Image> ImageStore::MakeImage(const std::map<std::string, Record>& index,
                                    const std::string& key, bool unpack) {
  const Record& rec = index.at(key);
  Image img;
  img.id = rec.config;
  img.manifest_digest = rec.manifest;
  img.size = rec.size;
  for (auto& [k, r] : index) {
    if (r.config != rec.config) continue;
    auto ref = ParseReference(k);
    if (!ref.ok()) continue;
    if (!ref->tag.empty()) img.repo_tags.push_back(ref->Tagged());
    img.repo_digests.push_back(ref->Name() + "@" + r.target);
  }
  std::sort(img.repo_tags.begin(), img.repo_tags.end());
  std::sort(img.repo_digests.begin(), img.repo_digests.end());
  img.repo_digests.erase(std::unique(img.repo_digests.begin(), img.repo_digests.end()),
                         img.repo_digests.end());
  ASSIGN_OR_RETURN(std::string cbody, content_.Get(rec.config, 8 << 20));
  ASSIGN_OR_RETURN(json cj, ParseJson(cbody, "config " + rec.config));
  ASSIGN_OR_RETURN(img.config, ParseConfig(cj));
  for (size_t i = 0; i < rec.layers.size(); ++i) {
    if (unpack) {
      ASSIGN_OR_RETURN(std::string dir, EnsureLayer(rec.layers[i], rec.diff_ids[i]));
      img.layers.push_back(dir);
    } else {
      img.layers.push_back(dir_ + "/layers/" + rec.diff_ids[i].substr(7));
    }
  }
  return img;
}

// The index keys `s` names: an image id names every reference to it; a reference its own key, or
// (with a digest) any key of that repository whose target or manifest is that digest.
static std::vector<std::string> FindKeys(const std::map<std::string, ImageStore::Record>& index,
                                         const std::string& s, Result<Reference>* parsed) {
  std::vector<std::string> keys;
  if (IsImageId(s)) {
    std::string id = StartsWith(s, "sha256:") ? s : "sha256:" + s;
    for (auto& [k, r] : index) {
      if (r.config == id) keys.push_back(k);
    }
    return keys;
  }
  *parsed = ParseReference(s);
  if (!parsed->ok()) return keys;
  const Reference& ref = **parsed;
  if (index.count(ref.String())) return {ref.String()};
  if (!ref.digest.empty()) {
    for (auto& [k, r] : index) {
      auto kr = ParseReference(k);
      if (kr.ok() && kr->Name() == ref.Name() &&
          (r.target == ref.digest || r.manifest == ref.digest)) {
        keys.push_back(k);
      }
    }
  }
  return keys;
}

Result<Image> ImageStore::Resolve(const std::string& ref) {
  ASSIGN_OR_RETURN(FileLock lock, FileLock::Acquire(dir_ + "/gc.lock", false));
  ASSIGN_OR_RETURN(auto index, ReadIndex());
  Result<Reference> parsed = Error("");
  auto keys = FindKeys(index, ref, &parsed);
  if (!parsed.ok() && !IsImageId(ref)) return std::move(parsed).error();
  if (keys.empty()) return NotFound("image \"" + ref + "\" not found");
  return MakeImage(index, keys.front(), true);
}

Result<std::vector<Image>> ImageStore::List() {
  ASSIGN_OR_RETURN(FileLock lock, FileLock::Acquire(dir_ + "/gc.lock", false));
  ASSIGN_OR_RETURN(auto index, ReadIndex());
  std::map<std::string, std::string> by_id;  // config -> first key
  for (auto& [k, r] : index) by_id.emplace(r.config, k);
  std::vector<Image> out;
  for (auto& [id, key] : by_id) {
    auto img = MakeImage(index, key, false);
    if (!img.ok()) return std::move(img).error().Wrap("image " + key);
    out.push_back(std::move(*img));
  }
  return out;
}

Result<void> ImageStore::Remove(const std::string& ref) {
  RETURN_IF_ERROR(UpdateIndex([&](std::map<std::string, Record>& index) -> Result<void> {
    Result<Reference> parsed = Error("");
    auto keys = FindKeys(index, ref, &parsed);
    if (!parsed.ok() && !IsImageId(ref)) return std::move(parsed).error();
    if (keys.empty()) return NotFound("image \"" + ref + "\" not found");
    for (auto& k : keys) {
      index.erase(k);
      log::Info("removed image reference", {{"ref", k}});
    }
    return Ok();
  }));
  return GarbageCollect();
}

Result<void> ImageStore::GarbageCollect() {
  ASSIGN_OR_RETURN(FileLock lock, FileLock::Acquire(dir_ + "/gc.lock", true));
  ASSIGN_OR_RETURN(auto index, ReadIndex());
  std::set<std::string> live_blobs, live_layers;
  for (auto& [k, r] : index) {
    live_blobs.insert({r.target, r.manifest, r.config});
    live_blobs.insert(r.layers.begin(), r.layers.end());
    live_blobs.insert(r.indexes.begin(), r.indexes.end());
    for (auto& d : r.diff_ids) live_layers.insert(d.substr(7));
  }
  ASSIGN_OR_RETURN(auto blobs, content_.List());
  for (auto& b : blobs) {
    if (live_blobs.count(b)) continue;
    RETURN_IF_ERROR(content_.Delete(b));
    log::V(1, "removed blob", {{"digest", b}});
  }
  content_.RemoveStaleTemporaries();
  ASSIGN_OR_RETURN(auto layers, ListDir(dir_ + "/layers"));
  for (auto& l : layers) {
    if (live_layers.count(l)) continue;
    RETURN_IF_ERROR(RemoveAll(dir_ + "/layers/" + l));
    log::V(1, "removed layer", {{"layer", l}});
  }
  return Ok();
}

// ---- pull ----

Result<Image> ImageStore::Pull(const std::string& ref_str, const runtime::PullAuth& auth,
                               const std::vector<std::string>& insecure_registries) {
  auto run = [&]() -> Result<Image> {
    ASSIGN_OR_RETURN(Reference ref, ParseReference(ref_str));
    const std::string key = ref.String();
    RegistryOptions opts = registry_;
    opts.insecure = false;
    for (auto r : insecure_registries) {
      for (std::string_view scheme : {"http://", "https://"}) {
        if (StartsWith(r, scheme)) r = r.substr(scheme.size());
      }
      while (!r.empty() && r.back() == '/') r.pop_back();
      if (r == ref.domain) opts.insecure = true;
    }
    ASSIGN_OR_RETURN(FileLock lock, FileLock::Acquire(dir_ + "/gc.lock", false));
    const auto start = Clock::now();
    log::Info("pulling image", {{"image", key}, {"registry", ref.RegistryHost()}});
    RegistryClient client(ref, auth, opts);
    ASSIGN_OR_RETURN_CTX(FetchedManifest top, client.GetManifest(ref.ManifestRef()),
                         "fetch manifest");
    RETURN_IF_ERROR_CTX(content_.Put(top.digest, top.body), "store manifest");
    Fetcher fetch = [&](const Descriptor& d, const Sink& sink) -> Result<void> {
      if (IsIndexType(d.media_type) || IsManifestType(d.media_type)) {
        ASSIGN_OR_RETURN(FetchedManifest m, client.GetManifest(d.digest));
        return sink(m.body.data(), m.body.size());
      }
      return client.FetchBlob(d.digest, sink);
    };
    Descriptor target{.media_type = top.media_type,
                      .digest = top.digest,
                      .size = static_cast<int64_t>(top.body.size())};
    ASSIGN_OR_RETURN(Record rec, StoreManifest(target, fetch));
    RETURN_IF_ERROR(UpdateIndex([&](std::map<std::string, Record>& index) -> Result<void> {
      index[key] = rec;
      return Ok();
    }));
    ASSIGN_OR_RETURN(auto index, ReadIndex());
    if (!index.count(key)) return Error("image vanished from the index during the pull");
    ASSIGN_OR_RETURN(Image img, MakeImage(index, key, false));
    log::Info(
        "pulled image",
        {{"image", key}, {"id", img.id}, {"size", std::to_string(img.size)}, {"took", Ms(start)}});
    return img;
  };
  auto r = run();
  if (!r.ok()) return std::move(r).error().Wrap("pull " + ref_str);
  return r;
}

// ---- import ----

Result<std::vector<Image>> ImageStore::Import(const std::string& path, const std::string& tag) {
  Result<std::vector<Image>> r = Error("");
  if (IsDirectory(path)) {
    r = ImportLayout(path, tag);
  } else if (PathExists(path)) {
    r = ImportArchive(path, tag);
  } else {
    r = NotFound(path + ": no such file or directory");
  }
  if (!r.ok()) return std::move(r).error().Wrap("import " + path);
  return r;
}

Result<std::vector<Image>> ImageStore::ImportDescriptors(
    const std::string& index_json, const std::string& tag, const Fetcher& fetch,
    const std::function<Result<void>()>& prepare) {
  ASSIGN_OR_RETURN(json j, ParseJson(index_json, "index.json"));
  if (!j.contains("manifests") || !j["manifests"].is_array() || j["manifests"].empty()) {
    return Invalid("index.json lists no manifests");
  }
  std::vector<std::pair<std::string, Descriptor>> todo;  // normalised name, descriptor
  for (auto& m : j["manifests"]) {
    ASSIGN_OR_RETURN(Descriptor d, ParseDescriptorJson(m, "index.json"));
    std::string name = tag;
    if (name.empty()) name = d.annotations["io.containerd.image.name"];
    if (name.empty()) {
      std::string rn = d.annotations["org.opencontainers.image.ref.name"];
      if (rn.find_first_of("/:@") != std::string::npos)
        name = rn;  // a full reference, not a bare tag
    }
    if (name.empty()) return Invalid("image has no name; pass --tag (manifest " + d.digest + ")");
    ASSIGN_OR_RETURN_CTX(Reference ref, ParseReference(name), "image name");
    todo.emplace_back(ref.String(), d);
  }
  if (!tag.empty() && todo.size() > 1) {
    return Invalid("the layout holds " + std::to_string(todo.size()) +
                   " images; --tag names exactly one");
  }
  if (prepare) RETURN_IF_ERROR(prepare());
  std::vector<Image> out;
  for (auto& entry : todo) {
    // Not a structured binding: the lambda below captures key (clang < 16, the fuzz build, rejects that).
    const auto& key = entry.first;
    auto& d = entry.second;
    const auto start = Clock::now();
    ASSIGN_OR_RETURN_CTX(Record rec, StoreManifest(d, fetch), key);
    RETURN_IF_ERROR(UpdateIndex([&](std::map<std::string, Record>& index) -> Result<void> {
      index[key] = rec;
      return Ok();
    }));
    ASSIGN_OR_RETURN(auto index, ReadIndex());
    if (!index.count(key)) return Error(key + ": vanished from the index during the import");
    ASSIGN_OR_RETURN(Image img, MakeImage(index, key, false));
    log::Info("imported image", {{"image", key}, {"id", img.id}, {"took", Ms(start)}});
    out.push_back(std::move(img));
  }
  return out;
}

Result<std::vector<Image>> ImageStore::ImportLayout(const std::string& path,
                                                    const std::string& tag) {
  if (!PathExists(JoinPath(path, "oci-layout")))
    return Invalid("not an OCI image layout: no oci-layout file");
  ASSIGN_OR_RETURN(std::string index_json, ReadFile(JoinPath(path, "index.json"), 8 << 20));
  ASSIGN_OR_RETURN(FileLock lock, FileLock::Acquire(dir_ + "/gc.lock", false));
  Fetcher fetch = [&](const Descriptor& d, const Sink& sink) -> Result<void> {
    std::string p = path + "/blobs/sha256/" + d.digest.substr(7);
    UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return ErrnoError("open " + p);
    char buf[128 << 10];
    for (;;) {
      ssize_t n = ::read(fd.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoError("read " + p);
      if (n == 0) return Ok();
      RETURN_IF_ERROR(sink(buf, static_cast<size_t>(n)));
    }
  };
  return ImportDescriptors(index_json, tag, fetch, nullptr);
}

namespace {
struct ArchiveReadFree {
  void operator()(archive* a) const { archive_read_free(a); }
};
using ReadArchive = std::unique_ptr<archive, ArchiveReadFree>;

std::string ArchiveError(archive* a) {
  const char* s = archive_error_string(a);
  return s ? s : "unexpected end of archive";
}

Result<ReadArchive> OpenArchive(const std::string& path) {
  ReadArchive a(archive_read_new());
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  if (archive_read_open_filename(a.get(), path.c_str(), 128 << 10) != ARCHIVE_OK) {
    return Error("open " + path + ": " + ArchiveError(a.get()));
  }
  return a;
}

std::string EntryName(archive_entry* e) {
  const char* n = archive_entry_pathname(e);
  std::string s = n ? n : "";
  while (StartsWith(s, "./")) s = s.substr(2);
  return s;
}
}  // namespace

Result<std::vector<Image>> ImageStore::ImportArchive(const std::string& path,
                                                     const std::string& tag) {
  // Pass 1: index.json (names are checked before anything is stored).
  std::string index_json;
  bool docker_archive = false;
  {
    ASSIGN_OR_RETURN(ReadArchive a, OpenArchive(path));
    archive_entry* e;
    int r;
    while ((r = archive_read_next_header(a.get(), &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
      std::string name = EntryName(e);
      if (name == "manifest.json") docker_archive = true;
      if (name != "index.json") continue;
      if (archive_entry_size(e) > (8 << 20)) return Invalid("index.json is too large");
      index_json.resize(static_cast<size_t>(archive_entry_size(e)));
      if (archive_read_data(a.get(), index_json.data(), index_json.size()) !=
          static_cast<la_ssize_t>(index_json.size())) {
        return Error("read index.json: " + ArchiveError(a.get()));
      }
      break;
    }
    if (r < ARCHIVE_WARN) return Error("read " + path + ": " + ArchiveError(a.get()));
  }
  if (index_json.empty()) {
    if (docker_archive) {
      return Invalid(
          "a docker-archive (docker save) is not supported; convert it with "
          "skopeo copy docker-archive:FILE oci-archive:FILE2");
    }
    return Invalid("not an OCI image layout archive: no index.json");
  }
  ASSIGN_OR_RETURN(FileLock lock, FileLock::Acquire(dir_ + "/gc.lock", false));
  // Pass 2 (once the names are known good): every blob of the archive into the content store, each
  // verified against its name.
  Fetcher fetch = [&](const Descriptor& d, const Sink&) -> Result<void> {
    return NotFound("blob " + d.digest + " is missing from the archive");
  };
  auto store_blobs = [&]() -> Result<void> {
    ASSIGN_OR_RETURN(ReadArchive a, OpenArchive(path));
    archive_entry* e;
    int r;
    while ((r = archive_read_next_header(a.get(), &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
      std::string name = EntryName(e);
      if (!StartsWith(name, "blobs/sha256/") || archive_entry_filetype(e) != AE_IFREG) continue;
      std::string digest = "sha256:" + name.substr(13);
      if (!IsValidDigest(digest)) continue;
      KeyGuard g(keyed_, "blob:" + digest);
      if (content_.Has(digest)) continue;
      ASSIGN_OR_RETURN(BlobWriter w, content_.NewWriter());
      const void* buf;
      size_t size;
      la_int64_t offset;
      int rr;
      while ((rr = archive_read_data_block(a.get(), &buf, &size, &offset)) == ARCHIVE_OK) {
        RETURN_IF_ERROR(w.Write(buf, size));
      }
      if (rr != ARCHIVE_EOF) return Error("read " + name + ": " + ArchiveError(a.get()));
      RETURN_IF_ERROR_CTX(w.Commit(digest), name);
    }
    if (r < ARCHIVE_WARN) return Error("read " + path + ": " + ArchiveError(a.get()));
    return Ok();
  };
  return ImportDescriptors(index_json, tag, fetch, store_blobs);
}

}  // namespace nanolet::image
