#include "config/pod_config.h"

#include <gtest/gtest.h>

#include "config/static_pod.h"
#include "util/clock.h"

namespace nanolet::config {
namespace {

api::Pod MakePod(const std::string& uid, const std::string& name,
                 const std::string& image = "busybox", const std::string& ns = "default") {
  api::Pod p;
  p.metadata.uid = uid;
  p.metadata.name = name;
  p.metadata.namespace_ = ns;
  api::Container c;
  c.name = "app";
  c.image = image;
  p.spec.containers.push_back(c);
  return p;
}

struct Recorder {
  FakeClock clock;
  std::vector<PodUpdate> updates;
  PodConfig config{[this](const PodUpdate& u) { updates.push_back(u); }, &clock};

  std::vector<PodOp> Ops() const {
    std::vector<PodOp> ops;
    for (const auto& u : updates) ops.push_back(u.op);
    return ops;
  }
  std::vector<std::string> Uids(size_t i) const {
    std::vector<std::string> out;
    for (const auto& p : updates.at(i).pods) out.push_back(p.metadata.uid);
    return out;
  }
};

TEST(PodConfig, FirstEmptySetSignalsReadiness) {
  Recorder r;
  r.config.RegisterSource(kSourceFile);
  r.config.RegisterSource(kSourceHttp);
  EXPECT_FALSE(r.config.AllSourcesReady());
  auto cb = r.config.Callback();
  cb(kSourceFile, {});
  ASSERT_EQ(r.updates.size(), 1u);
  EXPECT_EQ(r.updates[0].op, PodOp::kAdd);
  EXPECT_TRUE(r.updates[0].pods.empty());
  EXPECT_EQ(r.updates[0].source, kSourceFile);
  EXPECT_TRUE(r.config.Seen(kSourceFile));
  EXPECT_FALSE(r.config.AllSourcesReady());
  cb(kSourceFile, {});
  EXPECT_EQ(r.updates.size(), 1u) << "later empty sets are no-ops";
  cb(kSourceHttp, {});
  EXPECT_TRUE(r.config.AllSourcesReady());
}

TEST(PodConfig, AddsThenNoOpThenRemove) {
  Recorder r;
  r.config.Merge(kSourceFile, {MakePod("u1", "a"), MakePod("u2", "b")});
  ASSERT_EQ(r.Ops(), (std::vector<PodOp>{PodOp::kAdd}));
  EXPECT_EQ(r.Uids(0), (std::vector<std::string>{"u1", "u2"}));
  EXPECT_EQ(r.updates[0].pods[0].metadata.annotations.at(kConfigSourceAnnotation), "file");
  EXPECT_EQ(r.updates[0].pods[0].metadata.annotations.count(kConfigSeenAnnotation), 1u);

  r.config.Merge(kSourceFile, {MakePod("u1", "a"), MakePod("u2", "b")});
  EXPECT_EQ(r.updates.size(), 1u);

  r.config.Merge(kSourceFile, {MakePod("u2", "b")});
  ASSERT_EQ(r.updates.size(), 2u);
  EXPECT_EQ(r.updates[1].op, PodOp::kRemove);
  EXPECT_EQ(r.Uids(1), (std::vector<std::string>{"u1"}));
}

TEST(PodConfig, ReplacedPodIsRemovedBeforeTheNewOneIsAdded) {
  Recorder r;
  r.config.Merge(kSourceFile, {MakePod("old", "web")});
  r.config.Merge(kSourceFile, {MakePod("new", "web")});
  ASSERT_EQ(r.Ops(), (std::vector<PodOp>{PodOp::kAdd, PodOp::kRemove, PodOp::kAdd}));
  EXPECT_EQ(r.Uids(1), (std::vector<std::string>{"old"}));
  EXPECT_EQ(r.Uids(2), (std::vector<std::string>{"new"}));
}

TEST(PodConfig, SpecLabelOrAnnotationChangeIsUpdateKeepingFirstSeen) {
  Recorder r;
  r.config.Merge(kSourceApi, {MakePod("u1", "a")});
  std::string seen = r.updates[0].pods[0].metadata.annotations.at(kConfigSeenAnnotation);
  r.clock.Advance(std::chrono::seconds(5));

  r.config.Merge(kSourceApi, {MakePod("u1", "a", "busybox:2")});
  ASSERT_EQ(r.updates.size(), 2u);
  EXPECT_EQ(r.updates[1].op, PodOp::kUpdate);
  EXPECT_EQ(r.updates[1].pods[0].spec.containers[0].image, "busybox:2");
  EXPECT_EQ(r.updates[1].pods[0].metadata.annotations.at(kConfigSeenAnnotation), seen);

  api::Pod labelled = MakePod("u1", "a", "busybox:2");
  labelled.metadata.labels["tier"] = "web";
  r.config.Merge(kSourceApi, {labelled});
  ASSERT_EQ(r.updates.size(), 3u);
  EXPECT_EQ(r.updates[2].op, PodOp::kUpdate);

  api::Pod annotated = labelled;
  annotated.metadata.annotations["team"] = "x";
  r.config.Merge(kSourceApi, {annotated});
  ASSERT_EQ(r.updates.size(), 4u);
  EXPECT_EQ(r.updates[3].op, PodOp::kUpdate);
  EXPECT_EQ(r.updates[3].pods[0].metadata.annotations.at("team"), "x");
  EXPECT_EQ(r.updates[3].pods[0].metadata.annotations.at(kConfigSeenAnnotation), seen);
}

TEST(PodConfig, LocalAnnotationsDoNotMakeAnUpdate) {
  Recorder r;
  r.config.Merge(kSourceFile, {MakePod("u1", "a")});
  api::Pod p = MakePod("u1", "a");
  p.metadata.annotations[kConfigSeenAnnotation] = "2001-01-01T00:00:00Z";
  p.metadata.annotations[kConfigMirrorAnnotation] = "x";
  r.config.Merge(kSourceFile, {p});
  EXPECT_EQ(r.updates.size(), 1u);
}

TEST(PodConfig, StatusOnlyChangeIsReconcile) {
  Recorder r;
  r.config.Merge(kSourceApi, {MakePod("u1", "a")});
  api::Pod p = MakePod("u1", "a");
  p.status.phase = "Running";
  r.config.Merge(kSourceApi, {p});
  ASSERT_EQ(r.updates.size(), 2u);
  EXPECT_EQ(r.updates[1].op, PodOp::kReconcile);
  EXPECT_EQ(r.updates[1].pods[0].status.phase, "Running");
}

TEST(PodConfig, DeletionTimestampIsDelete) {
  Recorder r;
  r.config.Merge(kSourceApi, {MakePod("u1", "a")});
  api::Pod p = MakePod("u1", "a");
  p.metadata.deletion_timestamp = "2026-11-27T18:00:00Z";
  p.metadata.deletion_grace_period_seconds = 30;
  r.config.Merge(kSourceApi, {p});
  ASSERT_EQ(r.updates.size(), 2u);
  EXPECT_EQ(r.updates[1].op, PodOp::kDelete);
  EXPECT_EQ(r.updates[1].pods[0].metadata.deletion_timestamp, "2026-11-27T18:00:00Z");
  ASSERT_TRUE(r.updates[1].pods[0].metadata.deletion_grace_period_seconds.has_value());
  // The pod then leaving the apiserver is a REMOVE.
  r.config.Merge(kSourceApi, {});
  ASSERT_EQ(r.updates.size(), 3u);
  EXPECT_EQ(r.updates[2].op, PodOp::kRemove);
}

TEST(PodConfig, OpsComeInUpstreamOrder) {
  Recorder r;
  api::Pod status_only = MakePod("s", "s");
  r.config.Merge(kSourceApi,
                 {MakePod("gone", "g"), MakePod("upd", "u"), MakePod("del", "d"), status_only});
  r.updates.clear();
  api::Pod del = MakePod("del", "d");
  del.metadata.deletion_timestamp = "2026-11-27T18:00:00Z";
  status_only.status.phase = "Running";
  r.config.Merge(kSourceApi,
                 {status_only, del, MakePod("upd", "u", "busybox:9"), MakePod("new", "n")});
  EXPECT_EQ(r.Ops(), (std::vector<PodOp>{PodOp::kRemove, PodOp::kAdd, PodOp::kUpdate,
                                         PodOp::kDelete, PodOp::kReconcile}));
}

TEST(PodConfig, DuplicateFullNameKeepsTheFirst) {
  Recorder r;
  r.config.Merge(kSourceFile, {MakePod("u1", "web-node1"), MakePod("u2", "web-node1"),
                               MakePod("u3", "web-node1", "busybox", "other")});
  ASSERT_EQ(r.updates.size(), 1u);
  EXPECT_EQ(r.Uids(0), (std::vector<std::string>{"u1", "u3"}));
  // Once the first goes, the second is admitted.
  r.config.Merge(kSourceFile,
                 {MakePod("u2", "web-node1"), MakePod("u3", "web-node1", "busybox", "other")});
  EXPECT_EQ(r.Ops(), (std::vector<PodOp>{PodOp::kAdd, PodOp::kRemove, PodOp::kAdd}));
  EXPECT_EQ(r.Uids(2), (std::vector<std::string>{"u2"}));
}

TEST(PodConfig, SourcesAreIndependent) {
  Recorder r;
  r.config.Merge(kSourceFile, {MakePod("f1", "a")});
  r.config.Merge(kSourceHttp, {MakePod("h1", "b")});
  r.config.Merge(kSourceHttp, {});
  ASSERT_EQ(r.updates.size(), 3u);
  EXPECT_EQ(r.updates[2].op, PodOp::kRemove);
  EXPECT_EQ(r.updates[2].source, kSourceHttp);
  auto merged = r.config.MergedState();
  ASSERT_EQ(merged.size(), 1u);
  EXPECT_EQ(merged[0].metadata.uid, "f1");
}

}  // namespace
}  // namespace nanolet::config
