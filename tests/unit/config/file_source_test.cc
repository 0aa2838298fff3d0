#include "config/file_source.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <set>

#include "config/pod_config.h"
#include "config/static_pod.h"
#include "test_util.h"
#include "util/fs.h"
#include "util/timefmt.h"

namespace nanolet::config {
namespace {

using namespace std::chrono_literals;
using testing::InvalidPodYaml;
using testing::Loop;
using testing::PodYaml;
using testing::StderrCapture;
using testing::TempDir;
using testing::WriteViaRename;

// A FileSource on a test loop, recording every callback.
struct Harness {
  explicit Harness(std::string path, std::string node = "node1",
                   Duration interval = std::chrono::seconds(20)) {
    FileSource::Options o;
    o.path = std::move(path);
    o.node_name = std::move(node);
    o.check_interval = interval;
    source = std::make_unique<FileSource>(loop.get(), o,
                                          [this](const std::string& s, std::vector<api::Pod> p) {
                                            EXPECT_EQ(s, kSourceFile);
                                            sets.push_back(std::move(p));
                                          });
    auto r = source->Start();
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message());
  }
  ~Harness() { source.reset(); }

  const std::vector<api::Pod>& Last() const { return sets.back(); }
  bool HasPods(size_t n) const { return !sets.empty() && sets.back().size() == n; }
  std::set<std::string> Names() const {
    std::set<std::string> out;
    if (!sets.empty()) {
      for (const auto& p : sets.back()) out.insert(p.metadata.name);
    }
    return out;
  }
  // Waits for the first report (the initial scan).
  void WaitInitial() {
    ASSERT_TRUE(loop.RunUntil([&] { return !sets.empty(); }));
  }

  Loop loop;
  std::vector<std::vector<api::Pod>> sets;
  std::unique_ptr<FileSource> source;
};

TEST(FileSource, EmptyDirectoryReportsEmptySetOnce) {
  TempDir dir;
  Harness h(dir.path());
  h.WaitInitial();
  EXPECT_TRUE(h.Last().empty());
  h.loop.RunFor(50ms);
  EXPECT_EQ(h.sets.size(), 1u);
}

TEST(FileSource, DroppedFileBecomesPodWithinMilliseconds) {
  TempDir dir;
  Harness h(dir.path());
  h.WaitInitial();
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(WriteFile(dir.Join("web.yaml"), PodYaml("web")).ok());
  ASSERT_TRUE(h.loop.RunUntil([&] { return h.HasPods(1); }));
  auto latency = std::chrono::steady_clock::now() - start;
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(latency).count();
  std::printf("[ latency  ] manifest written -> callback: %.2f ms\n", us / 1000.0);
  EXPECT_LT(latency, 500ms);
  EXPECT_EQ(h.Last()[0].metadata.name, "web-node1");
}

TEST(FileSource, StaticPodNamingAnnotationsAndToleration) {
  TempDir dir;
  ASSERT_TRUE(WriteFile(dir.Join("web.yaml"), PodYaml("web")).ok());
  Harness h(dir.path(), "Node-A");
  ASSERT_TRUE(h.loop.RunUntil([&] { return h.HasPods(1); }));
  const api::Pod& p = h.Last()[0];
  EXPECT_EQ(p.metadata.name, "web-node-a");  // node name lowercased in the pod name, as upstream
  EXPECT_EQ(p.metadata.namespace_, "default");
  EXPECT_EQ(p.spec.node_name, "Node-A");
  ASSERT_EQ(p.metadata.uid.size(), 32u);
  EXPECT_EQ(p.metadata.uid.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(p.metadata.annotations.at(kConfigHashAnnotation), p.metadata.uid);
  EXPECT_EQ(p.metadata.annotations.at(kConfigSourceAnnotation), "file");
  ASSERT_EQ(p.metadata.annotations.count(kConfigSeenAnnotation), 1u);
  EXPECT_TRUE(ParseRFC3339(p.metadata.annotations.at(kConfigSeenAnnotation)).ok());
  ASSERT_EQ(p.spec.tolerations.size(), 1u);
  EXPECT_EQ(p.spec.tolerations[0].operator_, "Exists");
  EXPECT_EQ(p.spec.tolerations[0].effect, "NoExecute");
  EXPECT_EQ(p.spec.tolerations[0].key, "");
  EXPECT_EQ(p.status.phase, "Pending");
  // Defaulting ran (api::SetDefaults).
  EXPECT_EQ(p.spec.restart_policy, "Always");
  EXPECT_EQ(p.spec.containers[0].image_pull_policy, "IfNotPresent");
}

TEST(FileSource, EditedFileReplacesPodWithNewUid) {
  TempDir dir;
  ASSERT_TRUE(WriteFile(dir.Join("web.yaml"), PodYaml("web", "busybox:1.36")).ok());
  std::vector<PodUpdate> updates;
  PodConfig config([&](const PodUpdate& u) { updates.push_back(u); });
  Loop loop;
  FileSource src(loop.get(), {dir.path(), "node1"}, config.Channel(kSourceFile));
  ASSERT_TRUE(src.Start().ok());
  ASSERT_TRUE(loop.RunUntil([&] { return updates.size() == 1; }));
  ASSERT_EQ(updates[0].op, PodOp::kAdd);
  ASSERT_EQ(updates[0].pods.size(), 1u);
  std::string old_uid = updates[0].pods[0].metadata.uid;

  ASSERT_TRUE(WriteFile(dir.Join("web.yaml"), PodYaml("web", "busybox:1.35")).ok());
  ASSERT_TRUE(loop.RunUntil([&] { return updates.size() == 3; }));
  EXPECT_EQ(updates[1].op, PodOp::kRemove);
  ASSERT_EQ(updates[1].pods.size(), 1u);
  EXPECT_EQ(updates[1].pods[0].metadata.uid, old_uid);
  EXPECT_EQ(updates[2].op, PodOp::kAdd);
  ASSERT_EQ(updates[2].pods.size(), 1u);
  EXPECT_NE(updates[2].pods[0].metadata.uid, old_uid);
  EXPECT_EQ(updates[2].pods[0].spec.containers[0].image, "busybox:1.35");
  EXPECT_EQ(updates[2].pods[0].metadata.name, "web-node1");
}

TEST(FileSource, DeletedFileRemovesPod) {
  TempDir dir;
  ASSERT_TRUE(WriteFile(dir.Join("a.yaml"), PodYaml("a")).ok());
  ASSERT_TRUE(WriteFile(dir.Join("b.yaml"), PodYaml("b")).ok());
  Harness h(dir.path());
  ASSERT_TRUE(h.loop.RunUntil([&] { return h.HasPods(2); }));
  ASSERT_EQ(::unlink(dir.Join("a.yaml").c_str()), 0);
  ASSERT_TRUE(h.loop.RunUntil([&] { return h.HasPods(1); }));
  EXPECT_EQ(h.Names(), (std::set<std::string>{"b-node1"}));
}

TEST(FileSource, FileTurningInvalidKeepsLastGoodPodAndLogsFileLineField) {
  TempDir dir;
  ASSERT_TRUE(WriteFile(dir.Join("web.yaml"), PodYaml("web")).ok());
  Harness h(dir.path());
  ASSERT_TRUE(h.loop.RunUntil([&] { return h.HasPods(1); }));
  std::string uid = h.Last()[0].metadata.uid;
  size_t reports = h.sets.size();
  uint64_t parsed = h.source->stats().files_parsed;

  StderrCapture cap;
  ASSERT_TRUE(WriteFile(dir.Join("web.yaml"), InvalidPodYaml("web")).ok());
  ASSERT_TRUE(h.loop.RunUntil([&] { return h.source->stats().files_parsed > parsed; }));
  h.loop.RunFor(20ms);
  cap.Restore();
  EXPECT_EQ(h.sets.size(), reports) << "an invalid file must not change the set";
  ASSERT_EQ(h.source->Pods().size(), 1u);
  EXPECT_EQ(h.source->Pods()[0].metadata.uid, uid);
  const std::string& log = cap.Final();
  EXPECT_NE(log.find("invalid manifest"), std::string::npos) << log;
  EXPECT_NE(log.find(dir.Join("web.yaml") + ":"), std::string::npos) << log;
  EXPECT_NE(log.find("spec.containers[0].image"), std::string::npos) << log;

  // Fixing the file brings a new pod (new content, new UID).
  ASSERT_TRUE(WriteFile(dir.Join("web.yaml"), PodYaml("web", "busybox:1.35")).ok());
  ASSERT_TRUE(h.loop.RunUntil([&] { return h.sets.size() > reports; }));
  ASSERT_EQ(h.Last().size(), 1u);
  EXPECT_NE(h.Last()[0].metadata.uid, uid);
}

TEST(FileSource, BrokenFileNextToGoodOnesHarmsNone) {
  TempDir dir;
  ASSERT_TRUE(WriteFile(dir.Join("a.yaml"), PodYaml("a")).ok());
  ASSERT_TRUE(WriteFile(dir.Join("b.yaml"), "kind: Pod\nmetadata: [unclosed\n  :::\n").ok());
  ASSERT_TRUE(WriteFile(dir.Join("c.json"),
                        R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"c"},)"
                        R"("spec":{"containers":[{"name":"app","image":"busybox"}]}})")
                  .ok());
  ASSERT_TRUE(WriteFile(dir.Join("d.yaml"), InvalidPodYaml("d")).ok());
  StderrCapture cap;
  Harness h(dir.path());
  h.WaitInitial();
  cap.Restore();
  EXPECT_EQ(h.Names(), (std::set<std::string>{"a-node1", "c-node1"}));
  EXPECT_NE(cap.Final().find(dir.Join("b.yaml")), std::string::npos);
  EXPECT_NE(cap.Final().find(dir.Join("d.yaml")), std::string::npos);
}

TEST(FileSource, DotfilesAndTemporariesAreIgnored) {
  TempDir dir;
  ASSERT_TRUE(WriteFile(dir.Join(".hidden.yaml"), PodYaml("hidden")).ok());
  ASSERT_TRUE(WriteFile(dir.Join("web.yaml~"), PodYaml("backup")).ok());
  ASSERT_TRUE(WriteFile(dir.Join("web.yaml.swp"), PodYaml("swap")).ok());
  ASSERT_TRUE(WriteFile(dir.Join("web.yaml.tmp123456"), PodYaml("atomic")).ok());
  ASSERT_TRUE(MkdirAll(dir.Join("sub")).ok());
  ASSERT_TRUE(WriteFile(dir.Join("sub/nested.yaml"), PodYaml("nested")).ok());
  ASSERT_TRUE(WriteFile(dir.Join("real"), PodYaml("real")).ok());  // no extension: still a manifest
  Harness h(dir.path());
  h.WaitInitial();
  EXPECT_EQ(h.Names(), (std::set<std::string>{"real-node1"}));
  // Events for ignored names do not trigger anything either.
  ASSERT_TRUE(WriteFile(dir.Join(".other.yaml"), PodYaml("other")).ok());
  h.loop.RunFor(30ms);
  EXPECT_EQ(h.sets.size(), 1u);
}

TEST(FileSource, MultiDocumentFileGivesTwoPods) {
  TempDir dir;
  ASSERT_TRUE(WriteFile(dir.Join("pods.yaml"), PodYaml("one") + "---\n" + PodYaml("two")).ok());
  Harness h(dir.path());
  ASSERT_TRUE(h.loop.RunUntil([&] { return h.HasPods(2); }));
  EXPECT_EQ(h.Last()[0].metadata.name, "one-node1");
  EXPECT_EQ(h.Last()[1].metadata.name, "two-node1");
  EXPECT_NE(h.Last()[0].metadata.uid, h.Last()[1].metadata.uid);
}

TEST(FileSource, ConfigMapsAndSecretsAreKeptWorkloadsIgnored) {
  TempDir dir;
  ASSERT_TRUE(
      WriteFile(dir.Join("all.yaml"),
                PodYaml("web") +
                    "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  k: v\n"
                    "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: sec\n"
                    "stringData:\n  password: hunter2\n"
                    "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: dep\n"
                    "spec:\n  selector:\n    matchLabels: {app: x}\n  template:\n    metadata:\n"
                    "      labels: {app: x}\n    spec:\n      containers:\n      - name: c\n"
                    "        image: busybox\n")
          .ok());
  Harness h(dir.path());
  ASSERT_TRUE(h.loop.RunUntil([&] { return h.HasPods(1); }));
  auto cms = h.source->ConfigMaps();
  ASSERT_EQ(cms.size(), 1u);
  EXPECT_EQ(cms[0].metadata.name, "cfg");
  EXPECT_EQ(cms[0].metadata.namespace_, "default");
  EXPECT_EQ(cms[0].data.at("k"), "v");
  auto secrets = h.source->Secrets();
  ASSERT_EQ(secrets.size(), 1u);
  EXPECT_EQ(secrets[0].metadata.name, "sec");
}

TEST(FileSource, DirectoryThatAppearsLaterIsWatched) {
  TempDir dir;
  std::string manifests = dir.Join("manifests");
  Harness h(manifests);
  h.WaitInitial();
  EXPECT_TRUE(h.Last().empty());
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(MkdirAll(manifests).ok());
  ASSERT_TRUE(WriteFile(manifests + "/web.yaml", PodYaml("web")).ok());
  ASSERT_TRUE(h.loop.RunUntil([&] { return h.HasPods(1); }));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 500ms);
  // Later files are picked up through the directory's own watch.
  ASSERT_TRUE(WriteFile(manifests + "/db.yaml", PodYaml("db")).ok());
  ASSERT_TRUE(h.loop.RunUntil([&] { return h.HasPods(2); }));
  // The directory going away removes its pods, as upstream (empty set); coming back restores them.
  ASSERT_TRUE(RemoveAll(manifests).ok());
  ASSERT_TRUE(h.loop.RunUntil([&] { return h.HasPods(0); }));
  ASSERT_TRUE(MkdirAll(manifests).ok());
  WriteViaRename(manifests, "web.yaml", PodYaml("web"));
  ASSERT_TRUE(h.loop.RunUntil([&] { return h.HasPods(1); }));
}

TEST(FileSource, PeriodicCheckFindsDirectoryWhoseParentIsMissing) {
  TempDir dir;
  std::string manifests = dir.Join("a/b/manifests");
  Harness h(manifests, "node1", 30ms);
  h.WaitInitial();
  ASSERT_TRUE(MkdirAll(manifests).ok());
  ASSERT_TRUE(WriteFile(manifests + "/web.yaml", PodYaml("web")).ok());
  ASSERT_TRUE(h.loop.RunUntil([&] { return h.HasPods(1); }));
}

TEST(FileSource, TwoHundredFilesAtOnceAreReadOnceAndReportedTogether) {
  TempDir dir;
  Harness h(dir.path());
  h.WaitInitial();
  size_t before = h.sets.size();
  uint64_t parsed_before = h.source->stats().files_parsed;
  for (int i = 0; i < 200; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "pod%03d.yaml", i);
    ASSERT_TRUE(WriteFile(dir.Join(name), PodYaml("pod" + std::to_string(i))).ok());
  }
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(h.loop.RunUntil([&] { return h.HasPods(200); }));
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  start);
  std::printf("[ burst    ] 200 files -> %zu callback(s), %llu parses, %lld ms\n",
              h.sets.size() - before,
              static_cast<unsigned long long>(h.source->stats().files_parsed - parsed_before),
              static_cast<long long>(ms.count()));
  EXPECT_LE(h.sets.size() - before, 3u);
  EXPECT_EQ(h.source->stats().files_parsed - parsed_before, 200u);
  // Periodic checks afterwards re-read nothing (stamps unchanged).
  h.source.reset();
  FileSource::Options o{dir.path(), "node1", 20ms};
  std::vector<std::vector<api::Pod>> sets;
  FileSource again(h.loop.get(), o,
                   [&](const std::string&, std::vector<api::Pod> p) { sets.push_back(p); });
  ASSERT_TRUE(again.Start().ok());
  ASSERT_TRUE(h.loop.RunUntil([&] { return again.stats().full_scans >= 3; }));
  EXPECT_EQ(again.stats().files_parsed, 200u);
  EXPECT_EQ(again.stats().files_read, 200u);
  EXPECT_EQ(sets.size(), 1u);
}

TEST(FileSource, SingleFilePath) {
  TempDir dir;
  std::string file = dir.Join("web.yaml");
  ASSERT_TRUE(WriteFile(file, PodYaml("web")).ok());
  ASSERT_TRUE(WriteFile(dir.Join("other.yaml"), PodYaml("other")).ok());  // not the configured file
  Harness h(file);
  ASSERT_TRUE(h.loop.RunUntil([&] { return h.HasPods(1); }));
  EXPECT_EQ(h.Last()[0].metadata.name, "web-node1");
  std::string uid = h.Last()[0].metadata.uid;
  WriteViaRename(dir.path(), "web.yaml", PodYaml("web", "busybox:1.35"));
  ASSERT_TRUE(h.loop.RunUntil([&] { return h.HasPods(1) && h.Last()[0].metadata.uid != uid; }));
  ASSERT_EQ(::unlink(file.c_str()), 0);
  ASSERT_TRUE(h.loop.RunUntil([&] { return h.HasPods(0); }));
}

TEST(FileSource, TouchWithoutChangeIsNotReported) {
  TempDir dir;
  ASSERT_TRUE(WriteFile(dir.Join("web.yaml"), PodYaml("web")).ok());
  Harness h(dir.path());
  ASSERT_TRUE(h.loop.RunUntil([&] { return h.HasPods(1); }));
  ASSERT_TRUE(WriteFile(dir.Join("web.yaml"), PodYaml("web")).ok());  // same bytes
  ASSERT_EQ(::chmod(dir.Join("web.yaml").c_str(), 0600), 0);
  h.loop.RunFor(30ms);
  EXPECT_EQ(h.sets.size(), 1u);
  EXPECT_EQ(h.source->stats().files_parsed, 1u);
}

TEST(FileSource, FileBeingWrittenIsReadAfterItsClose) {
  TempDir dir;
  std::string file = dir.Join("web.yaml");
  ASSERT_TRUE(WriteFile(file, PodYaml("web")).ok());
  Harness h(dir.path());
  ASSERT_TRUE(h.loop.RunUntil([&] { return h.HasPods(1); }));
  std::string uid = h.Last()[0].metadata.uid;
  // An editor rewriting in place: truncate, (the loop runs), write the rest, close.
  int fd = ::open(file.c_str(), O_WRONLY | O_TRUNC);
  ASSERT_GE(fd, 0);
  std::string content = PodYaml("web", "busybox:1.35");
  ASSERT_EQ(::write(fd, content.data(), 20), 20);
  h.loop.RunFor(30ms);
  EXPECT_EQ(h.sets.size(), 1u) << "a half-written file must not be reported";
  ASSERT_EQ(::write(fd, content.data() + 20, content.size() - 20),
            static_cast<ssize_t>(content.size() - 20));
  auto start = std::chrono::steady_clock::now();
  ::close(fd);
  ASSERT_TRUE(h.loop.RunUntil([&] { return h.sets.size() == 2; }));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 50ms);
  ASSERT_EQ(h.Last().size(), 1u);
  EXPECT_NE(h.Last()[0].metadata.uid, uid);
  EXPECT_EQ(h.Last()[0].spec.containers[0].image, "busybox:1.35");
}

TEST(FileSource, SamePodNameInTwoFilesFirstFileWins) {
  TempDir dir;
  ASSERT_TRUE(WriteFile(dir.Join("a.yaml"), PodYaml("web", "busybox:1")).ok());
  ASSERT_TRUE(WriteFile(dir.Join("b.yaml"), PodYaml("web", "busybox:2")).ok());
  std::vector<PodUpdate> updates;
  PodConfig config([&](const PodUpdate& u) { updates.push_back(u); });
  Loop loop;
  StderrCapture cap;
  FileSource src(loop.get(), {dir.path(), "node1"}, config.Channel(kSourceFile));
  ASSERT_TRUE(src.Start().ok());
  ASSERT_TRUE(loop.RunUntil([&] { return !updates.empty(); }));
  cap.Restore();
  ASSERT_EQ(updates[0].pods.size(), 1u);
  EXPECT_EQ(updates[0].pods[0].spec.containers[0].image, "busybox:1");
  EXPECT_NE(cap.Final().find("duplicate pod name"), std::string::npos);
  // When a.yaml goes, b.yaml's pod takes the name.
  ASSERT_EQ(::unlink(dir.Join("a.yaml").c_str()), 0);
  ASSERT_TRUE(loop.RunUntil([&] { return updates.size() == 3; }));
  EXPECT_EQ(updates[1].op, PodOp::kRemove);
  EXPECT_EQ(updates[2].op, PodOp::kAdd);
  EXPECT_EQ(updates[2].pods[0].spec.containers[0].image, "busybox:2");
}

TEST(FileSource, StopEndsCallbacks) {
  TempDir dir;
  Harness h(dir.path());
  h.WaitInitial();
  h.source->Stop();
  ASSERT_TRUE(WriteFile(dir.Join("web.yaml"), PodYaml("web")).ok());
  h.loop.RunFor(30ms);
  EXPECT_EQ(h.sets.size(), 1u);
}

}  // namespace
}  // namespace nanolet::config
