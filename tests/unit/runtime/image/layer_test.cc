#include "runtime/image/layer.h"

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "image_test_util.h"
#include "util/fs.h"
#include "util/strings.h"

namespace nanolet::image {
namespace {

using testing::TarEntry;
using testing::TempDir;
using testing::WriteTar;

std::string ReadLink(const std::string& p) {
  char buf[4096];
  ssize_t n = ::readlink(p.c_str(), buf, sizeof buf);
  return n < 0 ? "" : std::string(buf, n);
}

TEST(Layer, WhiteoutsBecomeOverlayWhiteouts) {
  TempDir t;
  WriteTar(t / "l.tar",
           {
               {TarEntry::kDir, "a/"},
               {TarEntry::kFile, "a/.wh.gone"},
               {TarEntry::kDir, "b/"},
               {TarEntry::kFile, "b/.wh..wh..opq"},
               {TarEntry::kFile, "b/keep", "k"},
               {TarEntry::kFile, "c/d/.wh..wh..opq"},  // its directory has no entry of its own
               {TarEntry::kFile, ".wh.top"},
           });
  ASSERT_TRUE(MkdirAll(t / "out").ok());
  auto r = ExtractLayer(t / "l.tar", t / "out");
  ASSERT_TRUE(r.ok()) << r.error().message();

  for (const char* p : {"out/a/gone", "out/top"}) {
    struct stat st;
    ASSERT_EQ(::lstat((t / p).c_str(), &st), 0) << p;
    EXPECT_TRUE(S_ISCHR(st.st_mode)) << p;
    EXPECT_EQ(st.st_rdev, makedev(0, 0)) << p;
  }
  for (const char* p : {"out/b", "out/c/d"}) {
    char v[8] = {0};
    ASSERT_EQ(::lgetxattr((t / p).c_str(), "trusted.overlay.opaque", v, sizeof v), 1) << p;
    EXPECT_EQ(v[0], 'y');
  }
  char v[8];
  EXPECT_LT(::lgetxattr((t / "out/a").c_str(), "trusted.overlay.opaque", v, sizeof v), 0);
  EXPECT_EQ(*ReadFile(t / "out/b/keep"), "k");
  EXPECT_FALSE(PathExists(t / "out/a/.wh.gone"));
  EXPECT_FALSE(PathExists(t / "out/b/.wh..wh..opq"));
}

// The kernel agrees: two unpacked layers mounted as overlayfs lowers hide what the upper one
// whites out.
TEST(Layer, OverlayfsHonoursTheWhiteouts) {
  TempDir t;
  WriteTar(t / "base.tar", {{TarEntry::kFile, "d/gone", "a"},
                            {TarEntry::kFile, "d/stay", "b"},
                            {TarEntry::kFile, "o/hidden", "c"}});
  WriteTar(t / "top.tar", {{TarEntry::kFile, "d/.wh.gone"},
                           {TarEntry::kDir, "o/"},
                           {TarEntry::kFile, "o/.wh..wh..opq"},
                           {TarEntry::kFile, "o/new", "n"}});
  ASSERT_TRUE(UnpackLayer(t / "base.tar", t / "base", "").ok());
  ASSERT_TRUE(UnpackLayer(t / "top.tar", t / "top", "").ok());
  for (const char* d : {"upper", "work", "mnt"}) ASSERT_TRUE(MkdirAll(t / d).ok());
  std::string opts = "lowerdir=" + (t / "top") + ":" + (t / "base") + ",upperdir=" + (t / "upper") +
                     ",workdir=" + (t / "work");
  if (::mount("overlay", (t / "mnt").c_str(), "overlay", 0, opts.c_str()) != 0) {
    GTEST_SKIP() << "cannot mount overlayfs here: " << std::strerror(errno);
  }
  EXPECT_FALSE(PathExists(t / "mnt/d/gone"));
  EXPECT_TRUE(PathExists(t / "mnt/d/stay"));
  EXPECT_FALSE(PathExists(t / "mnt/o/hidden"));
  EXPECT_TRUE(PathExists(t / "mnt/o/new"));
  ASSERT_EQ(::umount2((t / "mnt").c_str(), MNT_DETACH), 0);
}

TEST(Layer, KeepsSymlinksOwnershipAndModes) {
  TempDir t;
  WriteTar(t / "l.tar",
           {
               {TarEntry::kDir, "bin/"},
               {TarEntry::kFile, "bin/busybox", "#!", 04755},
               {TarEntry::kSymlink, "bin/sh", "/bin/busybox"},
               {TarEntry::kSymlink, "etc", "/etc"},  // a link to outside is fine as a link
               {TarEntry::kHardlink, "bin/ash", "bin/busybox"},
           });
  ASSERT_TRUE(MkdirAll(t / "out").ok());
  auto r = ExtractLayer(t / "l.tar", t / "out");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(ReadLink(t / "out/bin/sh"), "/bin/busybox");
  EXPECT_EQ(ReadLink(t / "out/etc"), "/etc");
  struct stat a, b;
  ASSERT_EQ(::stat((t / "out/bin/busybox").c_str(), &a), 0);
  ASSERT_EQ(::stat((t / "out/bin/ash").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(a.st_mode & 07777, 04755);
  EXPECT_EQ(a.st_mtime, 1000000);
}

TEST(Layer, AbsolutePathsStayInsideTheLayer) {
  TempDir t;
  WriteTar(t / "l.tar", {{TarEntry::kFile, "/nanolet-abs-test", "x"}});
  ASSERT_TRUE(MkdirAll(t / "out").ok());
  auto r = ExtractLayer(t / "l.tar", t / "out");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_TRUE(PathExists(t / "out/nanolet-abs-test"));
  EXPECT_FALSE(PathExists("/nanolet-abs-test"));
}

struct Escape {
  const char* name;
  std::vector<TarEntry> entries;
  const char* error;    // part of the message
  const char* outside;  // a path (relative to the temp dir) that must not exist afterwards
};

TEST(Layer, TraversalAttemptsAreRefused) {
  const Escape cases[] = {
      {"dotdot", {{TarEntry::kFile, "../evil", "x"}}, "escapes the layer", "evil"},
      {"inner dotdot", {{TarEntry::kFile, "a/../../evil", "x"}}, "escapes the layer", "evil"},
      {"through absolute symlink",
       {{TarEntry::kSymlink, "escape", "/tmp"},
        {TarEntry::kFile, "escape/nanolet-escape-test", "x"}},
       "symlink",
       nullptr},
      {"through relative symlink",
       {{TarEntry::kSymlink, "up", ".."}, {TarEntry::kFile, "up/evil", "x"}},
       "symlink",
       "evil"},
      {"hardlink through symlink",
       {{TarEntry::kSymlink, "up", ".."}, {TarEntry::kHardlink, "h", "up/secret"}},
       "symlink",
       nullptr},
      {"hardlink dotdot", {{TarEntry::kHardlink, "h", "../secret"}}, "escapes the layer", nullptr},
  };
  for (const auto& c : cases) {
    TempDir t;
    ASSERT_TRUE(WriteFile(t / "secret", "s").ok());
    WriteTar(t / "l.tar", c.entries);
    auto r = UnpackLayer(t / "l.tar", t / "layer", "");
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_NE(r.error().message().find(c.error), std::string::npos)
        << c.name << ": " << r.error().message();
    if (c.outside) {
      EXPECT_FALSE(PathExists(t / c.outside)) << c.name;
    }
    EXPECT_FALSE(PathExists("/tmp/nanolet-escape-test")) << c.name;
    // Nothing half-unpacked is left: no layer, no temporary.
    auto names = ListDir(t.path());
    ASSERT_TRUE(names.ok());
    EXPECT_EQ(*names, (std::vector<std::string>{"l.tar", "secret"})) << c.name;
    struct stat st;
    ASSERT_EQ(::stat((t / "secret").c_str(), &st), 0);
    EXPECT_EQ(st.st_nlink, 1u) << c.name;
  }
}

TEST(Layer, DiffIdOfPlainAndGzipLayers) {
  TempDir t;
  WriteTar(t / "l.tar", {{TarEntry::kFile, "f", std::string(100000, 'x')}});
  auto data = ReadFile(t / "l.tar");
  ASSERT_TRUE(data.ok());
  const std::string diff_id = "sha256:" + Sha256Hex(*data);
  auto gz = nanolet::Run({"sh", "-c", "gzip -n -c " + (t / "l.tar") + " > " + (t / "l.tar.gz")});
  ASSERT_TRUE(gz.ok() && gz->success());

  auto r = UnpackLayer(t / "l.tar", t / "plain", diff_id);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->diff_id, diff_id);
  r = UnpackLayer(t / "l.tar.gz", t / "gz", diff_id);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->diff_id, diff_id);
  EXPECT_EQ(ReadFile(t / "gz/f")->size(), 100000u);

  // A wrong diff id fails and leaves nothing.
  r = UnpackLayer(t / "l.tar.gz", t / "bad", "sha256:" + std::string(64, '0'));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("diff id mismatch"), std::string::npos) << r.error().message();
  EXPECT_FALSE(PathExists(t / "bad"));

  // An existing layer directory is not unpacked again.
  r = UnpackLayer(t / "l.tar.gz", t / "gz", diff_id);
  ASSERT_TRUE(r.ok());
}

TEST(Layer, GarbageIsAnError) {
  TempDir t;
  ASSERT_TRUE(WriteFile(t / "l.tar", std::string(3000, 'z')).ok());
  auto r = UnpackLayer(t / "l.tar", t / "layer", "");
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(PathExists(t / "layer"));
}

// A layer that does not fit on the disk: libarchive reports a failed write(2) only as a warning;
// it must still fail the unpack, and nothing (no truncated layer, no temporary directory) remains.
TEST(Layer, FullDiskIsAnErrorAndLeavesNothing) {
  TempDir t;
  ASSERT_TRUE(MkdirAll(t / "small").ok());
  if (::mount("tmpfs", (t / "small").c_str(), "tmpfs", 0, "size=256k") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs here: " << std::strerror(errno);
  }
  std::string big;
  for (int i = 0; big.size() < (600 << 10); ++i) big += std::to_string(i * 7919) + "\n";
  WriteTar(t / "l.tar", {{TarEntry::kFile, "a", "small"}, {TarEntry::kFile, "big", big},
                         {TarEntry::kFile, "z", "after"}});
  auto r = UnpackLayer(t / "l.tar", t / "small/layer", "");
  std::vector<std::string> left;
  if (auto names = ListDir(t / "small"); names.ok()) left = *names;
  ASSERT_EQ(::umount2((t / "small").c_str(), MNT_DETACH), 0);
  ASSERT_FALSE(r.ok()) << "a truncated layer was committed";
  EXPECT_NE(r.error().message().find("No space left on device"), std::string::npos)
      << r.error().message();
  EXPECT_NE(r.error().message().find("big"), std::string::npos) << r.error().message();
  EXPECT_TRUE(left.empty()) << Join(left, " ");
}

}  // namespace
}  // namespace nanolet::image
