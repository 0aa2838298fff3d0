#include "config/static_pod.h"

#include <gtest/gtest.h>

#include "config/pod_source.h"
#include "test_util.h"

namespace nanolet::config {
namespace {

using testing::InvalidPodYaml;
using testing::PodYaml;

ManifestOrigin FileOrigin(std::string path = "/etc/manifests/web.yaml",
                          std::string node = "node1") {
  return {kSourceFile, std::move(path), std::move(node)};
}

TEST(StaticPodName, AppendsLowercasedNodeName) {
  EXPECT_EQ(StaticPodName("web", "node1"), "web-node1");
  EXPECT_EQ(StaticPodName("web", "Node-A.Example"), "web-node-a.example");
}

TEST(LoadManifest, UidIsStableAcrossFormattingButNotContentPathOrNode) {
  std::string a = PodYaml("web");
  std::string reformatted = "# a comment\n" + a + "\n\n";
  auto base = LoadManifest(a, FileOrigin());
  ASSERT_TRUE(base.ok());
  ASSERT_EQ(base.pods.size(), 1u);
  std::string uid = base.pods[0].metadata.uid;

  auto same = LoadManifest(reformatted, FileOrigin());
  ASSERT_EQ(same.pods.size(), 1u);
  EXPECT_EQ(same.pods[0].metadata.uid, uid);

  EXPECT_NE(LoadManifest(PodYaml("web", "busybox:1.35"), FileOrigin()).pods.at(0).metadata.uid,
            uid);
  EXPECT_NE(LoadManifest(a, FileOrigin("/etc/manifests/other.yaml")).pods.at(0).metadata.uid, uid);
  EXPECT_NE(LoadManifest(a, FileOrigin("/etc/manifests/web.yaml", "node2")).pods.at(0).metadata.uid,
            uid);
  EXPECT_NE(LoadManifest(a, ManifestOrigin{kSourceHttp, "/etc/manifests/web.yaml", "node1"})
                .pods.at(0)
                .metadata.uid,
            uid);
}

TEST(LoadManifest, ExplicitUidIsKept) {
  auto c = LoadManifest(PodYaml("web", "busybox", "  uid: 1234-abcd\n"), FileOrigin());
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(c.pods.size(), 1u);
  EXPECT_EQ(c.pods[0].metadata.uid, "1234-abcd");
  EXPECT_EQ(c.pods[0].metadata.annotations.at(kConfigHashAnnotation), "1234-abcd");
}

TEST(LoadManifest, NamespaceKeptWhenGiven) {
  auto c = LoadManifest(PodYaml("web", "busybox", "  namespace: kube-system\n"), FileOrigin());
  ASSERT_EQ(c.pods.size(), 1u);
  EXPECT_EQ(c.pods[0].metadata.namespace_, "kube-system");
}

TEST(LoadManifest, HttpPodsGetNoToleration) {
  auto c = LoadManifest(PodYaml("web"), ManifestOrigin{kSourceHttp, "http://x/pods", "node1"});
  ASSERT_EQ(c.pods.size(), 1u);
  EXPECT_TRUE(c.pods[0].spec.tolerations.empty());
  EXPECT_EQ(c.pods[0].metadata.annotations.at(kConfigSourceAnnotation), "http");
}

TEST(LoadManifest, ExistingMatchingTolerationIsNotDuplicated) {
  std::string y = PodYaml("web") + "  tolerations:\n  - operator: Exists\n    effect: NoExecute\n";
  auto c = LoadManifest(y, FileOrigin());
  ASSERT_TRUE(c.ok()) << (c.errors.empty() ? "" : c.errors[0].ToString());
  ASSERT_EQ(c.pods.size(), 1u);
  EXPECT_EQ(c.pods[0].spec.tolerations.size(), 1u);
}

TEST(LoadManifest, PodWithoutNameIsAnError) {
  std::string y =
      "apiVersion: v1\nkind: Pod\nmetadata: {}\nspec:\n  containers:\n  - name: a\n    image: b\n";
  auto c = LoadManifest(y, FileOrigin());
  EXPECT_FALSE(c.ok());
  EXPECT_TRUE(c.pods.empty());
  ASSERT_FALSE(c.errors.empty());
  EXPECT_EQ(c.errors[0].field, "metadata.name");
}

TEST(LoadManifest, ValidationErrorsNameFileLineAndField) {
  auto c = LoadManifest(InvalidPodYaml("web"), FileOrigin());
  EXPECT_FALSE(c.ok());
  EXPECT_TRUE(c.pods.empty());
  bool found = false;
  for (const auto& d : c.errors) {
    if (d.field == "spec.containers[0].image") {
      found = true;
      EXPECT_EQ(d.file, "/etc/manifests/web.yaml");
      EXPECT_GT(d.line, 0);
    }
  }
  EXPECT_TRUE(found);
}

TEST(LoadManifest, ListItemsWithKind) {
  std::string json = R"({"apiVersion":"v1","kind":"List","items":[
    {"apiVersion":"v1","kind":"Pod","metadata":{"name":"a"},"spec":{"containers":[{"name":"c","image":"busybox"}]}},
    {"apiVersion":"v1","kind":"Pod","metadata":{"name":"b"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}]})";
  auto c = LoadManifest(json, FileOrigin());
  ASSERT_TRUE(c.ok()) << (c.errors.empty() ? "" : c.errors[0].ToString());
  ASSERT_EQ(c.pods.size(), 2u);
  EXPECT_EQ(c.pods[0].metadata.name, "a-node1");
  EXPECT_EQ(c.pods[1].metadata.name, "b-node1");
}

// A PodList as the apiserver serves it: items carry no apiVersion/kind (they are implied by the
// list type): they take the list's element kind and version.
TEST(LoadManifest, PodListItemsWithoutKind) {
  std::string json = R"({"apiVersion":"v1","kind":"PodList","items":[
    {"metadata":{"name":"a"},"spec":{"containers":[{"name":"c","image":"busybox"}]}},
    {"metadata":{"name":"b"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}]})";
  auto c = LoadManifest(json, FileOrigin());
  ASSERT_TRUE(c.ok()) << (c.errors.empty() ? "" : c.errors[0].ToString());
  ASSERT_EQ(c.pods.size(), 2u);
  EXPECT_EQ(c.pods[0].metadata.name, "a-node1");
  EXPECT_EQ(c.pods[1].metadata.name, "b-node1");
}

// A v1 List says nothing about its items' kind: an item without one is still an error, and a PodList
// item that names another kind is decoded as what it names.
TEST(LoadManifest, UntypedListItemsStillNeedKind) {
  std::string json = R"({"apiVersion":"v1","kind":"List","items":[
    {"metadata":{"name":"a"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}]})";
  auto c = LoadManifest(json, FileOrigin());
  EXPECT_FALSE(c.ok());
  EXPECT_TRUE(c.pods.empty());
  std::string typed = R"({"apiVersion":"v1","kind":"PodList","items":[
    {"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm"}},
    {"metadata":{"name":"b"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}]})";
  auto t = LoadManifest(typed, FileOrigin());
  ASSERT_EQ(t.pods.size(), 1u);
  EXPECT_EQ(t.pods[0].metadata.name, "b-node1");
}

TEST(StampSeen, CarriesOverByUidElseNow) {
  api::Pod old;
  old.metadata.uid = "u1";
  old.metadata.annotations[kConfigSeenAnnotation] = "2020-01-01T00:00:00Z";
  std::vector<api::Pod> pods(2);
  pods[0].metadata.uid = "u1";
  pods[1].metadata.uid = "u2";
  StampSeen(pods, {old},
            TimePoint(std::chrono::seconds(1700000000)) + std::chrono::milliseconds(120));
  EXPECT_EQ(pods[0].metadata.annotations.at(kConfigSeenAnnotation), "2020-01-01T00:00:00Z");
  // Go's RFC3339Nano trims trailing zeros.
  EXPECT_EQ(pods[1].metadata.annotations.at(kConfigSeenAnnotation), "2023-11-14T22:13:20.12Z");
}

TEST(FormatSeenTime, WholeSecondsHaveNoFraction) {
  EXPECT_EQ(FormatSeenTime(TimePoint(std::chrono::seconds(1700000000))), "2023-11-14T22:13:20Z");
}

}  // namespace
}  // namespace nanolet::config
