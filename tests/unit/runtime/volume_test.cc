// Volumes: the atomic writer, payloads of configMap/secret/downwardAPI/projected volumes, subPath
// safety and the volume manager's setup/update/teardown. Mount tests need root (they are skipped
// otherwise).
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "runtime/volume/atomic_writer.h"
#include "runtime/volume/object_provider.h"
#include "runtime/volume/projection.h"
#include "runtime/volume/subpath.h"
#include "runtime/volume/volume_manager.h"
#include "util/fs.h"

namespace nanolet::volume {
namespace {

class VolumeTempDir {
 public:
  VolumeTempDir() {
    char tmpl[] = "/tmp/nanolet-vol-XXXXXX";
    path_ = ::mkdtemp(tmpl) ? tmpl : "";
  }
  ~VolumeTempDir() {
    if (path_.empty()) return;
    // Unmount anything a test left below (subPath binds, tmpfs), deepest first.
    std::vector<std::string> mps;
    std::ifstream in("/proc/self/mountinfo");
    std::string id, parent, dev, root, mp, rest;
    while (in >> id >> parent >> dev >> root >> mp && std::getline(in, rest)) {
      if (mp.starts_with(path_ + "/")) mps.push_back(mp);
    }
    std::sort(mps.begin(), mps.end(),
              [](const auto& a, const auto& b) { return a.size() > b.size(); });
    for (const auto& m : mps) ::umount2(m.c_str(), MNT_DETACH);
    (void)RemoveAll(path_);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& n) const { return path_ + "/" + n; }

 private:
  std::string path_;
};

std::string Link(const std::string& p) {
  char buf[4096];
  ssize_t n = ::readlink(p.c_str(), buf, sizeof buf);
  return n < 0 ? "" : std::string(buf, static_cast<size_t>(n));
}

std::string Read(const std::string& p) {
  auto r = ReadFile(p);
  return r.ok() ? *r : "<" + r.error().message() + ">";
}

unsigned Mode(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 ? st.st_mode & 07777 : 0;
}

size_t VersionDirs(const std::string& dir) {
  auto names = ListDir(dir);
  if (!names.ok()) return 0;
  std::vector<std::string> list = std::move(*names);
  size_t n = 0;
  for (const auto& e : list) n += e.size() > 2 && e.starts_with("..") && std::isdigit(e[2]);
  return n;
}

// ---- atomic writer ----

TEST(AtomicWriter, WritesVersionDirDataLinkAndUserVisibleSymlinks) {
  VolumeTempDir t;
  std::string dir = t / "vol";
  auto r = WritePayload(dir, {{"a", {"1", 0644}}, {"sub/b", {"2", 0600}}});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_TRUE(*r);
  std::string version = Link(dir + "/..data");
  EXPECT_TRUE(version.starts_with("..20")) << version;
  EXPECT_EQ(Link(dir + "/a"), "..data/a");
  EXPECT_EQ(Link(dir + "/sub"), "..data/sub");
  EXPECT_EQ(Read(dir + "/a"), "1");
  EXPECT_EQ(Read(dir + "/sub/b"), "2");
  EXPECT_EQ(Mode(dir + "/a"), 0644u);
  EXPECT_EQ(Mode(dir + "/sub/b"), 0600u);
  EXPECT_FALSE(PathExists(dir + "/..data_tmp"));
}

TEST(AtomicWriter, UnchangedPayload_NothingWritten) {
  VolumeTempDir t;
  std::string dir = t / "vol";
  Payload p{{"a", {"1", 0644}}};
  ASSERT_TRUE(WritePayload(dir, p).ok());
  std::string v1 = Link(dir + "/..data");
  auto again = WritePayload(dir, p);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  EXPECT_EQ(Link(dir + "/..data"), v1);
  // A mode change is a change.
  auto mode = WritePayload(dir, {{"a", {"1", 0400}}});
  ASSERT_TRUE(mode.ok());
  EXPECT_TRUE(*mode);
  EXPECT_EQ(Mode(dir + "/a"), 0400u);
}

TEST(AtomicWriter, Update_RemovesOldKeysAndOldVersion) {
  VolumeTempDir t;
  std::string dir = t / "vol";
  ASSERT_TRUE(
      WritePayload(dir, {{"a", {"1", 0644}}, {"b", {"2", 0644}}, {"d/x", {"3", 0644}}}).ok());
  ASSERT_TRUE(WritePayload(dir, {{"a", {"10", 0644}}, {"c", {"30", 0644}}}).ok());
  EXPECT_EQ(Read(dir + "/a"), "10");
  EXPECT_EQ(Read(dir + "/c"), "30");
  EXPECT_FALSE(PathExists(dir + "/b"));
  struct stat st;
  EXPECT_NE(::lstat((dir + "/b").c_str(), &st), 0);  // the dangling symlink is gone too
  EXPECT_NE(::lstat((dir + "/d").c_str(), &st), 0);
  EXPECT_EQ(VersionDirs(dir), 1u);
  auto now = ReadPayload(dir);
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(now->size(), 2u);
}

TEST(AtomicWriter, EmptyPayload_EmptyVersion) {
  VolumeTempDir t;
  std::string dir = t / "vol";
  ASSERT_TRUE(WritePayload(dir, {{"a", {"1", 0644}}}).ok());
  ASSERT_TRUE(WritePayload(dir, {}).ok());
  auto names = ListDir(dir);
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(names->size(), 2u);  // ..data and one version
  EXPECT_FALSE(PathExists(dir + "/a"));
}

TEST(AtomicWriter, BadPaths_RefusedAndNothingWrittenOutside) {
  VolumeTempDir t;
  std::string dir = t / "vol";
  for (const std::string bad :
       {"../x", "/etc/x", "..data", "..x", "a/../../x", "a/../..", "", ".."}) {
    auto r = WritePayload(dir, {{bad, {"evil", 0644}}});
    EXPECT_FALSE(r.ok()) << "path " << bad;
  }
  EXPECT_FALSE(WritePayload(dir, {{"a", {"1", 0644}}, {"a/b", {"2", 0644}}}).ok());
  auto names = ListDir(t.path());
  ASSERT_TRUE(names.ok());
  for (const auto& n : *names) EXPECT_EQ(n, "vol");
  EXPECT_FALSE(PathExists(t / "x"));
}

TEST(AtomicWriter, PlantedSymlinkIsReplacedNeverWrittenThrough) {
  VolumeTempDir t;
  std::string dir = t / "vol";
  ASSERT_TRUE(MkdirAll(dir).ok());
  ASSERT_TRUE(WriteFile(t / "outside", "host").ok());
  ASSERT_EQ(::symlink((t / "outside").c_str(), (dir + "/a").c_str()), 0);
  ASSERT_EQ(::symlink(t.path().c_str(), (dir + "/..data").c_str()), 0);  // ..data pointing outside
  auto r = WritePayload(dir, {{"a", {"cm", 0644}}});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(Read(t / "outside"), "host");
  EXPECT_EQ(Link(dir + "/a"), "..data/a");
  EXPECT_EQ(Read(dir + "/a"), "cm");
}

// The upstream guarantee: every successful open of a user-visible name sees a complete file of
// one version, and a reader that resolves ..data once sees one consistent set (or ENOENT once that
// version is gone).
TEST(AtomicWriter, ConcurrentReader_NeverSeesAMix) {
  VolumeTempDir t;
  std::string dir = t / "vol";
  auto payload = [](int v) {
    std::string body(4096, static_cast<char>('a' + v % 26));
    return Payload{{"a", {body, 0644}}, {"b", {body, 0644}}, {"nested/c", {body, 0644}}};
  };
  ASSERT_TRUE(WritePayload(dir, payload(0)).ok());
  std::atomic<bool> done{false};
  std::atomic<int> consistent{0}, mixed{0}, torn{0}, visible_reads{0};
  std::thread reader([&] {
    while (!done.load()) {
      // Through the user-visible names: never torn. (An open racing the removal of the version it
      // resolved may get ENOENT, as upstream; the reader retries.)
      auto a = ReadFile(dir + "/a");
      if (a.ok() && (a->size() != 4096 || a->find_first_not_of((*a)[0]) != std::string::npos))
        ++torn;
      if (a.ok()) ++visible_reads;
      // A snapshot: resolve ..data once.
      std::string v = Link(dir + "/..data");
      auto x = ReadFile(dir + "/" + v + "/a");
      auto y = ReadFile(dir + "/" + v + "/b");
      auto z = ReadFile(dir + "/" + v + "/nested/c");
      if (x.ok() && y.ok() && z.ok()) {
        (*x == *y && *y == *z) ? ++consistent : ++mixed;
      }
    }
  });
  for (int v = 1; v <= 200; ++v) ASSERT_TRUE(WritePayload(dir, payload(v)).ok());
  done = true;
  reader.join();
  EXPECT_EQ(mixed.load(), 0);
  EXPECT_EQ(torn.load(), 0);
  EXPECT_GT(visible_reads.load(), 0);
  EXPECT_GT(consistent.load(), 0);
  EXPECT_EQ(VersionDirs(dir), 1u);
}

// ---- payloads ----

TEST(Projection, AllKeysWithDefaultMode) {
  auto p =
      KeyPayload("configmap", "cfg", std::map<std::string, std::string>{{"a", "1"}, {"b.txt", "2"}},
                 {}, 0640, false);
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->size(), 2u);
  EXPECT_EQ(p->at("b.txt").data, "2");
  EXPECT_EQ(p->at("a").mode, 0640u);
}

TEST(Projection, ItemsMapKeysToPathsWithModes) {
  std::vector<api::KeyToPath> items{{"a", "dir/a.conf", 0400}, {"b", "b", std::nullopt}};
  auto p = KeyPayload("configmap", "cfg",
                      std::map<std::string, std::string>{{"a", "1"}, {"b", "2"}, {"c", "3"}}, items,
                      0644, false);
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->size(), 2u);
  EXPECT_EQ(p->at("dir/a.conf").mode, 0400u);
  EXPECT_EQ(p->at("b").mode, 0644u);
  EXPECT_EQ(p->count("c"), 0u);
}

TEST(Projection, MissingObjectOrKey_ErrorUnlessOptional) {
  auto missing = KeyPayload("configmap", "cfg", std::nullopt, {}, 0644, false);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message(), "configmap \"cfg\" not found");
  auto opt = KeyPayload("secret", "s", std::nullopt, {}, 0644, true);
  ASSERT_TRUE(opt.ok());
  EXPECT_TRUE(opt->empty());
  std::map<std::string, std::string> data{{"a", "1"}};
  auto key = KeyPayload("configmap", "cfg", data, {{"nope", "x", std::nullopt}}, 0644, false);
  ASSERT_FALSE(key.ok());
  EXPECT_NE(key.error().message().find("non-existent configmap key: nope"), std::string::npos);
  auto optkey = KeyPayload("configmap", "cfg", data, {{"nope", "x", std::nullopt}}, 0644, true);
  ASSERT_TRUE(optkey.ok());
  EXPECT_TRUE(optkey->empty());
}

TEST(Projection, BadKeysAndItemPaths_Refused) {
  for (const std::string bad : {"..", ".", "..data", "../etc", "a/b", "/abs", ""}) {
    auto p = KeyPayload("configmap", "cfg", std::map<std::string, std::string>{{bad, "x"}}, {},
                        0644, false);
    EXPECT_FALSE(p.ok()) << "key " << bad;
  }
  for (const std::string bad : {"../x", "/etc/passwd", "..x", "a/../../x"}) {
    auto p = KeyPayload("configmap", "cfg", std::map<std::string, std::string>{{"k", "x"}},
                        {{"k", bad, std::nullopt}}, 0644, false);
    EXPECT_FALSE(p.ok()) << "path " << bad;
  }
}

api::Pod DownwardPod() {
  api::Pod pod;
  pod.metadata.name = "web";
  pod.metadata.namespace_ = "prod";
  pod.metadata.uid = "uid-1";
  pod.metadata.labels = {{"app", "web"}, {"tier", "front \"end\""}};
  pod.metadata.annotations = {{"note", "x"}};
  api::Container c;
  c.name = "app";
  c.resources.limits["memory"] = *api::Quantity::Parse("64Mi");
  c.resources.requests["cpu"] = *api::Quantity::Parse("250m");
  pod.spec.containers.push_back(c);
  return pod;
}

TEST(Projection, DownwardAPIFieldsAndResources) {
  api::Pod pod = DownwardPod();
  std::vector<api::DownwardAPIVolumeFile> items(6);
  items[0] = {"labels", api::ObjectFieldSelector{"v1", "metadata.labels"}, std::nullopt,
              std::nullopt};
  items[1] = {"name", api::ObjectFieldSelector{"v1", "metadata.name"}, std::nullopt, 0400};
  items[2] = {"ns", api::ObjectFieldSelector{"v1", "metadata.namespace"}, std::nullopt,
              std::nullopt};
  items[3] = {"app", api::ObjectFieldSelector{"v1", "metadata.labels['app']"}, std::nullopt,
              std::nullopt};
  items[4].path = "mem";
  items[4].resource_field_ref =
      api::ResourceFieldSelector{"app", "limits.memory", *api::Quantity::Parse("1Mi")};
  items[5].path = "cpu";
  items[5].resource_field_ref =
      api::ResourceFieldSelector{"app", "requests.cpu", *api::Quantity::Parse("1m")};
  auto p = DownwardAPIPayload(pod, items, 0644);
  ASSERT_TRUE(p.ok()) << p.error().message();
  EXPECT_EQ(p->at("labels").data, "app=\"web\"\ntier=\"front \\\"end\\\"\"");
  EXPECT_EQ(p->at("name").data, "web");
  EXPECT_EQ(p->at("name").mode, 0400u);
  EXPECT_EQ(p->at("ns").data, "prod");
  EXPECT_EQ(p->at("app").data, "web");
  EXPECT_EQ(p->at("mem").data, "64");
  EXPECT_EQ(p->at("cpu").data, "250");
  items.resize(1);
  items[0].field_ref->field_path = "status.podIP";  // not allowed in volumes
  EXPECT_FALSE(DownwardAPIPayload(pod, items, 0644).ok());
}

TEST(Projection, ProjectedMixesSourcesAndSkipsTokens) {
  StaticObjectProvider objs;
  api::ConfigMap cm;
  cm.metadata.name = "cfg";
  cm.data = {{"a", "1"}};
  api::Secret s;
  s.metadata.name = "sec";
  s.metadata.namespace_ = "prod";
  s.data = {{"pw", "hunter2"}};
  objs.Set({cm}, {s});
  api::Pod pod = DownwardPod();
  api::Volume v;
  v.name = "all";
  v.projected.emplace();
  v.projected->default_mode = 0440;
  v.projected->sources.resize(4);
  v.projected->sources[0].secret = api::SecretVolumeSource{"sec", {}, std::nullopt, std::nullopt};
  v.projected->sources[1].downward_api.emplace();
  v.projected->sources[1].downward_api->items.push_back(
      {"uid", api::ObjectFieldSelector{"v1", "metadata.uid"}, std::nullopt, std::nullopt});
  v.projected->sources[2].service_account_token =
      api::ServiceAccountTokenProjection{"", 3600, "token"};
  // The ConfigMap is in namespace "default", the pod in "prod": not found, but optional.
  v.projected->sources[3].config_map = api::ConfigMapVolumeSource{"cfg", {}, std::nullopt, true};
  std::vector<std::string> notes;
  auto p = VolumePayload(pod, v, &objs, &notes);
  ASSERT_TRUE(p.ok()) << p.error().message();
  EXPECT_EQ(p->size(), 2u);
  EXPECT_EQ(p->at("pw").data, "hunter2");
  EXPECT_EQ(p->at("pw").mode, 0440u);
  EXPECT_EQ(p->at("uid").data, "uid-1");
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("serviceAccountToken"), std::string::npos);
}

TEST(ObjectProvider, NamespacesAndSizeLimit) {
  StaticObjectProvider objs;
  api::ConfigMap small, big;
  small.metadata.name = "small";
  small.data = {{"k", "v"}};
  big.metadata.name = "big";
  big.data = {{"k", std::string((1 << 20) + 1, 'x')}};
  objs.Set({small, big}, {});
  EXPECT_TRUE(objs.GetConfigMap("default", "small").ok());
  auto other = objs.GetConfigMap("kube-system", "small");
  ASSERT_FALSE(other.ok());
  EXPECT_TRUE(other.error().is(ErrorCode::kNotFound));
  auto too_big = objs.GetConfigMap("default", "big");
  ASSERT_FALSE(too_big.ok());
  EXPECT_TRUE(too_big.error().is(ErrorCode::kInvalid));
  EXPECT_NE(too_big.error().message().find("too large"), std::string::npos);
  EXPECT_FALSE(objs.GetSecret("default", "small").ok());
}

// ---- subPath ----

bool IsRoot() { return ::geteuid() == 0; }

TEST(SubPath, SymlinkEscapes_Refused) {
  if (!IsRoot()) GTEST_SKIP() << "needs root (bind mounts)";
  VolumeTempDir t;
  std::string vol = t / "vol";
  ASSERT_TRUE(MkdirAll(vol + "/inner").ok());
  ASSERT_TRUE(WriteFile(t / "secret-host-file", "host").ok());
  ASSERT_EQ(::symlink("/etc", (vol + "/abs").c_str()), 0);
  ASSERT_EQ(::symlink("../secret-host-file", (vol + "/rel").c_str()), 0);
  ASSERT_EQ(::symlink("../../", (vol + "/inner/up").c_str()), 0);
  for (const std::string sp :
       {"abs", "abs/passwd", "rel", "inner/up", "inner/up/secret-host-file"}) {
    auto r = BindSubPath(vol, sp, t / ("target-" + std::to_string(sp.size())));
    ASSERT_FALSE(r.ok()) << sp;
    EXPECT_NE(r.error().message().find("outside the volume"), std::string::npos)
        << r.error().message();
  }
  for (const std::string sp : {"../secret-host-file", "/etc", "inner/../../x"}) {
    EXPECT_FALSE(BindSubPath(vol, sp, t / "target-x").ok()) << sp;
  }
  EXPECT_EQ(Read(t / "secret-host-file"), "host");
}

TEST(SubPath, InsideSymlinksFollowed_MissingDirsCreated_BindIsStable) {
  if (!IsRoot()) GTEST_SKIP() << "needs root (bind mounts)";
  VolumeTempDir t;
  std::string vol = t / "vol";
  ASSERT_TRUE(MkdirAll(vol + "/real").ok());
  ASSERT_TRUE(WriteFile(vol + "/real/f", "inside").ok());
  ASSERT_EQ(::symlink("real/f", (vol + "/link").c_str()), 0);
  auto r = BindSubPath(vol, "link", t / "tgt-file");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(Read(*r), "inside");
  // Swapping the symlink afterwards does not move the bind.
  ASSERT_EQ(::unlink((vol + "/link").c_str()), 0);
  ASSERT_EQ(::symlink("/etc/hostname", (vol + "/link").c_str()), 0);
  EXPECT_EQ(Read(t / "tgt-file"), "inside");
  // A missing subPath becomes a directory inside the volume.
  auto d = BindSubPath(vol, "new/deep", t / "tgt-dir");
  ASSERT_TRUE(d.ok()) << d.error().message();
  EXPECT_TRUE(IsDirectory(vol + "/new/deep"));
  ASSERT_TRUE(WriteFile(t / "tgt-dir/x", "y").ok());
  EXPECT_EQ(Read(vol + "/new/deep/x"), "y");
  // A dangling symlink to outside is not followed into creating a directory there.
  ASSERT_EQ(::symlink((t / "made-outside").c_str(), (vol + "/dangling").c_str()), 0);
  EXPECT_FALSE(BindSubPath(vol, "dangling", t / "tgt-3").ok());
  EXPECT_FALSE(PathExists(t / "made-outside"));
}

// ---- volume manager ----

api::Pod ManagerPod() {
  api::Pod pod = DownwardPod();
  pod.metadata.namespace_ = "default";
  api::Volume cm;
  cm.name = "cfg";
  cm.config_map = api::ConfigMapVolumeSource{"app-config", {}, 0644, std::nullopt};
  api::Volume sec;
  sec.name = "sec";
  sec.secret =
      api::SecretVolumeSource{"app-secret", {{"pw", "password", 0400}}, 0644, std::nullopt};
  api::Volume dw;
  dw.name = "info";
  dw.downward_api.emplace();
  dw.downward_api->items.push_back(
      {"labels", api::ObjectFieldSelector{"v1", "metadata.labels"}, std::nullopt, std::nullopt});
  pod.spec.volumes = {cm, sec, dw};
  api::VolumeMount m;
  m.name = "cfg";
  m.mount_path = "/etc/app";
  pod.spec.containers[0].volume_mounts.push_back(m);
  return pod;
}

TEST(VolumeManager, ConfigMapSecretDownward_SetUpUpdatedTornDown) {
  if (!IsRoot()) GTEST_SKIP() << "needs root (tmpfs)";
  VolumeTempDir t;
  StaticObjectProvider objs;
  api::ConfigMap cm;
  cm.metadata.name = "app-config";
  cm.data = {{"a.conf", "1"}, {"b.conf", "2"}};
  api::Secret s;
  s.metadata.name = "app-secret";
  s.data = {{"pw", "hunter2"}, {"user", "me"}};
  objs.Set({cm}, {s});
  api::Pod pod = ManagerPod();

  auto paths = SetUpPodVolumes(t.path(), pod, &objs);
  ASSERT_TRUE(paths.ok()) << paths.error().message();
  std::string cfg = paths->at("cfg"), sec = paths->at("sec"), info = paths->at("info");
  EXPECT_EQ(cfg, t.path() + "/pods/uid-1/volumes/kubernetes.io~configmap/cfg");
  EXPECT_EQ(Read(cfg + "/a.conf"), "1");
  EXPECT_EQ(Read(sec + "/password"), "hunter2");
  EXPECT_EQ(Mode(sec + "/password"), 0400u);
  EXPECT_FALSE(PathExists(sec + "/user"));
  struct statfs fs;
  ASSERT_EQ(::statfs(sec.c_str(), &fs), 0);
  EXPECT_EQ(fs.f_type, 0x01021994u);  // TMPFS_MAGIC
  EXPECT_EQ(Read(info + "/labels"), "app=\"web\"\ntier=\"front \\\"end\\\"\"");

  auto mounts = ContainerMounts(t.path(), pod, pod.spec.containers[0], *paths);
  ASSERT_TRUE(mounts.ok());
  ASSERT_EQ(mounts->size(), 1u);
  EXPECT_TRUE((*mounts)[0].readonly);  // API data volumes are read-only even without readOnly

  // Updates in place; a removed key disappears.
  cm.data = {{"a.conf", "10"}};
  objs.Set({cm}, {s});
  pod.metadata.labels["app"] = "web2";
  ASSERT_TRUE(SetUpPodVolumes(t.path(), pod, &objs).ok());
  EXPECT_EQ(Read(cfg + "/a.conf"), "10");
  EXPECT_FALSE(PathExists(cfg + "/b.conf"));
  EXPECT_NE(Read(info + "/labels").find("web2"), std::string::npos);

  // The ConfigMap goes away: the running pod keeps its last content.
  objs.Set({}, {s});
  ASSERT_TRUE(SetUpPodVolumes(t.path(), pod, &objs).ok());
  EXPECT_EQ(Read(cfg + "/a.conf"), "10");

  ASSERT_TRUE(TearDownPodVolumes(t.path(), "uid-1").ok());
  EXPECT_FALSE(PathExists(t.path() + "/pods/uid-1"));
}

TEST(VolumeManager, MissingConfigMap_UpstreamMessage_NothingCreatedOutside) {
  VolumeTempDir t;
  StaticObjectProvider objs;
  api::Pod pod = ManagerPod();
  pod.spec.volumes.resize(1);
  auto r = SetUpPodVolumes(t.path(), pod, &objs);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(),
            "MountVolume.SetUp failed for volume \"cfg\" : configmap \"app-config\" not found");
  pod.spec.volumes[0].config_map->optional = true;
  auto opt = SetUpPodVolumes(t.path(), pod, &objs);
  ASSERT_TRUE(opt.ok()) << opt.error().message();
}

TEST(VolumeManager, HostPathWrongType_Error) {
  VolumeTempDir t;
  ASSERT_TRUE(WriteFile(t / "file", "x").ok());
  api::Pod pod = DownwardPod();
  api::Volume v;
  v.name = "hp";
  v.host_path = api::HostPathVolumeSource{t / "file", "Directory"};
  pod.spec.volumes = {v};
  auto r = SetUpPodVolumes(t.path(), pod, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("is not a directory"), std::string::npos)
      << r.error().message();
}

TEST(VolumeManager, SubPathEscapeThroughVolume_RefusedWithContext) {
  if (!IsRoot()) GTEST_SKIP() << "needs root (bind mounts)";
  VolumeTempDir t;
  api::Pod pod = DownwardPod();
  api::Volume v;
  v.name = "data";
  v.empty_dir.emplace();
  pod.spec.volumes = {v};
  auto paths = SetUpPodVolumes(t.path(), pod, nullptr);
  ASSERT_TRUE(paths.ok());
  ASSERT_EQ(::symlink("/etc", (paths->at("data") + "/escape").c_str()), 0);
  api::VolumeMount m;
  m.name = "data";
  m.mount_path = "/x";
  m.sub_path = "escape";
  pod.spec.containers[0].volume_mounts = {m};
  auto r = ContainerMounts(t.path(), pod, pod.spec.containers[0], *paths);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("failed to prepare subPath for volumeMount \"data\""),
            std::string::npos);
  EXPECT_NE(r.error().message().find("outside the volume"), std::string::npos);
  // A good subPath is bound under volume-subpaths and torn down with the pod.
  m.sub_path = "ok";
  m.read_only = true;
  pod.spec.containers[0].volume_mounts = {m};
  auto ok = ContainerMounts(t.path(), pod, pod.spec.containers[0], *paths);
  ASSERT_TRUE(ok.ok()) << ok.error().message();
  EXPECT_EQ((*ok)[0].host_path, t.path() + "/pods/uid-1/volume-subpaths/data/app/0");
  EXPECT_TRUE((*ok)[0].readonly);
  ASSERT_TRUE(TearDownPodVolumes(t.path(), "uid-1").ok());
  EXPECT_FALSE(PathExists(t.path() + "/pods/uid-1"));
}

struct Owner {
  unsigned gid = 0, mode = 0;
  bool operator==(const Owner&) const = default;
};
std::ostream& operator<<(std::ostream& o, const Owner& w) {
  return o << "gid " << w.gid << " mode 0" << std::oct << w.mode << std::dec;
}
Owner OwnerOf(const std::string& p, bool follow = true) {
  struct stat st;
  int rc = follow ? ::stat(p.c_str(), &st) : ::lstat(p.c_str(), &st);
  return rc == 0 ? Owner{static_cast<unsigned>(st.st_gid), st.st_mode & 07777u} : Owner{};
}

// As upstream SetVolumeOwnership: group fsGroup everywhere (symlinks included), files gain 0660
// (emptyDir) or 0440 (API data volumes), directories also 0110 and setgid.
TEST(VolumeManager, FsGroup_OwnershipAsUpstream_NoRewriteOnNextSync) {
  if (!IsRoot()) GTEST_SKIP() << "needs root (chown, tmpfs)";
  VolumeTempDir t;
  StaticObjectProvider objs;
  api::ConfigMap cm;
  cm.metadata.name = "app-config";
  cm.data = {{"a.conf", "1"}};
  api::Secret s;
  s.metadata.name = "app-secret";
  s.data = {{"pw", "hunter2"}};
  objs.Set({cm}, {s});
  api::Pod pod = ManagerPod();
  pod.spec.security_context.emplace();
  pod.spec.security_context->fs_group = 4321;
  api::Volume ed;
  ed.name = "scratch";
  ed.empty_dir.emplace();
  pod.spec.volumes.push_back(ed);

  auto paths = SetUpPodVolumes(t.path(), pod, &objs);
  ASSERT_TRUE(paths.ok()) << paths.error().message();
  std::string cfg = paths->at("cfg"), sec = paths->at("sec"), scratch = paths->at("scratch");
  EXPECT_EQ(OwnerOf(scratch), (Owner{4321, 02777}));
  EXPECT_EQ(OwnerOf(cfg), (Owner{4321, 02755}));
  EXPECT_EQ(OwnerOf(cfg + "/a.conf"), (Owner{4321, 0644}));  // 0644 | 0440
  EXPECT_EQ(OwnerOf(cfg + "/..data"), (Owner{4321, 02755}));  // the version directory
  EXPECT_EQ(OwnerOf(cfg + "/..data", false).gid, 4321u);     // the symlink itself
  EXPECT_EQ(OwnerOf(sec), (Owner{4321, 02755}));             // the tmpfs root
  EXPECT_EQ(OwnerOf(sec + "/password"), (Owner{4321, 0440}));  // 0400 | 0440
  EXPECT_EQ(OwnerOf(paths->at("info") + "/labels"), (Owner{4321, 0644}));

  // The next sync finds nothing to rewrite (the payload's modes include the mask).
  ASSERT_TRUE(SetUpPodVolumes(t.path(), pod, &objs).ok());
  EXPECT_EQ(VersionDirs(cfg), 1u);
  std::string v1 = Link(cfg + "/..data");
  ASSERT_TRUE(SetUpPodVolumes(t.path(), pod, &objs).ok());
  EXPECT_EQ(Link(cfg + "/..data"), v1);
  // An update writes a new version, which gets the group too.
  cm.data = {{"a.conf", "2"}};
  objs.Set({cm}, {s});
  ASSERT_TRUE(SetUpPodVolumes(t.path(), pod, &objs).ok());
  EXPECT_NE(Link(cfg + "/..data"), v1);
  EXPECT_EQ(Read(cfg + "/a.conf"), "2");
  EXPECT_EQ(OwnerOf(cfg + "/a.conf"), (Owner{4321, 0644}));
  EXPECT_EQ(OwnerOf(cfg + "/..data"), (Owner{4321, 02755}));
  // The emptyDir's content belongs to the containers: it is not walked again.
  ASSERT_TRUE(WriteFile(scratch + "/mine", "x", 0600).ok());
  ASSERT_TRUE(SetUpPodVolumes(t.path(), pod, &objs).ok());
  EXPECT_EQ(OwnerOf(scratch + "/mine").mode, 0600u);
  EXPECT_EQ(OwnerOf(scratch), (Owner{4321, 02777}));  // later syncs keep the setgid bit
  ASSERT_TRUE(TearDownPodVolumes(t.path(), "uid-1").ok());
}

TEST(VolumeManager, SubPathExpr_ExpandedFromTheEnvironment_AsUpstream) {
  EnvList env = {{"POD_NAME", "web-1"}, {"EMPTY", ""}, {"NS", "prod"}};
  struct Case {
    std::string expr, want, error;
  } cases[] = {
      {"$(POD_NAME)", "web-1", ""},
      {"logs/$(NS)/$(POD_NAME)", "logs/prod/web-1", ""},
      {"a$$(POD_NAME)", "a$(POD_NAME)", ""},
      {"cost$5", "cost$5", ""},
      {"open$(POD_NAME", "open$(POD_NAME", ""},
      {"$(NOPE)/$(EMPTY)/$(POD_NAME)", "", "missing value for EMPTY, NOPE"},
  };
  for (const auto& c : cases) {
    auto r = ExpandSubPathExpr(c.expr, env);
    if (c.error.empty()) {
      ASSERT_TRUE(r.ok()) << c.expr << ": " << r.error().message();
      EXPECT_EQ(*r, c.want) << c.expr;
    } else {
      ASSERT_FALSE(r.ok()) << c.expr;
      EXPECT_EQ(r.error().message(), c.error);
    }
  }
}

TEST(VolumeManager, SubPathExpr_BoundLikeSubPath_EscapesRefused) {
  if (!IsRoot()) GTEST_SKIP() << "needs root (bind mounts)";
  VolumeTempDir t;
  api::Pod pod = DownwardPod();
  api::Volume v;
  v.name = "data";
  v.empty_dir.emplace();
  pod.spec.volumes = {v};
  auto paths = SetUpPodVolumes(t.path(), pod, nullptr);
  ASSERT_TRUE(paths.ok());
  api::VolumeMount m;
  m.name = "data";
  m.mount_path = "/logs";
  m.sub_path_expr = "logs/$(POD_NAME)";
  pod.spec.containers[0].volume_mounts = {m};
  EnvList env = {{"POD_NAME", "web-1"}};
  auto ok = ContainerMounts(t.path(), pod, pod.spec.containers[0], *paths, &env);
  ASSERT_TRUE(ok.ok()) << ok.error().message();
  EXPECT_TRUE(IsDirectory(paths->at("data") + "/logs/web-1"));  // created, as upstream
  // Without a resolved environment, the spec's literal values are used.
  pod.spec.containers[0].env.push_back({"POD_NAME", "lit", std::nullopt});
  ASSERT_TRUE(ContainerMounts(t.path(), pod, pod.spec.containers[0], *paths).ok());
  EXPECT_TRUE(IsDirectory(paths->at("data") + "/logs/lit"));
  for (const auto& [val, msg] : std::vector<std::pair<std::string, std::string>>{
           {"../../etc", "must not contain '..'"}, {"", "missing value for POD_NAME"}}) {
    env = {{"POD_NAME", val}};
    auto r = ContainerMounts(t.path(), pod, pod.spec.containers[0], *paths, &env);
    ASSERT_FALSE(r.ok()) << val;
    EXPECT_NE(r.error().message().find(msg), std::string::npos) << r.error().message();
  }
  m.sub_path_expr = "/$(POD_NAME)";
  pod.spec.containers[0].volume_mounts = {m};
  env = {{"POD_NAME", "x"}};
  auto abs = ContainerMounts(t.path(), pod, pod.spec.containers[0], *paths, &env);
  ASSERT_FALSE(abs.ok());
  EXPECT_EQ(abs.error().message(), "error SubPath `/x` must not be an absolute path");
  ASSERT_TRUE(TearDownPodVolumes(t.path(), "uid-1").ok());
}

}  // namespace
}  // namespace nanolet::volume
