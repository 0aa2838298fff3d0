// The authenticated port (auth, TLS, /containerLogs, /runningpods/) and the HTTP layer's limits
// under bad input (thousands of connections, slow trickles, oversized headers).
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

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "server/auth.h"
#include "server/http_server.h"
#include "server/read_only_server.h"
#include "server/tls_cert.h"
#include "util/fs.h"
#include "util/timefmt.h"

namespace nanolet::server {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class SecTempDir {
 public:
  SecTempDir() {
    char t[] = "/tmp/nanolet-sec-XXXXXX";
    path_ = ::mkdtemp(t);
  }
  ~SecTempDir() { (void)RemoveAll(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// ---- token file and the auth decision ----

TEST(TokenFile, ParsesUpstreamCsv) {
  auto a = TokenFileAuthenticator::Parse(
      "admin-token,admin,uid-1,\"system:masters,dev\"\n"
      "\n"
      "plain-token, bob, uid-2\n"
      " spaced , carol,uid-3,\"g1, g2\"\n",
      "tokens.csv");
  ASSERT_TRUE(a.ok()) << a.error().message();
  EXPECT_EQ((*a)->size(), 3u);
  auto u = (*a)->AuthenticateToken("admin-token");
  ASSERT_TRUE(u.ok() && u->has_value());
  EXPECT_EQ((*u)->name, "admin");
  EXPECT_EQ((*u)->uid, "uid-1");
  EXPECT_EQ((*u)->groups, (std::vector<std::string>{"system:masters", "dev"}));
  auto b = (*a)->AuthenticateToken("plain-token");
  ASSERT_TRUE(b.ok() && b->has_value());
  EXPECT_EQ((*b)->name, "bob");
  EXPECT_TRUE((*b)->groups.empty());
  auto c = (*a)->AuthenticateToken("spaced ");
  ASSERT_TRUE(c.ok() && c->has_value());
  EXPECT_EQ((*c)->groups, (std::vector<std::string>{"g1", "g2"}));
  auto none = (*a)->AuthenticateToken("nope");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST(TokenFile, TooFewColumnsNamesTheLine) {
  auto a = TokenFileAuthenticator::Parse("t,u,1\nonly,two\n", "f.csv");
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.error().message().find("line 2"), std::string::npos) << a.error().message();
  EXPECT_NE(a.error().message().find("at least 3 columns"), std::string::npos);
}

TEST(Auth, Decisions) {
  auto tokens = TokenFileAuthenticator::Parse(
      "admin-token,admin,1,system:masters\napi-token,apiserver,2,system:kubelet-api-admin\n"
      "plain-token,bob,3,dev\n",
      "t");
  ASSERT_TRUE(tokens.ok());
  GroupAuthorizer authz;
  struct Case {
    std::string header;
    bool anonymous;
    AuthOutcome want;
  } cases[] = {
      {"", false, AuthOutcome::kUnauthorized},
      {"", true, AuthOutcome::kForbidden},  // system:anonymous is not allowed
      {"Bearer nope", false, AuthOutcome::kUnauthorized},
      {"Bearer nope", true, AuthOutcome::kUnauthorized},  // a bad token is never anonymous
      {"Basic YWRtaW46eA==", false, AuthOutcome::kUnauthorized},
      {"Bearer ", false, AuthOutcome::kUnauthorized},
      {"Bearer plain-token", false, AuthOutcome::kForbidden},
      {"Bearer admin-token", false, AuthOutcome::kAllowed},
      {"bearer admin-token", false, AuthOutcome::kAllowed},
      {"Bearer api-token", false, AuthOutcome::kAllowed},
  };
  for (const auto& c : cases) {
    auto d = AuthenticateAndAuthorize("GET", "/pods", c.header, c.anonymous, tokens->get(), authz);
    EXPECT_EQ(d.outcome, c.want) << "header '" << c.header << "' anonymous " << c.anonymous;
  }
  auto d = AuthenticateAndAuthorize("GET", "/containerLogs/a/b/c", "Bearer plain-token", false,
                                    tokens->get(), authz);
  EXPECT_EQ(d.message, "Forbidden (user=bob, verb=get, resource=nodes, subresource(s)=[proxy])");
  EXPECT_EQ(AttributesFor("GET", "/stats/summary").subresource, "stats");
  EXPECT_EQ(AttributesFor("GET", "/metrics").subresource, "metrics");
  EXPECT_EQ(AttributesFor("POST", "/pods").verb, "create");
}

TEST(TlsCert, GeneratedOnceAndReused) {
  SecTempDir d;
  auto a = EnsureSelfSignedCert(d.path() + "/pki", "node1");
  ASSERT_TRUE(a.ok()) << a.error().message();
  struct stat st;
  ASSERT_EQ(::stat(a->key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto first = ReadFile(a->cert);
  auto b = EnsureSelfSignedCert(d.path() + "/pki", "node1");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*ReadFile(b->cert), *first);  // reused, not regenerated
  ASSERT_TRUE(WriteFile(a->cert, "garbage").ok());
  auto c = EnsureSelfSignedCert(d.path() + "/pki", "node1");
  ASSERT_TRUE(c.ok());
  EXPECT_NE(*ReadFile(c->cert), "garbage");  // an unusable pair is replaced
}

// ---- the authenticated port ----

api::Pod SecPod(const std::string& name, const std::string& uid, bool running) {
  api::Pod p;
  p.metadata.name = name;
  p.metadata.namespace_ = "default";
  p.metadata.uid = uid;
  p.metadata.creation_timestamp = "2026-11-27T18:00:00Z";
  api::Container c;
  c.name = "app";
  c.image = "busybox";
  p.spec.containers.push_back(c);
  p.status.phase = running ? "Running" : "Pending";
  api::ContainerStatus cs;
  cs.name = "app";
  cs.image = "docker.io/library/busybox:latest";
  cs.container_id = "runc://" + uid;
  if (running) cs.state.running = api::ContainerStateRunning{"2026-11-27T18:00:02Z"};
  p.status.container_statuses.push_back(cs);
  return p;
}

class SecureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    view_.Publish({SecPod("web", "uid-web", true), SecPod("idle", "uid-idle", false)});
    log_dir_ = logs_.path() + "/default_web_uid-web/app";
    ASSERT_TRUE(MkdirAll(log_dir_).ok());
    ASSERT_TRUE(WriteFile(log_dir_ + "/0.log",
                          "2026-11-27T18:00:03.000000001Z stdout F one\n"
                          "2026-11-27T18:00:04.000000001Z stderr F two\n"
                          "2026-11-27T18:19:50.000000001Z stdout F three\n")
                    .ok());
    auto t = TokenFileAuthenticator::Parse(
        "admin-token,admin,1,system:masters\nplain-token,bob,2,dev\n", "t");
    ASSERT_TRUE(t.ok());
    tokens_ = std::move(*t);
    clock_.Set(*ParseRFC3339("2026-11-27T18:20:00Z"));
    ReadOnlyServerOptions o;
    o.address = "127.0.0.1";
    o.port = -1;
    o.secure_port = 0;
    o.pod_logs_dir = logs_.path();
    o.root_dir = root_.path();
    o.node_name = "node1";
    o.authenticator = tokens_.get();
    o.request_timeout = 2s;
    o.housekeeping_interval = 0ms;
    server_ = std::make_unique<ReadOnlyServer>(o, view_, nullptr, &registry_, &clock_);
    auto r = server_->Start();
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_EQ(server_->port(), -1);
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }

  std::unique_ptr<httplib::SSLClient> Client() {
    auto c = std::make_unique<httplib::SSLClient>("127.0.0.1", server_->secure_port());
    c->enable_server_certificate_verification(false);
    c->set_read_timeout(10, 0);
    return c;
  }
  httplib::Result Get(const std::string& path, const std::string& token = "admin-token") {
    httplib::Headers h;
    if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
    return Client()->Get(path.c_str(), h);
  }

  kubelet::SnapshotPodView view_;
  SecTempDir logs_, root_;
  std::string log_dir_;
  FakeClock clock_;
  metrics::Registry registry_;
  std::unique_ptr<TokenFileAuthenticator> tokens_;
  std::unique_ptr<ReadOnlyServer> server_;
};

TEST_F(SecureTest, SelfSignedCertUnderRootPki) {
  EXPECT_TRUE(PathExists(root_.path() + "/pki/kubelet.crt"));
  EXPECT_TRUE(PathExists(root_.path() + "/pki/kubelet.key"));
  // Plain HTTP to the TLS port gets no answer it could mistake for one.
  httplib::Client plain("127.0.0.1", server_->secure_port());
  plain.set_read_timeout(3, 0);
  auto r = plain.Get("/healthz");
  EXPECT_TRUE(!r || r->status != 200);
}

TEST_F(SecureTest, UnauthorizedForbiddenAllowed) {
  for (const char* path :
       {"/healthz", "/pods", "/runningpods/", "/containerLogs/default/web/app"}) {
    auto none = Get(path, "");
    ASSERT_TRUE(none) << path;
    EXPECT_EQ(none->status, 401) << path;
    EXPECT_EQ(Get(path, "wrong-token")->status, 401) << path;
    auto bob = Get(path, "plain-token");
    EXPECT_EQ(bob->status, 403) << path;
    EXPECT_NE(bob->body.find("user=bob"), std::string::npos);
    EXPECT_EQ(Get(path)->status, 200) << path;
  }
  EXPECT_EQ(Get("/healthz")->body, "ok");
  EXPECT_EQ(Get("/nothing-here")->status, 404);
  // The kubectl emulation stays on the read-only port.
  EXPECT_EQ(Get("/api/v1/pods")->status, 404);
}

TEST_F(SecureTest, PodsAndRunningPods) {
  auto pods = json::parse(Get("/pods")->body);
  EXPECT_EQ(pods["kind"], "PodList");
  EXPECT_EQ(pods["items"].size(), 2u);
  auto running = json::parse(Get("/runningpods/")->body);
  ASSERT_EQ(running["items"].size(), 1u);
  EXPECT_EQ(running["items"][0]["metadata"]["name"], "web");
  EXPECT_EQ(running["items"][0]["metadata"]["uid"], "uid-web");
  EXPECT_EQ(running["items"][0]["spec"]["containers"][0]["name"], "app");
  EXPECT_EQ(running["items"][0]["spec"]["containers"][0]["image"],
            "docker.io/library/busybox:latest");
}

TEST_F(SecureTest, ContainerLogsParameters) {
  const std::string base = "/containerLogs/default/web/app";
  EXPECT_EQ(Get(base)->body, "one\ntwo\nthree\n");
  EXPECT_EQ(Get(base + "?tailLines=2")->body, "two\nthree\n");
  EXPECT_EQ(Get(base + "?tailLines=0")->body, "");
  EXPECT_EQ(Get(base + "?limitBytes=5")->body, "one\nt");
  EXPECT_EQ(Get(base + "?timestamps=true&tailLines=1")->body,
            "2026-11-27T18:19:50.000000001Z three\n");
  EXPECT_EQ(Get(base + "?sinceSeconds=60")->body, "three\n");  // clock: 18:20:00
  EXPECT_EQ(Get(base + "?sinceTime=2026-11-27T18:00:04Z")->body, "two\nthree\n");
  EXPECT_EQ(Get(base + "?previous=true")->status, 400);  // never restarted
  EXPECT_EQ(Get(base + "?tailLines=-1")->status, 400);
  EXPECT_EQ(Get(base + "?limitBytes=0")->status, 400);
  EXPECT_EQ(Get(base + "?follow=maybe")->status, 400);
  EXPECT_EQ(Get(base + "?sinceSeconds=5&sinceTime=2026-11-27T18:00:04Z")->status, 400);
  EXPECT_EQ(Get("/containerLogs/default/ghost/app")->status, 404);
  EXPECT_EQ(Get("/containerLogs/default/web/nope")->status, 404);
  EXPECT_EQ(Get("/containerLogs/default/web")->status, 400);
}

TEST_F(SecureTest, ContainerLogsPreviousAfterRestart) {
  auto pods = *view_.Pods();
  pods[0].status.container_statuses[0].restart_count = 1;
  view_.Publish(pods);
  ASSERT_TRUE(WriteFile(log_dir_ + "/1.log", "2026-11-27T18:19:59.000000001Z stdout F new\n").ok());
  EXPECT_EQ(Get("/containerLogs/default/web/app")->body, "new\n");
  EXPECT_EQ(Get("/containerLogs/default/web/app?previous=true")->body, "one\ntwo\nthree\n");
}

TEST_F(SecureTest, PathTraversalNeverLeavesTheLogDir) {
  // A file outside the log dir that a traversal would reach.
  ASSERT_TRUE(
      WriteFile(logs_.path() + "/secret.log", "2026-11-27T18:00:00Z stdout F SECRET\n").ok());
  ASSERT_TRUE(WriteFile(logs_.path() + "/default_web_uid-web/0.log",
                        "2026-11-27T18:00:00Z stdout F SECRET\n")
                  .ok());
  for (const char* p :
       {"/containerLogs/default/web/..", "/containerLogs/default/web/%2e%2e",
        "/containerLogs/default/web/..%2f..%2fsecret", "/containerLogs/default/web/../../secret",
        "/containerLogs/../default/web/app", "/containerLogs/default/../web/app",
        "/containerLogs/default/web/app%2f..%2f..", "/containerLogs/default/web/app/../..",
        "/containerLogs/%2e%2e/%2e%2e/etc", "/containerLogs/default/web/app%00"}) {
    auto r = Get(p);
    ASSERT_TRUE(r) << p;
    EXPECT_TRUE(r->status == 400 || r->status == 404) << p << " -> " << r->status;
    EXPECT_EQ(r->body.find("SECRET"), std::string::npos) << p;
    EXPECT_EQ(r->body.find("root:"), std::string::npos) << p;
  }
}

// Follows on the authenticated port keep going across the monitor's rotation: 0.log renamed to
// 0.log.<YYYYMMDD-hhmmss>, a new 0.log created.
TEST_F(SecureTest, FollowAcrossRotation) {
  std::string got;
  std::mutex mu;
  auto c = Client();
  std::thread t([&] {
    c->Get("/containerLogs/default/web/app?follow=true&tailLines=1",
           {{"Authorization", "Bearer admin-token"}}, [&](const char* d, size_t n) {
             std::lock_guard<std::mutex> l(mu);
             got.append(d, n);
             return got.find("after-second") == std::string::npos;
           });
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
  ASSERT_TRUE(wait_for("three\n"));
  {
    std::ofstream f(log_dir_ + "/0.log", std::ios::app);
    f << "2026-11-27T18:20:01.000000001Z stdout F appended\n";
  }
  ASSERT_TRUE(wait_for("appended\n"));
  // Rotation as monitor/monitor.c does it; a record lands in the old file just before the rename.
  {
    std::ofstream f(log_dir_ + "/0.log", std::ios::app);
    f << "2026-11-27T18:20:02.000000001Z stdout F last-before-rotate\n";
  }
  ASSERT_EQ(::rename((log_dir_ + "/0.log").c_str(), (log_dir_ + "/0.log.20261127-182002").c_str()),
            0);
  ASSERT_TRUE(
      WriteFile(log_dir_ + "/0.log", "2026-11-27T18:20:03.000000001Z stdout F after-first\n").ok());
  ASSERT_TRUE(wait_for("after-first\n"));
  ASSERT_EQ(::rename((log_dir_ + "/0.log").c_str(), (log_dir_ + "/0.log.20261127-182003").c_str()),
            0);
  ASSERT_TRUE(
      WriteFile(log_dir_ + "/0.log", "2026-11-27T18:20:04.000000001Z stdout F after-second\n")
          .ok());
  ASSERT_TRUE(wait_for("after-second\n"));
  t.join();
  EXPECT_EQ(got, "three\nappended\nlast-before-rotate\nafter-first\nafter-second\n");
}

TEST_F(SecureTest, FollowEndsWhenClientGoesAway) {
  for (int i = 0; i < 3; ++i) {
    std::atomic<int> chunks{0};
    auto c = Client();
    c->Get("/containerLogs/default/web/app?follow=true", {{"Authorization", "Bearer admin-token"}},
           [&](const char*, size_t) { return ++chunks < 1; });  // hang up after the first chunk
    EXPECT_GE(chunks.load(), 1);
  }
  // The follows were released (max_follows is 16; these ran one after another anyway) and the
  // server still answers.
  EXPECT_EQ(Get("/healthz")->status, 200);
}

// ---- the HTTP layer under bad input ----

int SecConnect(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
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

std::pair<std::string, bool> SecReadUntilClose(int fd, std::chrono::milliseconds limit) {
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    char buf[4096];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return {out, true};
    out.append(buf, n);
  }
  return {out, false};
}

class HttpLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HttpServerOptions o;
    o.address = "127.0.0.1";
    o.request_timeout = 1s;
    o.max_connections = 20000;
    server_ = std::make_unique<HttpServer>(o, [](const HttpRequest& req, HttpResponse& res) {
      res.SetContent(req.path == "/healthz" ? "ok" : "x", "text/plain");
    });
    ASSERT_TRUE(server_->Start().ok());
  }
  int Healthz() {
    httplib::Client c("127.0.0.1", server_->port());
    c.set_connection_timeout(15, 0);
    c.set_read_timeout(15, 0);
    auto r = c.Get("/healthz");
    return r ? r->status : -1;
  }
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpLimitsTest, OversizedHeadersAre431) {
  int fd = SecConnect(server_->port());
  ASSERT_GE(fd, 0);
  std::string req =
      "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(16 << 10, 'a') + "\r\n\r\n";
  (void)::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  auto [out, closed] = SecReadUntilClose(fd, 5s);
  ::close(fd);
  EXPECT_TRUE(closed);
  EXPECT_EQ(out.rfind("HTTP/1.1 431", 0), 0u) << out.substr(0, 60);
  // Many small headers add up as well.
  fd = SecConnect(server_->port());
  req = "GET /healthz HTTP/1.1\r\n";
  for (int i = 0; i < 2000; ++i) req += "X-H" + std::to_string(i) + ": v\r\n";
  req += "\r\n";
  (void)::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  auto [out2, closed2] = SecReadUntilClose(fd, 5s);
  ::close(fd);
  EXPECT_EQ(out2.rfind("HTTP/1.1 431", 0), 0u) << out2.substr(0, 60);
  EXPECT_EQ(Healthz(), 200);
}

TEST_F(HttpLimitsTest, GarbageIs400) {
  for (const char* g : {"GARBAGE\r\n\r\n", "GET\r\n\r\n", "GET / HTTP/9.9\r\nHost: x\r\n\r\n",
                        "GET / HTTP/1.1\r\nContent-Length: -5\r\n\r\n", "GET x HTTP/1.1\r\n\r\n"}) {
    int fd = SecConnect(server_->port());
    ASSERT_GE(fd, 0);
    (void)::send(fd, g, strlen(g), MSG_NOSIGNAL);
    auto [out, closed] = SecReadUntilClose(fd, 3s);
    ::close(fd);
    EXPECT_TRUE(closed) << g;
    EXPECT_EQ(out.rfind("HTTP/1.1 4", 0), 0u) << g << " -> " << out.substr(0, 40);
  }
  EXPECT_EQ(Healthz(), 200);
}

// A client trickling a byte every 100 ms never completes a request within the 1 s deadline: it
// is dropped although it is never silent for long.
TEST_F(HttpLimitsTest, SlowTrickleIsDropped) {
  int fd = SecConnect(server_->port());
  ASSERT_GE(fd, 0);
  std::string req = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + std::string(200, 'a');
  auto start = std::chrono::steady_clock::now();
  bool closed = false;
  for (char ch : req) {
    if (::send(fd, &ch, 1, MSG_NOSIGNAL) != 1) {
      closed = true;
      break;
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) > 0) {
      char buf[256];
      if (::read(fd, buf, sizeof buf) <= 0) {
        closed = true;
        break;
      }
    }
  }
  ::close(fd);
  EXPECT_TRUE(closed);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 4s);
  EXPECT_EQ(Healthz(), 200);
}

// Thousands of open connections (descriptors far above FD_SETSIZE), idle and half-sent: no crash,
// and the server still answers.
TEST_F(HttpLimitsTest, ThousandsOfConnections) {
  rlimit rl{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &rl), 0);
  rlimit saved = rl;
  rl.rlim_cur = std::min<rlim_t>(rl.rlim_max, 20000);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &rl), 0);
  const int n = static_cast<int>(std::min<rlim_t>(3000, (rl.rlim_cur - 200) / 2));
  ASSERT_GE(n, 1500) << "open-files limit too low for this test";
  // A long request deadline: every connection stays open until the checks below ran.
  server_->Stop();
  HttpServerOptions o;
  o.address = "127.0.0.1";
  o.request_timeout = 60s;
  o.max_connections = 20000;
  server_ = std::make_unique<HttpServer>(o, [](const HttpRequest& req, HttpResponse& res) {
    res.SetContent(req.path == "/healthz" ? "ok" : "x", "text/plain");
  });
  ASSERT_TRUE(server_->Start().ok());
  std::vector<int> fds;
  const char* partial = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < n; ++i) {
    int fd = SecConnect(server_->port());
    if (fd < 0) break;
    if (i % 2) (void)::send(fd, partial, strlen(partial), MSG_NOSIGNAL);
    fds.push_back(fd);
  }
  EXPECT_EQ(static_cast<int>(fds.size()), n);
  // Every connection got its own descriptor on the server side, most of them above 1023.
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (server_->connections() < static_cast<size_t>(n) - 10 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_GE(server_->connections(), static_cast<size_t>(n) - 10);
  EXPECT_EQ(Healthz(), 200);
  // A request on the last idle connection (even index: nothing sent yet) is served too.
  int last = fds[(fds.size() - 1) & ~size_t{1}];
  const char* full = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  (void)::send(last, full, strlen(full), MSG_NOSIGNAL);
  auto [out, closed] = SecReadUntilClose(last, 15s);
  EXPECT_NE(out.find("\r\n\r\nok"), std::string::npos) << out.substr(0, 80);
  for (int fd : fds) ::close(fd);
  // All of them are dropped once the client closed them. The deadlines
  // in this test are generous because it runs beside whole builds on a 2-core machine.
  deadline = std::chrono::steady_clock::now() + 30s;
  while (server_->connections() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(server_->connections(), 0u);
  EXPECT_EQ(Healthz(), 200);
  ::setrlimit(RLIMIT_NOFILE, &saved);
}

TEST_F(HttpLimitsTest, ConnectionCapClosesExtraConnections) {
  server_->Stop();
  HttpServerOptions o;
  o.address = "127.0.0.1";
  o.max_connections = 5;
  o.request_timeout = 2s;
  server_ = std::make_unique<HttpServer>(
      o, [](const HttpRequest&, HttpResponse& res) { res.SetContent("ok", "text/plain"); });
  ASSERT_TRUE(server_->Start().ok());
  std::vector<int> fds;
  for (int i = 0; i < 5; ++i) fds.push_back(SecConnect(server_->port()));
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (server_->connections() < 5 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  int extra = SecConnect(server_->port());
  ASSERT_GE(extra, 0);
  auto [out, closed] = SecReadUntilClose(extra, 3s);
  EXPECT_TRUE(closed);
  EXPECT_TRUE(out.empty());
  ::close(extra);
  for (int fd : fds) ::close(fd);
  deadline = std::chrono::steady_clock::now() + 5s;
  while (server_->connections() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(Healthz(), 200);
}

TEST(PercentDecode, Cases) {
  EXPECT_EQ(PercentDecode("%2e%2E/a+b", false), "../a+b");
  EXPECT_EQ(PercentDecode("a+b%20c", true), "a b c");
  EXPECT_EQ(PercentDecode("%zz%4", false), "%zz%4");
}

}  // namespace
}  // namespace nanolet::server
