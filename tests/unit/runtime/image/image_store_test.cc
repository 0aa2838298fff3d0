#include "runtime/image/image_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "image_test_util.h"
#include "util/fs.h"
#include "util/strings.h"

namespace nanolet::image {
namespace {

using testing::TempDir;
using json = nlohmann::json;

class ImageStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    archive_ = testing::TestImageArchive();
    if (archive_.empty()) GTEST_SKIP() << "busybox-static is not installed";
    auto s = ImageStore::Open(root_.path());
    ASSERT_TRUE(s.ok()) << s.error().message();
    store_ = std::move(*s);
  }

  // The test image as an OCI layout directory.
  std::string ExtractLayout() {
    std::string dir = tmp_ / "layout";
    EXPECT_TRUE(MkdirAll(dir).ok());
    auto r = nanolet::Run({"tar", "-xf", archive_, "-C", dir});
    EXPECT_TRUE(r.ok() && r->success());
    return dir;
  }
  json ReadJson(const std::string& p) { return json::parse(*ReadFile(p)); }
  // Writes a JSON blob into a layout, returning its digest.
  std::string PutBlob(const std::string& layout, const std::string& data) {
    std::string hex = Sha256Hex(data);
    EXPECT_TRUE(WriteFile(layout + "/blobs/sha256/" + hex, data).ok());
    return "sha256:" + hex;
  }
  std::vector<std::string> Names(const std::string& dir) {
    auto r = ListDir(dir);
    return r.ok() ? *r : std::vector<std::string>{};
  }

  std::string archive_;
  TempDir root_, tmp_;
  std::unique_ptr<ImageStore> store_;
};

TEST_F(ImageStoreTest, ImportsTheTestImageArchive) {
  auto start = std::chrono::steady_clock::now();
  auto r = store_->Import(archive_);
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  ASSERT_TRUE(r.ok()) << r.error().message();
  std::cout << "import of the test image took " << took.count() << " ms\n";
  ASSERT_EQ(r->size(), 1u);
  const Image& img = r->front();
  EXPECT_EQ(img.repo_tags, std::vector<std::string>{"nanolet.local/busybox:1.35"});
  ASSERT_EQ(img.repo_digests.size(), 1u);
  EXPECT_TRUE(StartsWith(img.repo_digests[0], "nanolet.local/busybox@sha256:"));
  EXPECT_TRUE(IsValidDigest(img.id));
  EXPECT_EQ(img.config.cmd, std::vector<std::string>{"sh"});
  ASSERT_FALSE(img.config.env.empty());
  EXPECT_TRUE(StartsWith(img.config.env[0], "PATH="));
  EXPECT_GT(img.size, 500000);

  // Resolve by the full name, the short name and the id.
  for (std::string ref :
       {std::string("nanolet.local/busybox:1.35"), img.id, img.id.substr(7), img.repo_digests[0]}) {
    auto res = store_->Resolve(ref);
    ASSERT_TRUE(res.ok()) << ref << ": " << res.error().message();
    EXPECT_EQ(res->id, img.id);
    ASSERT_EQ(res->layers.size(), 1u);
    EXPECT_EQ(res->OverlayLowerDir(), res->layers[0]);
  }
  auto res = store_->Resolve("nanolet.local/busybox:1.35");
  ASSERT_TRUE(res.ok());
  const std::string layer = res->layers[0];
  EXPECT_TRUE(StartsWith(layer, store_->dir() + "/layers/"));
  struct stat st;
  ASSERT_EQ(::lstat((layer + "/bin/busybox").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  ASSERT_EQ(::lstat((layer + "/bin/sh").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(*ReadFile(layer + "/etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n");
  EXPECT_TRUE(IsDirectory(layer + "/tmp"));
  EXPECT_TRUE(PathExists(layer + "/var/www/index.html"));

  // Importing again changes nothing.
  auto again = store_->Import(archive_);
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_EQ(again->front().id, img.id);
  EXPECT_EQ(Names(store_->dir() + "/layers").size(), 1u);
  auto list = store_->List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
}

TEST_F(ImageStoreTest, TagOverridesTheArchiveName) {
  auto r = store_->Import(archive_, "busybox:test");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->front().repo_tags, std::vector<std::string>{"docker.io/library/busybox:test"});
  EXPECT_TRUE(store_->Resolve("busybox:test").ok());
  EXPECT_TRUE(store_->Resolve("docker.io/library/busybox:test").ok());
  auto missing = store_->Resolve("nanolet.local/busybox:1.35");
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(missing.error().is(ErrorCode::kNotFound));
}

TEST_F(ImageStoreTest, AbsentImageIsNotFound) {
  for (std::string ref :
       {std::string("busybox"), std::string("busybox:1.35"), "sha256:" + std::string(64, 'a')}) {
    auto r = store_->Resolve(ref);
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(r.error().is(ErrorCode::kNotFound)) << r.error().message();
  }
  auto bad = store_->Resolve("Not/A/Ref");
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(bad.error().is(ErrorCode::kInvalid));
  EXPECT_TRUE(store_->Remove("busybox").error().is(ErrorCode::kNotFound));
}

TEST_F(ImageStoreTest, LayoutDirectoryNamesFromAnnotations) {
  std::string layout = ExtractLayout();
  json index = ReadJson(layout + "/index.json");
  // Only a bare tag in ref.name: no name.
  index["manifests"][0]["annotations"].erase("io.containerd.image.name");
  ASSERT_TRUE(WriteFile(layout + "/index.json", index.dump()).ok());
  auto r = store_->Import(layout);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("image has no name; pass --tag"), std::string::npos)
      << r.error().message();
  EXPECT_TRUE(store_->List()->empty());

  // A full reference in ref.name (as podman writes it).
  index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] = "localhost/foo:2";
  ASSERT_TRUE(WriteFile(layout + "/index.json", index.dump()).ok());
  r = store_->Import(layout);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->front().repo_tags, std::vector<std::string>{"localhost/foo:2"});

  // With --tag.
  r = store_->Import(layout, "nanolet.local/other:1");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->front().repo_tags,
            (std::vector<std::string>{"localhost/foo:2", "nanolet.local/other:1"}));
}

TEST_F(ImageStoreTest, NestedIndexPicksLinuxAmd64) {
  std::string layout = ExtractLayout();
  json index = ReadJson(layout + "/index.json");
  json amd64 = index["manifests"][0];
  amd64.erase("annotations");
  json arm64 = amd64;
  arm64["digest"] = "sha256:" + std::string(64, 'e');  // absent: must not be fetched
  arm64["platform"] = {{"os", "linux"}, {"architecture", "arm64"}};
  json nested = {{"schemaVersion", 2},
                 {"mediaType", "application/vnd.oci.image.index.v1+json"},
                 {"manifests", {arm64, amd64}}};
  std::string body = nested.dump();
  std::string digest = PutBlob(layout, body);
  index["manifests"] = {{{"mediaType", "application/vnd.oci.image.index.v1+json"},
                         {"digest", digest},
                         {"size", body.size()},
                         {"annotations", {{"io.containerd.image.name", "nanolet.local/multi:1"}}}}};
  ASSERT_TRUE(WriteFile(layout + "/index.json", index.dump()).ok());
  auto r = store_->Import(layout);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->front().repo_digests, std::vector<std::string>{"nanolet.local/multi@" + digest});
  EXPECT_EQ(r->front().manifest_digest, amd64["digest"].get<std::string>());
  // GC keeps the index blob while the image is there.
  ASSERT_TRUE(store_->GarbageCollect().ok());
  EXPECT_TRUE(PathExists(store_->dir() + "/blobs/sha256/" + digest.substr(7)));
  EXPECT_TRUE(store_->Resolve("nanolet.local/multi:1").ok());
}

TEST_F(ImageStoreTest, LayerDigestMismatchLeavesNothing) {
  std::string layout = ExtractLayout();
  json manifest_index = ReadJson(layout + "/index.json");
  std::string mdigest = manifest_index["manifests"][0]["digest"];
  json manifest = ReadJson(layout + "/blobs/sha256/" + mdigest.substr(7));
  std::string ldigest = manifest["layers"][0]["digest"];
  std::string lpath = layout + "/blobs/sha256/" + ldigest.substr(7);
  std::string data = *ReadFile(lpath);
  data[data.size() / 2] ^= 1;
  ASSERT_TRUE(WriteFile(lpath, data).ok());

  auto r = store_->Import(layout);
  ASSERT_FALSE(r.ok());
  const std::string& m = r.error().message();
  EXPECT_NE(m.find("digest mismatch: expected " + ldigest + ", got sha256:"), std::string::npos)
      << m;
  EXPECT_TRUE(StartsWith(m, "import " + layout + ": nanolet.local/busybox:1.35: layer " + ldigest))
      << m;
  EXPECT_TRUE(store_->List()->empty());
  EXPECT_FALSE(PathExists(store_->dir() + "/blobs/sha256/" + ldigest.substr(7)));
  for (auto& n : Names(store_->dir() + "/blobs/sha256")) EXPECT_FALSE(StartsWith(n, ".tmp")) << n;
  EXPECT_TRUE(Names(store_->dir() + "/layers").empty());
  ASSERT_TRUE(store_->GarbageCollect().ok());
  EXPECT_TRUE(Names(store_->dir() + "/blobs/sha256").empty());
}

TEST_F(ImageStoreTest, ArchiveWithCorruptBlobIsRefused) {
  std::string layout = ExtractLayout();
  json index = ReadJson(layout + "/index.json");
  std::string mdigest = index["manifests"][0]["digest"];
  std::string path = layout + "/blobs/sha256/" + mdigest.substr(7);
  ASSERT_TRUE(WriteFile(path, *ReadFile(path) + " ").ok());
  auto t = nanolet::Run({"tar", "-cf", tmp_ / "bad.tar", "-C", layout, "."});
  ASSERT_TRUE(t.ok() && t->success());
  auto r = store_->Import(tmp_ / "bad.tar");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("digest mismatch: expected " + mdigest), std::string::npos)
      << r.error().message();
  EXPECT_TRUE(store_->List()->empty());
}

TEST_F(ImageStoreTest, NotALayout) {
  ASSERT_TRUE(WriteFile(tmp_ / "junk.tar", "this is not a tar").ok());
  auto r = store_->Import(tmp_ / "junk.tar");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(StartsWith(r.error().message(), "import " + tmp_ / "junk.tar: "))
      << r.error().message();
  r = store_->Import(tmp_.path());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("no oci-layout"), std::string::npos) << r.error().message();
  r = store_->Import(tmp_ / "missing");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().is(ErrorCode::kNotFound));
}

TEST_F(ImageStoreTest, RemoveCollectsUnusedBlobsAndLayers) {
  ASSERT_TRUE(store_->Import(archive_).ok());
  ASSERT_TRUE(store_->Import(archive_, "busybox:copy").ok());
  auto img = store_->Resolve("busybox:copy");
  ASSERT_TRUE(img.ok());
  EXPECT_EQ(img->repo_tags.size(), 2u);

  ASSERT_TRUE(store_->Remove("nanolet.local/busybox:1.35").ok());
  auto still = store_->Resolve("busybox:copy");
  ASSERT_TRUE(still.ok()) << still.error().message();
  EXPECT_EQ(still->repo_tags, std::vector<std::string>{"docker.io/library/busybox:copy"});
  EXPECT_TRUE(IsDirectory(still->layers[0]));

  ASSERT_TRUE(store_->Remove("busybox:copy").ok());
  EXPECT_TRUE(Names(store_->dir() + "/blobs/sha256").empty());
  EXPECT_TRUE(Names(store_->dir() + "/layers").empty());
  EXPECT_TRUE(store_->List()->empty());

  // Removing by id removes every reference.
  ASSERT_TRUE(store_->Import(archive_).ok());
  ASSERT_TRUE(store_->Import(archive_, "busybox:copy").ok());
  ASSERT_TRUE(store_->Remove(img->id).ok());
  EXPECT_TRUE(store_->List()->empty());
}

TEST_F(ImageStoreTest, ResolveUnpacksAMissingLayerAgain) {
  auto r = store_->Import(archive_);
  ASSERT_TRUE(r.ok());
  std::string layer = r->front().layers[0];
  ASSERT_TRUE(RemoveAll(layer).ok());
  auto img = store_->Resolve("nanolet.local/busybox:1.35");
  ASSERT_TRUE(img.ok()) << img.error().message();
  EXPECT_TRUE(PathExists(layer + "/bin/busybox"));
}

TEST_F(ImageStoreTest, ConcurrentImportsAndResolves) {
  std::string layout = ExtractLayout();
  std::vector<std::thread> threads;
  std::vector<std::string> errors(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      for (int k = 0; k < 3; ++k) {
        Result<std::vector<Image>> r = i % 2 ? store_->Import(archive_) : store_->Import(layout);
        if (!r.ok()) {
          errors[i] = r.error().message();
          return;
        }
        auto res = store_->Resolve("nanolet.local/busybox:1.35");
        if (!res.ok()) {
          errors[i] = res.error().message();
          return;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  for (auto& e : errors) EXPECT_EQ(e, "");
  EXPECT_EQ(Names(store_->dir() + "/layers").size(), 1u);
  EXPECT_EQ(Names(store_->dir() + "/blobs/sha256").size(), 3u);
  auto list = store_->List();
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 1u);
}

TEST_F(ImageStoreTest, StoreSurvivesReopen) {
  ASSERT_TRUE(store_->Import(archive_).ok());
  store_.reset();
  auto s = ImageStore::Open(root_.path());
  ASSERT_TRUE(s.ok());
  auto img = (*s)->Resolve("nanolet.local/busybox:1.35");
  ASSERT_TRUE(img.ok()) << img.error().message();
}

}  // namespace
}  // namespace nanolet::image
