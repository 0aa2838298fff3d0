// `--config FILE`: the KubeletConfiguration fields nanolet reads, the ones it ignores, bad values.
#include "config/kubelet_configuration.h"

#include <gtest/gtest.h>

#include "test_util.h"
#include "util/fs.h"

namespace nanolet::config {
namespace {

using testing::TempDir;

Result<KubeletConfiguration> Load(const TempDir& dir, const std::string& yaml) {
  EXPECT_TRUE(WriteFile(dir.Join("kubelet.yaml"), yaml).ok());
  return LoadKubeletConfiguration(dir.Join("kubelet.yaml"));
}

TEST(KubeletConfiguration, FieldsReadAndOthersIgnored) {
  TempDir dir;
  auto c = Load(dir,
                "apiVersion: kubelet.config.k8s.io/v1beta1\n"
                "kind: KubeletConfiguration\n"
                "nodeStatusUpdateFrequency: 2s\n"
                "nodeLeaseDurationSeconds: 8\n"
                "maxPods: 42\n"
                "clusterDomain: cluster.local\n");
  ASSERT_TRUE(c.ok()) << c.error().message();
  ASSERT_TRUE(c->node_status_update_frequency.has_value());
  EXPECT_EQ(*c->node_status_update_frequency, std::chrono::seconds(2));
  ASSERT_TRUE(c->node_lease_duration_seconds.has_value());
  EXPECT_EQ(*c->node_lease_duration_seconds, 8);
  EXPECT_EQ(c->max_pods, 42);
  EXPECT_EQ(c->ignored_fields, std::vector<std::string>{"clusterDomain"});
  EXPECT_FALSE(c->sync_frequency.has_value());
}

TEST(KubeletConfiguration, NodeLeaseDurationMustBePositive) {
  TempDir dir;
  for (const char* v : {"0", "-40"}) {
    auto c = Load(dir, std::string("kind: KubeletConfiguration\nnodeLeaseDurationSeconds: ") + v + "\n");
    ASSERT_FALSE(c.ok()) << v;
    EXPECT_NE(c.error().message().find("nodeLeaseDurationSeconds: must be greater than 0"), std::string::npos)
        << c.error().message();
  }
  auto garbled = Load(dir, "kind: KubeletConfiguration\nnodeLeaseDurationSeconds: soon\n");
  EXPECT_FALSE(garbled.ok());
}

TEST(KubeletConfiguration, WrongKindRefused) {
  TempDir dir;
  auto c = Load(dir, "apiVersion: v1\nkind: Pod\n");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message().find("expected KubeletConfiguration"), std::string::npos) << c.error().message();
}

}  // namespace
}  // namespace nanolet::config
