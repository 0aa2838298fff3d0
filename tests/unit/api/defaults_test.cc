// Defaulting as upstream pkg/apis/core/v1/defaults.go.
#include "api/defaults.h"

#include <gtest/gtest.h>

namespace nanolet::api {
namespace {

struct PullPolicyCase {
  const char* image;
  const char* policy;
};

class DefaultPullPolicyTest : public ::testing::TestWithParam<PullPolicyCase> {};

TEST_P(DefaultPullPolicyTest, FollowsTheTag) {
  EXPECT_EQ(DefaultPullPolicy(GetParam().image), GetParam().policy) << GetParam().image;
}

INSTANTIATE_TEST_SUITE_P(
    Upstream, DefaultPullPolicyTest,
    ::testing::Values(PullPolicyCase{"busybox", "Always"},
                      PullPolicyCase{"busybox:latest", "Always"},
                      PullPolicyCase{"busybox:1.35", "IfNotPresent"},
                      PullPolicyCase{"docker.io/library/busybox", "Always"},
                      PullPolicyCase{"localhost:5000/busybox", "Always"},
                      PullPolicyCase{"localhost:5000/busybox:latest", "Always"},
                      PullPolicyCase{"localhost:5000/busybox:1.35", "IfNotPresent"},
                      PullPolicyCase{"nanolet.local/busybox:1.35", "IfNotPresent"},
                      PullPolicyCase{
                          "busybox@sha256:"
                          "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                          "IfNotPresent"},
                      PullPolicyCase{"localhost:5000/busybox@sha256:abc", "IfNotPresent"},
                      PullPolicyCase{"busybox:latest@sha256:abc", "Always"},
                      PullPolicyCase{"busybox:1.35@sha256:abc", "IfNotPresent"}));

TEST(SetDefaults, PodTable) {
  Pod pod;
  pod.metadata.name = "p";
  Container c;
  c.name = "c";
  c.image = "busybox";
  c.ports.push_back(ContainerPort{.container_port = 80});
  c.liveness_probe.emplace();
  c.liveness_probe->handler.http_get.emplace();
  c.resources.limits["cpu"] = *Quantity::Parse("1");
  pod.spec.containers.push_back(c);
  Volume v;
  v.name = "v";
  pod.spec.volumes.push_back(v);
  Volume s;
  s.name = "s";
  s.secret.emplace();
  pod.spec.volumes.push_back(s);
  SetDefaults(pod);

  EXPECT_EQ(pod.metadata.namespace_, "default");
  EXPECT_EQ(pod.spec.restart_policy, "Always");
  EXPECT_EQ(pod.spec.termination_grace_period_seconds, 30);
  EXPECT_EQ(pod.spec.dns_policy, "ClusterFirst");
  EXPECT_EQ(pod.spec.scheduler_name, "default-scheduler");
  EXPECT_TRUE(pod.spec.security_context.has_value());
  EXPECT_EQ(pod.spec.enable_service_links, true);
  const Container& d = pod.spec.containers[0];
  EXPECT_EQ(d.image_pull_policy, "Always");
  EXPECT_EQ(d.termination_message_path, "/dev/termination-log");
  EXPECT_EQ(d.termination_message_policy, "File");
  EXPECT_EQ(d.ports[0].protocol, "TCP");
  EXPECT_EQ(d.ports[0].host_port, 0);
  EXPECT_EQ(d.liveness_probe->period_seconds, 10);
  EXPECT_EQ(d.liveness_probe->timeout_seconds, 1);
  EXPECT_EQ(d.liveness_probe->success_threshold, 1);
  EXPECT_EQ(d.liveness_probe->failure_threshold, 3);
  EXPECT_EQ(d.liveness_probe->handler.http_get->scheme, "HTTP");
  EXPECT_EQ(d.liveness_probe->handler.http_get->path, "/");
  EXPECT_EQ(d.resources.requests.at("cpu").String(), "1");
  EXPECT_TRUE(pod.spec.volumes[0].empty_dir.has_value());
  EXPECT_EQ(pod.spec.volumes[1].secret->default_mode, 0644);
}

TEST(SetDefaults, ExplicitValuesAreKept) {
  Pod pod;
  pod.metadata.namespace_ = "kube-system";
  pod.spec.restart_policy = "Never";
  pod.spec.termination_grace_period_seconds = 0;
  pod.spec.enable_service_links = false;
  Container c;
  c.image = "busybox";
  c.image_pull_policy = "Never";
  c.readiness_probe.emplace();
  c.readiness_probe->period_seconds = 3;
  pod.spec.containers.push_back(c);
  SetDefaults(pod);
  EXPECT_EQ(pod.metadata.namespace_, "kube-system");
  EXPECT_EQ(pod.spec.restart_policy, "Never");
  EXPECT_EQ(pod.spec.termination_grace_period_seconds, 0);
  EXPECT_EQ(pod.spec.enable_service_links, false);
  EXPECT_EQ(pod.spec.containers[0].image_pull_policy, "Never");
  EXPECT_EQ(pod.spec.containers[0].readiness_probe->period_seconds, 3);
}

TEST(SetDefaults, HostNetworkCopiesContainerPortToHostPort) {
  PodSpec spec;
  spec.host_network = true;
  Container c;
  c.ports.push_back(ContainerPort{.container_port = 8080});
  spec.containers.push_back(c);
  SetDefaults(spec);
  EXPECT_EQ(spec.containers[0].ports[0].host_port, 8080);
}

TEST(SetDefaults, JobTemplateRestartPolicyIsNotDefaulted) {
  Workload job;
  job.type_meta = {"batch/v1", "Job"};
  SetDefaults(job);
  EXPECT_EQ(job.template_.spec.restart_policy, "");
  EXPECT_EQ(job.template_.spec.dns_policy, "ClusterFirst");
  Workload deploy;
  deploy.type_meta = {"apps/v1", "Deployment"};
  SetDefaults(deploy);
  EXPECT_EQ(deploy.template_.spec.restart_policy, "Always");
  EXPECT_EQ(deploy.replicas, 1);
}

TEST(SetDefaults, SecretTypeOpaque) {
  Secret s;
  SetDefaults(s);
  EXPECT_EQ(s.type, "Opaque");
  EXPECT_EQ(s.metadata.namespace_, "default");
}

TEST(SetDefaults, VolumeSourcesAndFieldRefs) {
  PodSpec spec;
  Volume hp;
  hp.name = "h";
  hp.host_path.emplace();
  hp.host_path->path = "/x";
  spec.volumes.push_back(hp);
  Volume dw;
  dw.name = "d";
  dw.downward_api.emplace();
  dw.downward_api->items.push_back(
      {.path = "name", .field_ref = ObjectFieldSelector{"", "metadata.name"}});
  spec.volumes.push_back(dw);
  Volume other;
  other.name = "n";
  other.other_source = "nfs";
  spec.volumes.push_back(other);
  SetDefaults(spec);
  EXPECT_EQ(spec.volumes[0].host_path->type, "");
  EXPECT_EQ(spec.volumes[1].downward_api->default_mode, 0644);
  EXPECT_EQ(spec.volumes[1].downward_api->items[0].field_ref->api_version, "v1");
  EXPECT_FALSE(spec.volumes[2].empty_dir.has_value());
}

}  // namespace
}  // namespace nanolet::api
