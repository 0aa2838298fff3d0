// Upstream's events from the pod worker on the fake runtime (image pulls, starts, crash loops), the
// EventRecorder's correlation (dedup into count PATCHes, aggregation of similar events) against a
// tiny in-process apiserver, and the node's pressure conditions from injected readings.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "fake_api.h"
#include "kubelet/event_recorder.h"
#include "kubelet/node_status.h"
#include "kubelet/pod_worker.h"
#include "pod_syncer_fixture.h"
#include "runtime/fake_runtime.h"
#include "test_util.h"

namespace nanolet::kubelet {
namespace {

using namespace testing;

struct RecordedEvent {
  std::string type, reason, message, field_path;
};

class RecordingSink : public api::EventSink {
 public:
  void Record(const api::Pod&, const std::string& type, const std::string& reason,
              const std::string& message, const std::string& field_path) override {
    std::lock_guard<std::mutex> l(mu_);
    events_.push_back({type, reason, message, field_path});
  }
  void RecordNode(const std::string& type, const std::string& reason,
                  const std::string& message) override {
    std::lock_guard<std::mutex> l(mu_);
    events_.push_back({type, reason, message, "node"});
  }
  std::vector<RecordedEvent> Take() {
    std::lock_guard<std::mutex> l(mu_);
    return std::exchange(events_, {});
  }

 private:
  std::mutex mu_;
  std::vector<RecordedEvent> events_;
};

std::vector<std::string> Reasons(const std::vector<RecordedEvent>& evs) {
  std::vector<std::string> out;
  for (const auto& e : evs) out.push_back(e.reason);
  return out;
}

// The worker's events go to a sink of the test's own (MakeSyncer(&sink)).
class PodEventsTest : public PodSyncerTestBase {
 protected:
  std::string ContainerID(const api::Pod& pod, const std::string& name) {
    auto c = rt_.FindContainer(pod.metadata.uid, name);
    return c ? c->id : "";
  }
};

TEST_F(PodEventsTest, ImagePull_PullingThenPulled_OnTheContainer) {
  RecordingSink sink;
  MakeSyncer(&sink);
  api::Pod pod = MakePod("Always", {"app"});
  pod.spec.containers[0].image = "registry.test/app:1";
  Sync(pod);
  auto evs = sink.Take();
  ASSERT_GE(evs.size(), 2u);
  EXPECT_EQ(evs[0].reason, "Pulling");
  EXPECT_EQ(evs[0].message, "Pulling image \"registry.test/app:1\"");
  EXPECT_EQ(evs[1].reason, "Pulled");
  EXPECT_EQ(evs[1].message.rfind("Successfully pulled image \"registry.test/app:1\" in ", 0), 0u)
      << evs[1].message;
  EXPECT_NE(evs[1].message.find("including waiting). Image size: "), std::string::npos);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(evs[i].type, "Normal");
    EXPECT_EQ(evs[i].field_path, "spec.containers{app}");
  }
}

TEST_F(PodEventsTest, ImagePresent_AlreadyPresentOnMachine_PullFailure_ErrImagePull) {
  RecordingSink sink;
  MakeSyncer(&sink);
  api::Pod pod = MakePod("Always", {"app"}, {"init"});
  Sync(pod);
  auto evs = sink.Take();
  ASSERT_EQ(Reasons(evs), (std::vector<std::string>{"Pulled", "Created", "Started"}));
  EXPECT_EQ(evs[0].message, "Container image \"busybox:1.36\" already present on machine");
  EXPECT_EQ(evs[1].message, "Created container: init");
  EXPECT_EQ(evs[2].message, "Started container init");
  for (const auto& e : evs) EXPECT_EQ(e.field_path, "spec.initContainers{init}");

  api::Pod bad = MakePod("Always", {"app"});
  bad.metadata.uid = "uid-2";
  bad.metadata.name = "bad";
  bad.spec.containers[0].image = "registry.test/missing:1";
  rt_.SetPullError("registry.test/missing:1", Error("manifest unknown", ErrorCode::kNotFound));
  Sync(bad);
  evs = sink.Take();
  ASSERT_EQ(Reasons(evs), (std::vector<std::string>{"Pulling", "Failed", "Failed"}));
  EXPECT_EQ(evs[1].type, "Warning");
  EXPECT_NE(evs[1].message.find("Failed to pull image \"registry.test/missing:1\": "),
            std::string::npos);
  EXPECT_EQ(evs[2].message, "Error: ErrImagePull");
  last_ = {};
  Sync(bad);  // within the pull backoff
  evs = sink.Take();
  ASSERT_EQ(Reasons(evs), (std::vector<std::string>{"BackOff", "Failed"}));
  EXPECT_EQ(evs[0].message, "Back-off pulling image \"registry.test/missing:1\"");
  EXPECT_EQ(evs[1].message, "Error: ImagePullBackOff");
}

// A container that keeps exiting: every sync inside the crash-loop backoff records upstream's
// BackOff event; the recorder posts it once and then PATCHes its count.
TEST_F(PodEventsTest, CrashLoop_BackOffEventsAggregatedIntoOneEventWithACount) {
  FakeApi api;
  api.ServeEvents();
  auto client = api.Client();
  FakeClock rec_clock;
  ApiEventRecorder rec(*client, "node1", rec_clock);
  MakeSyncer(&rec);
  api::Pod pod = MakePod("Always", {"app"});
  Sync(pod);  // Pulled, Created, Started
  ASSERT_TRUE(rt_.ExitContainer(ContainerID(pod, "app"), 1));
  clock_.Advance(std::chrono::seconds(1));
  Sync(pod);  // first restart: at once (Created, Started)
  ASSERT_TRUE(rt_.ExitContainer(ContainerID(pod, "app"), 1));
  clock_.Advance(std::chrono::seconds(1));
  for (int i = 0; i < 3; ++i) {
    SyncResult r = Sync(pod);  // in the 10 s backoff: BackOff
    ASSERT_TRUE(r.requeue_after.has_value());
    clock_.Advance(std::chrono::seconds(2));
  }
  ASSERT_TRUE(api.WaitFor(9));
  std::lock_guard<std::mutex> l(api.mu);
  int posts = 0;
  std::string name;
  std::vector<int> counts;
  for (const auto& r : api.requests) {
    if (r.method == "POST" && r.body.value("reason", "") == "BackOff") {
      posts++;
      name = r.body["metadata"]["name"];
      EXPECT_EQ(r.body["type"], "Warning");
      EXPECT_EQ(r.body["message"],
                "Back-off restarting failed container app in pod web_default(uid-1)");
      EXPECT_EQ(r.body["involvedObject"]["kind"], "Pod");
      EXPECT_EQ(r.body["involvedObject"]["uid"], "uid-1");
      EXPECT_EQ(r.body["involvedObject"]["fieldPath"], "spec.containers{app}");
      EXPECT_EQ(r.body["source"]["component"], "kubelet");
      EXPECT_EQ(r.body["source"]["host"], "node1");
    }
    if (r.method == "PATCH" && !name.empty() && r.path.ends_with("/" + name)) {
      counts.push_back(r.body["count"]);
    }
  }
  EXPECT_EQ(posts, 1);
  EXPECT_EQ(counts, (std::vector<int>{2, 3}));
  // Created and Started twice each: the second of each is a PATCH of the first too.
  int started_posts = 0;
  for (const auto& r : api.requests) {
    started_posts += r.method == "POST" && r.body.value("reason", "") == "Started";
  }
  EXPECT_EQ(started_posts, 1);
}

TEST(ApiEventRecorder, TenSimilarEventsCombined_NodeEventsInDefault_MirrorUID) {
  FakeApi api;
  api.ServeEvents();
  auto client = api.Client();
  FakeClock clock;
  ApiEventRecorder rec(*client, "node1", clock, [](const api::Pod& p) {
    return p.metadata.name == "stat-node1" ? std::string("mirror-uid") : std::string();
  });
  api::Pod p = MakePod("Always", {"app"});
  for (int i = 0; i < 11; ++i) {
    rec.Record(p, kEventWarning, "Unhealthy", "Readiness probe failed: " + std::to_string(i),
               "spec.containers{app}");
  }
  rec.RecordNode(kEventNormal, "NodeReady", "Node node1 status is now: NodeReady");
  api::Pod st = p;
  st.metadata.name = "stat-node1";
  rec.Record(st, kEventNormal, "Started", "Started container app", "spec.containers{app}");
  ASSERT_TRUE(api.WaitFor(13));
  std::lock_guard<std::mutex> l(api.mu);
  // 9 distinct events, then the 10th and 11th as one combined event (a POST and a PATCH).
  for (int i = 0; i < 9; ++i)
    EXPECT_EQ(api.requests[i].body["message"], "Readiness probe failed: " + std::to_string(i));
  EXPECT_EQ(api.requests[9].method, "POST");
  EXPECT_EQ(api.requests[9].body["message"],
            "(combined from similar events): Readiness probe failed: 9");
  EXPECT_EQ(api.requests[10].method, "PATCH");
  EXPECT_EQ(api.requests[10].body["message"],
            "(combined from similar events): Readiness probe failed: 10");
  EXPECT_EQ(api.requests[10].body["count"], 2);
  EXPECT_EQ(api.requests[11].body["involvedObject"]["kind"], "Node");
  EXPECT_EQ(api.requests[11].body["involvedObject"]["name"], "node1");
  EXPECT_EQ(api.requests[11].body["involvedObject"]["uid"], "node1");
  EXPECT_EQ(api.requests[12].body["involvedObject"]["uid"], "mirror-uid");
}

// A static pod's events wait (up to 30 s) for its mirror pod, then name it as the involved object.
TEST(ApiEventRecorder, StaticPodEventsWaitForTheMirrorPod) {
  FakeApi api;
  api.ServeEvents();
  auto client = api.Client();
  FakeClock clock;
  std::atomic<bool> mirrored{false};
  ApiEventRecorder rec(*client, "node1", clock, [&](const api::Pod& p) {
    return mirrored.load() && p.metadata.name == "stat-node1" ? std::string("mirror-uid")
                                                              : std::string();
  });
  api::Pod st = MakePod("Always", {"app"});
  st.metadata.name = "stat-node1";
  st.metadata.uid = "static-hash";
  st.metadata.annotations["kubernetes.io/config.source"] = "file";
  rec.Record(st, kEventNormal, "Started", "Started container app", "spec.containers{app}");
  rec.RecordNode(kEventNormal, "Starting", "Starting kubelet.");  // not held up by it
  ASSERT_TRUE(api.WaitFor(1));
  mirrored = true;
  ASSERT_TRUE(api.WaitFor(2));
  std::lock_guard<std::mutex> l(api.mu);
  EXPECT_EQ(api.requests[0].body["reason"], "Starting");
  EXPECT_EQ(api.requests[1].body["reason"], "Started");
  EXPECT_EQ(api.requests[1].body["involvedObject"]["uid"], "mirror-uid");
}

TEST(NodePressure, DefaultHardThresholds) {
  EvictionThresholds t;  // upstream defaults
  NodeReadings ok;
  ok.memory_available = 2ULL << 30;
  ok.nodefs_available = 50;
  ok.nodefs_capacity = 100;
  ok.nodefs_inodes_free = 50;
  ok.nodefs_inodes = 100;
  ok.imagefs_available = 50;
  ok.imagefs_capacity = 100;
  ok.pid_available = 10;
  ok.pid_max = 1000;
  EXPECT_EQ(ComputePressure(ok, t), NodePressure{});  // no pid.available threshold by default
  struct Case {
    const char* name;
    std::function<void(NodeReadings&)> change;
    NodePressure want;
  } cases[] = {
      {"memory under 100Mi",
       [](NodeReadings& r) { r.memory_available = 99ULL << 20; },
       {true, false, false}},
      {"memory at 100Mi", [](NodeReadings& r) { r.memory_available = 100ULL << 20; }, {}},
      {"nodefs under 10%", [](NodeReadings& r) { r.nodefs_available = 9; }, {false, true, false}},
      {"nodefs at 10%", [](NodeReadings& r) { r.nodefs_available = 10; }, {}},
      {"inodes under 5%", [](NodeReadings& r) { r.nodefs_inodes_free = 4; }, {false, true, false}},
      {"imagefs under 15%",
       [](NodeReadings& r) { r.imagefs_available = 14; },
       {false, true, false}},
      {"no readings", [](NodeReadings& r) { r = NodeReadings{}; }, {}},
  };
  for (const auto& c : cases) {
    NodeReadings r = ok;
    c.change(r);
    EXPECT_EQ(ComputePressure(r, t), c.want) << c.name;
  }
  t.pid_available = 0.05;
  EXPECT_EQ(ComputePressure(ok, t), (NodePressure{false, false, true}));
}

TEST(NodePressure, ConditionsCarryUpstreamReasons) {
  NodeStatusOptions o;
  o.node_name = "n1";
  node::MachineInfo mi;
  mi.num_cores = 1;
  mi.memory_capacity = 1ULL << 30;
  api::Node n = BuildNode(o, mi, FakeClock().Now(), NodePressure{true, true, true});
  std::map<std::string, api::NodeCondition> by;
  for (const auto& c : n.status.conditions) by[c.type] = c;
  EXPECT_EQ(by["MemoryPressure"].status, "True");
  EXPECT_EQ(by["MemoryPressure"].reason, "KubeletHasInsufficientMemory");
  EXPECT_EQ(by["MemoryPressure"].message, "kubelet has insufficient memory available");
  EXPECT_EQ(by["DiskPressure"].reason, "KubeletHasDiskPressure");
  EXPECT_EQ(by["DiskPressure"].message, "kubelet has disk pressure");
  EXPECT_EQ(by["PIDPressure"].reason, "KubeletHasInsufficientPID");
  EXPECT_EQ(by["PIDPressure"].message, "kubelet has insufficient PID available");
  n = BuildNode(o, mi, FakeClock().Now());
  for (const auto& c : n.status.conditions) by[c.type] = c;
  EXPECT_EQ(by["MemoryPressure"].reason, "KubeletHasSufficientMemory");
  EXPECT_EQ(by["DiskPressure"].reason, "KubeletHasNoDiskPressure");
  EXPECT_EQ(by["PIDPressure"].reason, "KubeletHasSufficientPID");
}

// The agent end to end against a tiny apiserver: readings under the memory threshold turn
// MemoryPressure True in the status it patches, and the transitions are node events.
TEST(NodePressure, AgentReportsPressureAndTransitionEvents) {
  FakeApi api;
  api.ServeEvents();
  std::mutex mu;
  std::vector<nlohmann::json> patches;
  api.srv.Post("/api/v1/nodes", [](const httplib::Request& req, httplib::Response& res) {
    auto n = nlohmann::json::parse(req.body);
    n["metadata"]["uid"] = "node-uid";
    res.status = 201;
    res.set_content(n.dump(), "application/json");
  });
  api.srv.Patch("/api/v1/nodes/n1/status",
                [&](const httplib::Request& req, httplib::Response& res) {
                  std::lock_guard<std::mutex> l(mu);
                  patches.push_back(nlohmann::json::parse(req.body));
                  res.set_content("{}", "application/json");
                });
  api.srv.Get(R"(/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n1)",
              [](const httplib::Request&, httplib::Response& res) {
                res.status = 404;
                res.set_content(R"({"kind":"Status","code":404})", "application/json");
              });
  api.srv.Post(R"(/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases)",
               [](const httplib::Request& req, httplib::Response& res) {
                 res.status = 201;
                 res.set_content(req.body, "application/json");
               });
  auto client = api.Client();
  ApiEventRecorder rec(*client, "n1", RealClock::Instance());
  std::atomic<bool> low{false};
  NodeStatusOptions o;
  o.node_name = "n1";
  o.status_update_frequency = std::chrono::milliseconds(20);
  o.pressure_transition_period = Duration(0);
  o.events = &rec;
  o.readings = [&] {
    NodeReadings r;
    r.memory_available = low.load() ? (50ULL << 20) : (4ULL << 30);
    return r;
  };
  NodeStatusAgent agent(*client, o, RealClock::Instance());
  agent.Start();
  auto memory_status = [&]() -> std::string {
    std::lock_guard<std::mutex> l(mu);
    if (patches.empty()) return "";
    for (const auto& c : patches.back()["status"]["conditions"]) {
      if (c["type"] == "MemoryPressure")
        return c["status"].get<std::string>() + "/" + c["reason"].get<std::string>();
    }
    return "";
  };
  auto wait = [&](const std::string& want) {
    for (int i = 0; i < 500 && memory_status() != want; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return memory_status();
  };
  EXPECT_EQ(wait("False/KubeletHasSufficientMemory"), "False/KubeletHasSufficientMemory");
  low = true;
  EXPECT_EQ(wait("True/KubeletHasInsufficientMemory"), "True/KubeletHasInsufficientMemory");
  agent.Stop();
  auto has_event = [&](const std::string& reason) {
    std::lock_guard<std::mutex> l(api.mu);
    for (const auto& r : api.requests) {
      if (r.method == "POST" && r.body.value("reason", "") == reason &&
          r.body["involvedObject"]["kind"] == "Node" &&
          r.body["message"] == "Node n1 status is now: " + reason) {
        return true;
      }
    }
    return false;
  };
  for (int i = 0; i < 500 && !has_event("NodeHasInsufficientMemory"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(has_event("NodeHasSufficientMemory"));
  EXPECT_TRUE(has_event("NodeReady"));
  EXPECT_TRUE(has_event("NodeHasInsufficientMemory"));
}

TEST(NodePressure, ReadingsFromThisMachine) {
  NodeReadings r = ReadNodeReadings("/tmp");
  ASSERT_TRUE(r.memory_available.has_value());
  EXPECT_GT(*r.memory_available, 0u);
  ASSERT_TRUE(r.nodefs_capacity.has_value());
  EXPECT_GT(*r.nodefs_capacity, 0u);
  ASSERT_TRUE(r.pid_available.has_value());
  EXPECT_LT(*r.pid_available, *r.pid_max);
}

}  // namespace
}  // namespace nanolet::kubelet
