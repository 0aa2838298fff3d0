// kubeconfig parsing, the token bucket, and the REST client and reflector against a tiny in-process
// HTTP server (cpp-httplib) playing the apiserver.
#include <gtest/gtest.h>

#include <httplib.h>
#include <atomic>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "api/base64.h"
#include "client/kubeconfig.h"
#include "client/rate_limiter.h"
#include "client/reflector.h"
#include "client/rest_client.h"

namespace nanolet::client {
namespace {

constexpr const char* kKubeconfig = R"(apiVersion: v1
kind: Config
current-context: node
contexts:
- name: admin
  context: {cluster: c1, user: admin}
- name: node
  context: {cluster: c1, user: node}
clusters:
- name: c1
  cluster:
    server: https://127.0.0.1:6443/
    certificate-authority-data: Q0EgUEVN
users:
- name: admin
  user:
    token: admintoken
- name: node
  user:
    client-certificate: pki/node.crt
    client-key-data: S0VZ
    tokenFile: /run/token
)";

TEST(Kubeconfig, CurrentContext_DataFieldsDecoded_RelativePathsResolved) {
  auto c = ParseKubeconfig(kKubeconfig, "/etc/nanolet");
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->server, "https://127.0.0.1:6443");
  EXPECT_EQ(c->ca_data, "CA PEM");
  EXPECT_EQ(c->cert_file, "/etc/nanolet/pki/node.crt");
  EXPECT_EQ(c->key_data, "KEY");
  EXPECT_EQ(c->token_file, "/run/token");
  EXPECT_FALSE(c->insecure_skip_tls_verify);
}

TEST(Kubeconfig, ExplicitContext_Token) {
  auto c = ParseKubeconfig(kKubeconfig, "/x", "admin");
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->token, "admintoken");
  EXPECT_TRUE(c->cert_file.empty());
}

TEST(Kubeconfig, Errors_NameTheEntry) {
  auto missing = ParseKubeconfig(kKubeconfig, "/x", "nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("context \"nope\" not found"), std::string::npos);
  auto noserver = ParseKubeconfig(
      "current-context: a\ncontexts: [{name: a, context: {cluster: c}}]\nclusters: [{name: c, "
      "cluster: {}}]\n",
      "/");
  ASSERT_FALSE(noserver.ok());
  EXPECT_NE(noserver.error().message().find("no server"), std::string::npos);
  auto certonly = ParseKubeconfig(
      "current-context: a\ncontexts: [{name: a, context: {cluster: c, user: u}}]\n"
      "clusters: [{name: c, cluster: {server: 'https://h'}}]\nusers: [{name: u, user: "
      "{client-certificate: x}}]\n",
      "/");
  ASSERT_FALSE(certonly.ok());
  EXPECT_NE(certonly.error().message().find("together"), std::string::npos);
  EXPECT_FALSE(ParseKubeconfig("[not a map", "/").ok());
  auto badb64 = ParseKubeconfig(
      "current-context: a\ncontexts: [{name: a, context: {cluster: c}}]\n"
      "clusters: [{name: c, cluster: {server: 'https://h', certificate-authority-data: '!!!'}}]\n",
      "/");
  ASSERT_FALSE(badb64.ok());
  EXPECT_NE(badb64.error().message().find("illegal base64"), std::string::npos);
}

TEST(TokenBucket, BurstThenQps) {
  FakeClock clock;
  TokenBucket tb(10, 3, clock);
  EXPECT_TRUE(tb.TryAccept());
  EXPECT_TRUE(tb.TryAccept());
  EXPECT_TRUE(tb.TryAccept());
  EXPECT_FALSE(tb.TryAccept());
  clock.Advance(std::chrono::milliseconds(100));  // one token at 10 qps
  EXPECT_TRUE(tb.TryAccept());
  EXPECT_FALSE(tb.TryAccept());
  // Reservations queue: the next two wait 100 ms and 200 ms.
  auto w1 = tb.Reserve(), w2 = tb.Reserve();
  EXPECT_NEAR(std::chrono::duration<double>(w1).count(), 0.1, 1e-6);
  EXPECT_NEAR(std::chrono::duration<double>(w2).count(), 0.2, 1e-6);
  clock.Advance(std::chrono::seconds(10));  // refills to the burst, not beyond
  EXPECT_TRUE(tb.TryAccept());
  EXPECT_TRUE(tb.TryAccept());
  EXPECT_TRUE(tb.TryAccept());
  EXPECT_FALSE(tb.TryAccept());
}

// A fake apiserver on 127.0.0.1 (plain HTTP: TLS is the fixture apiserver's part in the e2e test).
class FakeApiserver {
 public:
  FakeApiserver() {
    port_ = srv_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { srv_.listen_after_bind(); });
  }
  ~FakeApiserver() {
    srv_.stop();
    thread_.join();
  }
  httplib::Server& srv() { return srv_; }
  RestConfig Config() const {
    RestConfig c;
    c.server = "http://127.0.0.1:" + std::to_string(port_);
    c.token = "t0k";
    c.qps = 0;
    return c;
  }

 private:
  httplib::Server srv_;
  int port_ = 0;
  std::thread thread_;
};

TEST(RestClient, BearerToken_RetriesOn503_StatusErrors) {
  FakeApiserver api;
  std::atomic<int> calls{0};
  std::string auth;
  api.srv().Get("/api/v1/nodes/n1", [&](const httplib::Request& req, httplib::Response& res) {
    auth = req.get_header_value("Authorization");
    if (calls++ < 2) {
      res.status = 503;
      res.set_content(R"({"kind":"Status","message":"busy"})", "application/json");
      return;
    }
    res.set_content(R"({"metadata":{"name":"n1"}})", "application/json");
  });
  api.srv().Get("/api/v1/nodes/missing", [&](const httplib::Request&, httplib::Response& res) {
    res.status = 404;
    res.set_content(R"({"kind":"Status","message":"nodes \"missing\" not found","code":404})",
                    "application/json");
  });
  api.srv().Post("/api/v1/nodes", [&](const httplib::Request& req, httplib::Response& res) {
    EXPECT_EQ(req.get_header_value("Content-Type"), "application/json");
    res.status = 409;
    res.set_content(R"({"kind":"Status","message":"already exists","code":409})",
                    "application/json");
  });
  auto c = RestClient::Create(api.Config());
  ASSERT_TRUE(c.ok());
  auto got = (*c)->Get("/api/v1/nodes/n1");
  ASSERT_TRUE(got.ok()) << got.error().message();
  EXPECT_EQ((*got)["metadata"]["name"], "n1");
  EXPECT_EQ(calls.load(), 3);
  EXPECT_EQ(auth, "Bearer t0k");
  auto missing = (*c)->Get("/api/v1/nodes/missing");
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(missing.error().is(ErrorCode::kNotFound));
  EXPECT_NE(missing.error().message().find("nodes \"missing\" not found"), std::string::npos);
  auto exists = (*c)->Post("/api/v1/nodes", {{"metadata", {{"name", "n1"}}}});
  ASSERT_FALSE(exists.ok());
  EXPECT_TRUE(exists.error().is(ErrorCode::kAlreadyExists));
}

TEST(RestClient, ConnectionRefused_IsUnavailable) {
  RestConfig cfg;
  cfg.server = "http://127.0.0.1:1";
  cfg.qps = 0;
  auto c = RestClient::Create(cfg);
  ASSERT_TRUE(c.ok());
  (*c)->max_retries = 1;
  auto r = (*c)->Get("/api/v1/nodes");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().is(ErrorCode::kUnavailable));
  EXPECT_EQ((*c)->stats().requests.load(), 2u);
}

class Recorder : public ReflectorHandler {
 public:
  void OnReplace(std::vector<nlohmann::json> items) override {
    std::lock_guard<std::mutex> l(mu);
    log.push_back("replace:" + std::to_string(items.size()));
    cv.notify_all();
  }
  void OnEvent(EventType t, nlohmann::json obj) override {
    std::lock_guard<std::mutex> l(mu);
    const char* names[] = {"added", "modified", "deleted"};
    log.push_back(std::string(names[static_cast<int>(t)]) + ":" +
                  obj["metadata"]["name"].get<std::string>());
    cv.notify_all();
  }
  bool WaitFor(size_t n) {
    std::unique_lock<std::mutex> l(mu);
    return cv.wait_for(l, std::chrono::seconds(10), [&] { return log.size() >= n; });
  }
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> log;
};

std::string Pod(const std::string& name, const std::string& rv) {
  return nlohmann::json{
      {"metadata", {{"name", name}, {"namespace", "default"}, {"resourceVersion", rv}}}}
      .dump();
}

// List, watch (events, a replay, a malformed line, a bookmark), re-watch from the bookmark's
// resourceVersion, 410 -> relist.
TEST(Reflector, ListWatch_Bookmark_Rewatch_GoneRelists) {
  FakeApiserver api;
  std::mutex mu;
  std::vector<std::string> watch_rvs;
  int lists = 0;
  api.srv().Get("/api/v1/pods", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> l(mu);
    EXPECT_EQ(req.get_param_value("fieldSelector"), "spec.nodeName=n1");
    if (req.get_param_value("watch") != "1") {
      ++lists;
      res.set_content(R"({"kind":"PodList","metadata":{"resourceVersion":"10"},"items":[)" +
                          Pod("a", "5") + "]}",
                      "application/json");
      return;
    }
    EXPECT_EQ(req.get_param_value("allowWatchBookmarks"), "true");
    watch_rvs.push_back(req.get_param_value("resourceVersion"));
    std::string body;
    if (watch_rvs.size() == 1) {
      body += R"({"type":"ADDED","object":)" + Pod("b", "11") + "}\n";
      body += R"({"type":"MODIFIED","object":)" + Pod("b", "11") + "}\n";  // a replay: dropped
      body += "{not json\n";
      body += R"({"type":"DELETED","object":)" + Pod("a", "12") + "}\n";
      body += R"({"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"20"}}})"
              "\n";
    } else if (watch_rvs.size() == 2) {
      body += R"({"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired"}})"
              "\n";
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // an idle watch that times out
    }
    res.set_content(body, "application/json");
  });
  auto c = RestClient::Create(api.Config());
  ASSERT_TRUE(c.ok());
  Recorder rec;
  Reflector::Options o;
  o.path = "/api/v1/pods";
  o.field_selector = "spec.nodeName=n1";
  o.min_backoff = std::chrono::milliseconds(10);
  Reflector r(**c, o, rec);
  r.Start();
  ASSERT_TRUE(rec.WaitFor(4));
  r.Stop();
  std::lock_guard<std::mutex> l(rec.mu);
  ASSERT_GE(rec.log.size(), 4u);
  EXPECT_EQ(rec.log[0], "replace:1");
  EXPECT_EQ(rec.log[1], "added:b");
  EXPECT_EQ(rec.log[2], "deleted:a");
  EXPECT_EQ(rec.log[3], "replace:1");  // relisted after the 410
  EXPECT_EQ(r.stats().malformed.load(), 1u);
  std::lock_guard<std::mutex> l2(mu);
  ASSERT_GE(watch_rvs.size(), 2u);
  EXPECT_EQ(watch_rvs[0], "10");
  EXPECT_EQ(watch_rvs[1], "20");  // from the bookmark, nothing replayed
  EXPECT_EQ(lists, 2);
}

// Objects of the wrong shape in a watch (a number for a name, a string for an error code, an
// object the consumer cannot take) are skipped one by one; the watch goes on.
TEST(Reflector, WrongShapes_SkippedAndTheWatchGoesOn) {
  FakeApiserver api;
  std::atomic<int> watches{0};
  api.srv().Get("/api/v1/pods", [&](const httplib::Request& req, httplib::Response& res) {
    if (req.get_param_value("watch") != "1") {
      res.set_content(R"({"kind":"PodList","metadata":{"resourceVersion":"10"},"items":[]})",
                      "application/json");
      return;
    }
    std::string body;
    if (watches++ == 0) {
      body += R"({"type":"ADDED","object":{"metadata":{"name":5,"namespace":["x"]}}})"
              "\n";
      body += R"({"type":"ERROR","object":{"code":"410","message":7}})"
              "\n";
      body +=
          R"({"type":"ADDED","object":{"metadata":{"name":"x","namespace":"default","resourceVersion":[1]}}})"
          "\n";
      body += R"({"type":"ADDED","object":)" + Pod("c", "13") + "}\n";
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    res.set_content(body, "application/json");
  });
  auto c = RestClient::Create(api.Config());
  ASSERT_TRUE(c.ok());
  Recorder rec;
  Reflector::Options o;
  o.path = "/api/v1/pods";
  o.min_backoff = std::chrono::milliseconds(10);
  Reflector r(**c, o, rec);
  r.Start();
  ASSERT_TRUE(rec.WaitFor(3));
  r.Stop();
  std::lock_guard<std::mutex> l(rec.mu);
  EXPECT_EQ(rec.log[0], "replace:0");
  EXPECT_EQ(rec.log[1], "added:x");  // a resourceVersion of the wrong type is only not remembered
  EXPECT_EQ(rec.log[2], "added:c");
  EXPECT_EQ(r.stats().malformed.load(), 1u);  // the nameless one
  EXPECT_EQ(r.stats().lists.load(), 1u);      // the string code is no 410
}

}  // namespace
}  // namespace nanolet::client
