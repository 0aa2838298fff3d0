#ifndef CPPHTTPLIB_OPENSSL_SUPPORT  // pkg-config cpp-httplib defines them too
#define CPPHTTPLIB_OPENSSL_SUPPORT
#endif
#ifndef CPPHTTPLIB_ZLIB_SUPPORT
#define CPPHTTPLIB_ZLIB_SUPPORT
#endif
#ifndef CPPHTTPLIB_BROTLI_SUPPORT
#define CPPHTTPLIB_BROTLI_SUPPORT
#endif
#include <httplib.h>

#include "server/read_only_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "server/auth.h"
#include "server/container_logs.h"
#include "server/pod_table.h"
#include "util/fs.h"
#include "util/subprocess.h"
#include "util/timefmt.h"

namespace nanolet::server {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

std::string Golden(const std::string& name) {
  return std::string(NANOLET_SOURCE_DIR) + "/tests/fixtures/golden/" + name;
}

// Compares against a golden file; NANOLET_UPDATE_GOLDEN=1 rewrites it.
void ExpectGolden(const std::string& name, const std::string& text) {
  if (getenv("NANOLET_UPDATE_GOLDEN")) {
    ASSERT_TRUE(WriteFile(Golden(name), text).ok());
    return;
  }
  auto want = ReadFile(Golden(name));
  ASSERT_TRUE(want.ok()) << want.error().message() << " (run with NANOLET_UPDATE_GOLDEN=1)";
  EXPECT_EQ(*want, text) << "golden " << name;
}

api::Pod MakePod(const std::string& ns, const std::string& name, const std::string& uid) {
  api::Pod p;
  p.metadata.name = name;
  p.metadata.namespace_ = ns;
  p.metadata.uid = uid;
  p.metadata.creation_timestamp = "2026-11-27T18:00:00Z";
  p.metadata.labels = {{"app", name}};
  p.metadata.annotations = {{"kubernetes.io/config.source", "file"}};
  api::Container c;
  c.name = "app";
  c.image = "busybox:1.36";
  c.image_pull_policy = "IfNotPresent";
  c.termination_message_path = "/dev/termination-log";
  c.termination_message_policy = "File";
  p.spec.containers.push_back(c);
  p.spec.restart_policy = "Always";
  p.spec.node_name = "node1";
  p.spec.dns_policy = "ClusterFirst";
  p.spec.scheduler_name = "default-scheduler";
  p.spec.termination_grace_period_seconds = 30;
  p.status.phase = "Running";
  p.status.pod_ip = "10.88.0.5";
  p.status.pod_ips = {{"10.88.0.5"}};
  p.status.start_time = "2026-11-27T18:00:01Z";
  p.status.conditions = {{"Ready", "True", "", "2026-11-27T18:00:02Z", "", ""}};
  api::ContainerStatus cs;
  cs.name = "app";
  cs.ready = true;
  cs.started = true;
  cs.image = "docker.io/library/busybox:1.36";
  cs.container_id = "runc://" + uid + "-app";
  cs.state.running = api::ContainerStateRunning{"2026-11-27T18:00:02Z"};
  p.status.container_statuses.push_back(cs);
  return p;
}

class TempDir {
 public:
  TempDir() {
    char t[] = "/tmp/nanolet-srv-XXXXXX";
    path_ = ::mkdtemp(t);
  }
  ~TempDir() { (void)RemoveAll(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void WriteLog(const std::string& logs, const api::Pod& p, const std::string& c, int n,
              const std::string& text) {
  std::string dir =
      logs + "/" + p.metadata.namespace_ + "_" + p.metadata.name + "_" + p.metadata.uid + "/" + c;
  ASSERT_TRUE(MkdirAll(dir).ok());
  ASSERT_TRUE(WriteFile(dir + "/" + std::to_string(n) + ".log", text).ok());
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<api::Pod> pods;
    web_ = MakePod("default", "web", "uid-web");
    pods.push_back(web_);
    auto two = MakePod("kube-system", "two", "uid-two");
    api::Container side = two.spec.containers[0];
    side.name = "side";
    two.spec.containers.push_back(side);
    two.status.container_statuses[0].restart_count = 3;
    two.status.container_statuses[0].last_state.terminated = api::ContainerStateTerminated{
        1, 0, "Error", "", "2026-11-27T18:10:00Z", "2026-11-27T18:15:00Z", ""};
    api::ContainerStatus ss = two.status.container_statuses[0];
    ss.name = "side";
    ss.restart_count = 0;
    ss.last_state = {};
    ss.ready = false;
    ss.state = {};
    ss.state.waiting = api::ContainerStateWaiting{"CrashLoopBackOff", "back-off"};
    two.status.container_statuses.push_back(ss);
    pods.push_back(two);
    view_.Publish(pods);
    WriteLog(logs_.path(), web_, "app", 0,
             "2026-11-27T18:00:03.000000001Z stdout F first\n"
             "2026-11-27T18:00:04.000000001Z stderr P part-\n"
             "2026-11-27T18:00:05.000000001Z stderr F two\n"
             "2026-11-27T18:00:06.000000001Z stdout F last\n");
    clock_.Set(*ParseRFC3339("2026-11-27T18:20:00Z"));
    ReadOnlyServerOptions o;
    o.address = "127.0.0.1";
    o.port = 0;
    o.pod_logs_dir = logs_.path();
    o.root_dir = root_.path();
    o.node_name = "node1";
    o.request_timeout = 1s;
    o.housekeeping_interval = 0ms;
    server_ = std::make_unique<ReadOnlyServer>(o, view_, nullptr, &registry_, &clock_);
    ASSERT_TRUE(server_->Start().ok());
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    client_->set_read_timeout(5, 0);
  }
  void TearDown() override { server_->Stop(); }

  httplib::Result Get(const std::string& path, httplib::Headers h = {}) {
    return client_->Get(path.c_str(), h);
  }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }

  api::Pod web_;
  kubelet::SnapshotPodView view_;
  TempDir logs_, root_;
  FakeClock clock_;
  metrics::Registry registry_;
  std::unique_ptr<ReadOnlyServer> server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(ServerTest, Healthz) {
  auto r = Get("/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "ok");
}

TEST_F(ServerTest, PodsIsPodListGolden) {
  auto r = Get("/pods");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  auto j = json::parse(r->body);
  EXPECT_EQ(j["kind"], "PodList");
  EXPECT_EQ(j["apiVersion"], "v1");
  ASSERT_EQ(j["items"].size(), 2u);
  EXPECT_EQ(j["items"][0]["metadata"]["name"], "web");
  EXPECT_EQ(j["items"][0]["status"]["phase"], "Running");
  EXPECT_EQ(Get("/pods/")->body, r->body);
  ExpectGolden("pods_list.json", j.dump(2) + "\n");
}

TEST_F(ServerTest, PodsBodyFollowsSnapshot) {
  auto before = Get("/pods")->body;
  view_.Publish({web_});
  auto after = json::parse(Get("/pods")->body);
  EXPECT_EQ(after["items"].size(), 1u);
  EXPECT_NE(before, after.dump());
}

// The key sets of /spec/ (values depend on the machine).
void CollectKeys(const json& j, const std::string& prefix, std::set<std::string>* out) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      // disk_map keys are device numbers: keep the shape, not the names.
      std::string k = prefix == "disk_map" ? "*" : it.key();
      std::string p = prefix.empty() ? k : prefix + "." + k;
      out->insert(p);
      CollectKeys(it.value(), p, out);
    }
  } else if (j.is_array() && !j.empty()) {
    CollectKeys(j[0], prefix + "[]", out);
  }
}

TEST_F(ServerTest, SpecHasCadvisorFieldsGolden) {
  auto r = Get("/spec/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  auto j = json::parse(r->body);
  for (const char* k :
       {"num_cores", "num_physical_cores", "num_sockets", "cpu_frequency_khz", "memory_capacity",
        "machine_id", "system_uuid", "boot_id", "filesystems", "disk_map", "network_devices",
        "topology", "cloud_provider", "instance_type", "instance_id", "timestamp", "hugepages"}) {
    EXPECT_TRUE(j.contains(k)) << k;
  }
  EXPECT_GT(j["num_cores"].get<int>(), 0);
  EXPECT_GT(j["memory_capacity"].get<uint64_t>(), 0u);
  std::set<std::string> top;
  for (auto it = j.begin(); it != j.end(); ++it) top.insert(it.key());
  std::string text;
  for (const auto& k : top) text += k + "\n";
  ExpectGolden("spec_keys.txt", text);
}

TEST_F(ServerTest, StatsSummaryShape) {
  auto r = Get("/stats/summary");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  auto j = json::parse(r->body);
  EXPECT_EQ(j["node"]["nodeName"], "node1");
  EXPECT_TRUE(j["node"].contains("cpu"));
  EXPECT_TRUE(j["node"]["cpu"].contains("usageCoreNanoSeconds"));
  EXPECT_TRUE(j["node"]["memory"].contains("workingSetBytes"));
  EXPECT_TRUE(j["node"]["fs"].contains("capacityBytes"));
  EXPECT_TRUE(j["node"]["runtime"]["imageFs"].contains("availableBytes"));
  ASSERT_EQ(j["pods"].size(), 2u);
  EXPECT_EQ(j["pods"][0]["podRef"]["name"], "web");
  EXPECT_EQ(j["pods"][0]["podRef"]["uid"], "uid-web");
  EXPECT_EQ(j["pods"][0]["containers"][0]["name"], "app");
  EXPECT_GT(j["pods"][0]["containers"][0]["logs"]["usedBytes"].get<uint64_t>(), 0u);
}

TEST_F(ServerTest, MetricsText) {
  ASSERT_EQ(Get("/healthz")->status, 200);
  auto r = Get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  for (const char* m :
       {"kubelet_running_pods 2", "kubelet_running_containers{container_state=\"running\"} 2",
        "process_resident_memory_bytes", "process_cpu_seconds_total", "process_open_fds",
        "process_start_time_seconds", "kubelet_http_requests_total{"}) {
    EXPECT_NE(r->body.find(m), std::string::npos) << m;
  }
}

TEST_F(ServerTest, UnknownPathsAndMethods) {
  EXPECT_EQ(Get("/nope")->status, 404);
  EXPECT_EQ(Get("/api/v1/nodes")->status, 404);
  EXPECT_EQ(client_->Post("/pods", "x", "text/plain")->status, 405);
  EXPECT_EQ(Get("/api/v1/namespaces/default/pods/web/exec")->status, 404);
}

TEST_F(ServerTest, DiscoveryDocuments) {
  EXPECT_EQ(json::parse(Get("/api")->body)["versions"][0], "v1");
  EXPECT_EQ(json::parse(Get("/apis")->body)["kind"], "APIGroupList");
  auto res = json::parse(Get("/api/v1")->body);
  EXPECT_EQ(res["resources"][0]["name"], "pods");
  EXPECT_EQ(json::parse(Get("/version")->body)["major"], "1");
}

TEST_F(ServerTest, GetPodAndNotFoundStatus) {
  auto r = Get("/api/v1/namespaces/default/pods/web");
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(json::parse(r->body)["metadata"]["uid"], "uid-web");
  r = Get("/api/v1/namespaces/default/pods/x");
  EXPECT_EQ(r->status, 404);
  auto s = json::parse(r->body);
  EXPECT_EQ(s["kind"], "Status");
  EXPECT_EQ(s["reason"], "NotFound");
  EXPECT_EQ(s["message"], "pods \"x\" not found");
  EXPECT_EQ(s["code"], 404);
}

TEST_F(ServerTest, ListFiltersBySelectors) {
  auto names = [&](const std::string& path) {
    std::vector<std::string> out;
    json j = json::parse(Get(path)->body);
    for (const auto& i : j["items"]) out.push_back(i["metadata"]["name"]);
    return out;
  };
  EXPECT_EQ(names("/api/v1/pods"), (std::vector<std::string>{"web", "two"}));
  EXPECT_EQ(names("/api/v1/namespaces/kube-system/pods"), (std::vector<std::string>{"two"}));
  EXPECT_EQ(names("/api/v1/pods?labelSelector=app%3Dweb"), (std::vector<std::string>{"web"}));
  EXPECT_EQ(names("/api/v1/pods?labelSelector=app%21%3Dweb"), (std::vector<std::string>{"two"}));
  EXPECT_EQ(names("/api/v1/pods?fieldSelector=metadata.name%3Dtwo"),
            (std::vector<std::string>{"two"}));
  EXPECT_EQ(names("/api/v1/pods?fieldSelector=spec.nodeName%3Dother"),
            (std::vector<std::string>{}));
  EXPECT_EQ(names("/api/v1/pods?fieldSelector=status.phase%3DRunning"),
            (std::vector<std::string>{"web", "two"}));
  EXPECT_EQ(Get("/api/v1/pods?fieldSelector=bogus%3D1")->status, 400);
}

TEST_F(ServerTest, TableForKubectl) {
  auto r = Get("/api/v1/pods",
               {{"Accept", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"}});
  ASSERT_EQ(r->status, 200);
  auto t = json::parse(r->body);
  EXPECT_EQ(t["kind"], "Table");
  EXPECT_EQ(t["columnDefinitions"][0]["name"], "Name");
  EXPECT_EQ(t["rows"][0]["cells"],
            json({"web", "1/1", "Running", "0", "20m", "10.88.0.5", "node1", "<none>", "<none>"}));
  EXPECT_EQ(t["rows"][1]["cells"][1], "1/2");
  EXPECT_EQ(t["rows"][1]["cells"][2], "CrashLoopBackOff");
  EXPECT_EQ(t["rows"][1]["cells"][3], "3 (5m ago)");
  EXPECT_EQ(t["rows"][1]["object"]["metadata"]["namespace"], "kube-system");
}

TEST_F(ServerTest, Logs) {
  const std::string base = "/api/v1/namespaces/default/pods/web/log";
  auto r = Get(base);
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "first\npart-two\nlast\n");
  EXPECT_EQ(Get(base + "?tailLines=1")->body, "last\n");
  EXPECT_EQ(Get(base + "?container=app&timestamps=true&tailLines=1")->body,
            "2026-11-27T18:00:06.000000001Z last\n");
  EXPECT_EQ(Get(base + "?limitBytes=3")->body, "fir");
  EXPECT_EQ(Get(base + "?tailLines=abc")->status, 400);
  EXPECT_EQ(Get(base + "?previous=true")->status, 400);
  EXPECT_EQ(Get(base + "?container=nope")->status, 404);
  EXPECT_EQ(Get("/api/v1/namespaces/default/pods/ghost/log")->status, 404);
}

TEST_F(ServerTest, LogPathTraversalRejected) {
  const std::string base = "/api/v1/namespaces/default/pods/web/log?container=";
  for (const char* c : {"..", "../..%2Fetc", "..%2F..%2F..%2Fetc%2Fpasswd", "a%2Fb", "%2E%2E"}) {
    auto r = Get(base + c);
    ASSERT_TRUE(r) << c;
    EXPECT_TRUE(r->status == 400 || r->status == 404) << c << " " << r->status;
    EXPECT_EQ(r->body.find("root:"), std::string::npos);
  }
  auto r = Get("/api/v1/namespaces/..%2F..%2F/pods/web/log");
  EXPECT_EQ(r->status, 404);
}

TEST(ContainerLogs, ResolveRejectsEscapes) {
  auto p = MakePod("default", "web", "uid");
  for (const char* c : {"..", "a/b", "", "x..y"}) {
    auto r = ResolveLogPath("/var/log/pods", p, c, false);
    EXPECT_FALSE(r.ok()) << c;
  }
  p.metadata.name = "../../etc";
  EXPECT_FALSE(ResolveLogPath("/var/log/pods", p, "app", false).ok());
}

int Connect(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Reads until EOF or the deadline; returns what was read and whether EOF came.
std::pair<std::string, bool> ReadUntilClose(int fd, std::chrono::milliseconds limit) {
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    deadline - std::chrono::steady_clock::now())
                                    .count());
    if (::poll(&p, 1, std::max(left, 1)) <= 0) continue;
    char buf[4096];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return {out, true};
    out.append(buf, n);
  }
  return {out, false};
}

TEST_F(ServerTest, OversizedHeaderRejectedOrClosed) {
  int fd = Connect(server_->port());
  ASSERT_GE(fd, 0);
  std::string req =
      "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(64 << 10, 'a') + "\r\n\r\n";
  (void)::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  auto [out, closed] = ReadUntilClose(fd, 8s);  // 400 at once, closed at the keep-alive timeout
  ::close(fd);
  EXPECT_TRUE(closed);
  EXPECT_TRUE(out.empty() || out.find(" 4") != std::string::npos) << out.substr(0, 40);
  EXPECT_EQ(Get("/healthz")->status, 200);  // still serving
}

TEST_F(ServerTest, SlowClientDroppedAfterReadTimeout) {
  int fd = Connect(server_->port());
  ASSERT_GE(fd, 0);
  std::string partial = "GET /healthz HTTP/1.1\r\nHost: x\r\n";  // never finished
  (void)::send(fd, partial.data(), partial.size(), MSG_NOSIGNAL);
  auto start = std::chrono::steady_clock::now();
  auto [out, closed] = ReadUntilClose(fd, 10s);
  ::close(fd);
  EXPECT_TRUE(closed);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 8s);
}

TEST_F(ServerTest, GarbageRequestLines) {
  for (const char* g : {"\r\n\r\n", "GARBAGE\r\n\r\n", "GET\r\n\r\n", "GET /%zz HTTP/1.1\r\n\r\n",
                        "GET / HTTP/9.9\r\nHost: x\r\n\r\n"}) {
    int fd = Connect(server_->port());
    ASSERT_GE(fd, 0);
    (void)::send(fd, g, strlen(g), MSG_NOSIGNAL);
    (void)ReadUntilClose(fd, 3s);
    ::close(fd);
  }
  EXPECT_EQ(Get("/healthz")->status, 200);
}

TEST_F(ServerTest, FollowStreamsAppendedLinesAndRotation) {
  std::string dir = logs_.path() + "/default_web_uid-web/app";
  std::string got;
  std::mutex mu;
  std::atomic<bool> done{false};
  httplib::Client c("127.0.0.1", server_->port());
  c.set_read_timeout(10, 0);
  std::thread t([&] {
    c.Get("/api/v1/namespaces/default/pods/web/log?follow=true&tailLines=1",
          [&](const char* d, size_t n) {
            std::lock_guard<std::mutex> l(mu);
            got.append(d, n);
            return got.find("rotated") == std::string::npos;  // stop once the rotated line arrived
          });
    done = true;
  });
  auto wait_for = [&](const std::string& s) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      {
        std::lock_guard<std::mutex> l(mu);
        if (got.find(s) != std::string::npos) return true;
      }
      std::this_thread::sleep_for(10ms);
    }
    return false;
  };
  ASSERT_TRUE(wait_for("last\n"));
  {
    std::ofstream f(dir + "/0.log", std::ios::app);
    f << "2026-11-27T18:00:07.000000001Z stdout F appended\n";
  }
  ASSERT_TRUE(wait_for("appended\n"));
  ASSERT_EQ(::rename((dir + "/0.log").c_str(), (dir + "/0.log.20261127").c_str()), 0);
  ASSERT_TRUE(WriteFile(dir + "/0.log", "2026-11-27T18:00:08.000000001Z stdout F rotated\n").ok());
  ASSERT_TRUE(wait_for("rotated\n"));
  t.join();
  EXPECT_EQ(got, "last\nappended\nrotated\n");
}

// ---- kubectl, a client nobody here wrote ----

class KubectlTest : public ServerTest {
 protected:
  void SetUp() override {
    ServerTest::SetUp();
    if (!PathExists("/usr/bin/kubectl")) GTEST_SKIP() << "no kubectl";
  }
  RunResult Kubectl(std::vector<std::string> args, std::chrono::milliseconds timeout = 30s) {
    std::vector<std::string> argv = {"kubectl", "--server", Url(), "--cache-dir", cache_.path()};
    argv.insert(argv.end(), args.begin(), args.end());
    RunOptions o;
    o.timeout = timeout;
    o.env = std::vector<std::string>{"HOME=" + cache_.path(), "PATH=/usr/bin:/bin",
                                     "KUBECONFIG=/dev/null"};
    auto r = nanolet::Run(argv, o);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : RunResult{};
  }
  TempDir cache_;
};

TEST_F(KubectlTest, GetPods) {
  auto r = Kubectl({"get", "pods"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("NAME"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("READY"), std::string::npos);
  EXPECT_NE(r.out.find("web"), std::string::npos);
  EXPECT_NE(r.out.find("Running"), std::string::npos);
  EXPECT_EQ(r.out.find("two"), std::string::npos);  // other namespace
}

TEST_F(KubectlTest, GetPodsAllNamespacesWide) {
  auto r = Kubectl({"get", "pods", "-A", "-o", "wide"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("NAMESPACE"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("kube-system"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("CrashLoopBackOff"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("3 (5m ago)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("10.88.0.5"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("NOMINATED NODE"), std::string::npos) << r.out;
}

TEST_F(KubectlTest, GetPodYaml) {
  auto r = Kubectl({"get", "pod", "web", "-o", "yaml"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("kind: Pod"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("uid: uid-web"), std::string::npos) << r.out;
  auto missing = Kubectl({"get", "pod", "ghost"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("pods \"ghost\" not found"), std::string::npos) << missing.err;
}

TEST_F(KubectlTest, DescribePod) {
  auto r = Kubectl({"describe", "pod", "web"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Name:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("busybox:1.36"), std::string::npos) << r.out;
}

TEST_F(KubectlTest, Logs) {
  auto r = Kubectl({"logs", "web"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "first\npart-two\nlast\n");
  r = Kubectl({"logs", "web", "--tail", "1", "--timestamps"});
  EXPECT_EQ(r.out, "2026-11-27T18:00:06.000000001Z last\n");
}

TEST_F(KubectlTest, LogsFollowUntilKilled) {
  // kubectl logs -f never exits by itself: run it with a deadline and check what it printed.
  auto r = Kubectl({"logs", "-f", "web"}, 3s);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.out, "first\npart-two\nlast\n");
}

// ---- load (opt-in: NANOLET_WRK=1) ----

TEST(Bench, WrkPodsAndHealthz) {
  // bench/http.sh runs this with NANOLET_WRK=1 and turns the wrk outputs into its table.
  if (!getenv("NANOLET_WRK")) GTEST_SKIP() << "set NANOLET_WRK=1";
  kubelet::SnapshotPodView view;
  std::vector<api::Pod> pods;
  for (int i = 0; i < 100; ++i)
    pods.push_back(MakePod("default", "pod-" + std::to_string(i), "uid-" + std::to_string(i)));
  view.Publish(pods);
  TempDir root;
  auto tokens = TokenFileAuthenticator::Parse("bench-token,bench,1,system:masters\n", "t");
  ASSERT_TRUE(tokens.ok());
  ReadOnlyServerOptions o;
  o.address = "127.0.0.1";
  o.port = 0;
  o.secure_port = 0;
  o.root_dir = root.path();
  o.authenticator = tokens->get();
  o.housekeeping_interval = 0ms;
  metrics::Registry reg;
  ReadOnlyServer s(o, view, nullptr, &reg);
  ASSERT_TRUE(s.Start().ok());
  std::string base = "http://127.0.0.1:" + std::to_string(s.port());
  std::string sbase = "https://127.0.0.1:" + std::to_string(s.secure_port());
  std::cout << "pods body bytes: "
            << httplib::Client("127.0.0.1", s.port()).Get("/pods")->body.size() << "\n";
  std::string dur = getenv("NANOLET_WRK_DURATION") ? getenv("NANOLET_WRK_DURATION") : "5s";
  for (const auto& url : {base + "/healthz", base + "/pods", sbase + "/healthz", sbase + "/pods"}) {
    RunOptions ro;
    ro.timeout = 120s;
    auto r = nanolet::Run({"wrk", "-t2", "-c50", "-d" + dur, "--latency", "-H",
                           "Authorization: Bearer bench-token", url},
                          ro);
    ASSERT_TRUE(r.ok());
    std::cout << "=== wrk " << url.substr(0, url.find(':')) << " " << url.substr(url.rfind('/'))
              << "\n"
              << r->out << "\n";
  }
}

}  // namespace
}  // namespace nanolet::server
