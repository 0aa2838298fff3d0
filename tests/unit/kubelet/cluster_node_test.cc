// The apiserver side of the kubelet: the Node it registers, pod status writes (deduplicated,
// hostIPs one per family), the final delete with a UID precondition, mirror pods, and event
// aggregation, against a tiny in-process HTTP server playing the apiserver.
#include <gtest/gtest.h>
#include <httplib.h>

#include <mutex>

#include "config/pod_source.h"
#include "config/static_pod.h"
#include "kubelet/event_recorder.h"
#include "kubelet/node_status.h"
#include "kubelet/status_manager.h"
#include "fake_api.h"

namespace nanolet::kubelet {
namespace {

TEST(NodeStatus, BuildNode_UpstreamLabelsConditionsCapacity) {
  NodeStatusOptions o;
  o.node_name = "n1";
  o.extra_labels = {{"role", "edge"}};
  o.host_ips = {"192.0.2.7"};
  o.max_pods = 42;
  node::MachineInfo mi;
  mi.num_cores = 4;
  mi.memory_capacity = 8ULL << 30;
  mi.machine_id = "mid";
  api::Node n = BuildNode(o, mi, FakeClock().Now());
  EXPECT_EQ(n.metadata.labels["kubernetes.io/hostname"], "n1");
  EXPECT_EQ(n.metadata.labels["kubernetes.io/os"], "linux");
  EXPECT_EQ(n.metadata.labels["beta.kubernetes.io/os"], "linux");
  EXPECT_EQ(n.metadata.labels["role"], "edge");
  EXPECT_EQ(n.status.capacity["cpu"].String(), "4");
  EXPECT_EQ(n.status.capacity["memory"].String(), "8Gi");
  EXPECT_EQ(n.status.capacity["pods"].String(), "42");
  EXPECT_EQ(n.status.allocatable["memory"].String(),
            "8092Mi");  // less the 100Mi eviction threshold
  ASSERT_EQ(n.status.conditions.size(), 4u);
  EXPECT_EQ(n.status.conditions[3].type, "Ready");
  EXPECT_EQ(n.status.conditions[3].reason, "KubeletReady");
  EXPECT_EQ(n.status.conditions[3].message, "kubelet is posting ready status");
  EXPECT_EQ(n.status.addresses[0].type, "InternalIP");
  EXPECT_EQ(n.status.addresses[0].address, "192.0.2.7");
  EXPECT_EQ(n.status.kubelet_endpoint_port, 10250);
  EXPECT_EQ(n.status.node_info.machine_id, "mid");
  api::Node later = n;  // a heartbeat alone is no change (upstream nodeStatusHasChanged)
  for (auto& c : later.status.conditions) c.last_heartbeat_time = "2030-01-01T00:00:00Z";
  EXPECT_TRUE(NodeStatusEqual(n.status, later.status));
  later.status.conditions[3].status = "False";
  EXPECT_FALSE(NodeStatusEqual(n.status, later.status));
}

using testing::FakeApi;

api::Pod ApiPod(const std::string& phase) {
  api::Pod p;
  p.metadata.name = "web";
  p.metadata.namespace_ = "default";
  p.metadata.uid = "u1";
  p.metadata.annotations[config::kConfigSourceAnnotation] = config::kSourceApi;
  p.status.phase = phase;
  p.status.host_ip = "192.0.2.7";
  p.status.host_ips = {{"192.0.2.7"}, {"10.0.0.1"}};
  return p;
}

TEST(StatusManager, WritesOnlyChanges_OneHostIPPerFamily_FinalDeleteWithUID) {
  FakeApi api;
  auto ok = [&](const httplib::Request& req, httplib::Response& res) {
    api.Log(req);
    res.set_content("{}", "application/json");
  };
  api.srv.Patch("/api/v1/namespaces/default/pods/web/status", ok);
  api.srv.Delete("/api/v1/namespaces/default/pods/web", ok);
  auto client = api.Client();
  StatusManager::Options o;
  o.batch_delay = std::chrono::milliseconds(20);
  StatusManager sm(*client, o);
  sm.Start();
  sm.SetPodStatus(ApiPod("Pending"), false);
  sm.SetPodStatus(ApiPod("Running"), false);  // coalesced with the Pending one
  ASSERT_TRUE(api.WaitFor(1));
  sm.SetPodStatus(ApiPod("Running"), false);  // unchanged: no write
  api::Pod gone = ApiPod("Running");
  gone.metadata.deletion_timestamp = "2026-11-27T00:00:00Z";
  sm.PodRemoved(gone);
  ASSERT_TRUE(api.WaitFor(2));
  sm.Stop();
  std::lock_guard<std::mutex> l(api.mu);
  ASSERT_EQ(api.requests.size(), 2u);
  EXPECT_EQ(api.requests[0].method, "PATCH");
  const auto& patch = api.requests[0].body;
  EXPECT_EQ(patch["metadata"]["uid"], "u1");
  EXPECT_EQ(patch["status"]["phase"], "Running");
  EXPECT_EQ(patch["status"]["hostIPs"].size(), 1u);
  const auto& del = api.requests[1].body;
  EXPECT_EQ(api.requests[1].method, "DELETE");
  EXPECT_EQ(del["gracePeriodSeconds"], 0);
  EXPECT_EQ(del["preconditions"]["uid"], "u1");
}

TEST(StatusManager, StaticPod_MirrorCreatedWithNodeOwner_StatusToMirrorUID) {
  FakeApi api;
  api.srv.Post("/api/v1/namespaces/default/pods",
               [&](const httplib::Request& req, httplib::Response& res) {
                 api.Log(req);
                 auto j = nlohmann::json::parse(req.body);
                 j["metadata"]["uid"] = "mirror-uid";
                 res.set_content(j.dump(), "application/json");
               });
  api.srv.Patch("/api/v1/namespaces/default/pods/stat-n1/status",
                [&](const httplib::Request& req, httplib::Response& res) {
                  api.Log(req);
                  res.set_content("{}", "application/json");
                });
  auto client = api.Client();
  StatusManager::Options o;
  o.batch_delay = std::chrono::milliseconds(20);
  o.node_name = "n1";
  o.node_uid = [] { return std::string("node-uid"); };
  StatusManager sm(*client, o);
  sm.Start();
  api::Pod p;
  p.metadata.name = "stat-n1";
  p.metadata.namespace_ = "default";
  p.metadata.uid = "static-uid";
  p.metadata.annotations[config::kConfigSourceAnnotation] = config::kSourceFile;
  p.metadata.annotations[config::kConfigHashAnnotation] = "static-uid";
  p.status.phase = "Running";
  sm.SetPodStatus(p, false);
  ASSERT_TRUE(api.WaitFor(2));
  sm.Stop();
  std::lock_guard<std::mutex> l(api.mu);
  const auto& create = api.requests[0].body;
  EXPECT_EQ(create["metadata"]["annotations"]["kubernetes.io/config.mirror"], "static-uid");
  EXPECT_EQ(create["metadata"]["ownerReferences"][0]["kind"], "Node");
  EXPECT_EQ(create["metadata"]["ownerReferences"][0]["uid"], "node-uid");
  EXPECT_EQ(create["metadata"]["ownerReferences"][0]["controller"], true);
  EXPECT_FALSE(create["metadata"].contains("uid"));
  const auto& patch = api.requests[1].body;
  EXPECT_EQ(patch["metadata"]["uid"], "mirror-uid");
}

TEST(EventRecorder, SameEventAgain_PatchesCount) {
  FakeApi api;
  api.ServeEvents();
  auto client = api.Client();
  FakeClock clock;
  ApiEventRecorder rec(*client, "n1", clock);
  api::Pod p = ApiPod("Running");
  rec.Record(p, kEventNormal, "Pulled", "Container image already present");
  ASSERT_TRUE(api.WaitFor(1));
  rec.Record(p, kEventNormal, "Pulled", "Container image already present");
  ASSERT_TRUE(api.WaitFor(2));
  std::lock_guard<std::mutex> l(api.mu);
  EXPECT_EQ(api.requests[0].method, "POST");
  const auto& ev = api.requests[0].body;
  EXPECT_EQ(ev["involvedObject"]["uid"], "u1");
  EXPECT_EQ(ev["reason"], "Pulled");
  EXPECT_EQ(ev["source"]["host"], "n1");
  EXPECT_EQ(api.requests[1].method, "PATCH");
  EXPECT_EQ(api.requests[1].body["count"], 2);
}

}  // namespace
}  // namespace nanolet::kubelet
