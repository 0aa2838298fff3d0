// httpGet and tcpSocket probers on a real libuv loop against a loopback server.
#include <gtest/gtest.h>
#include <uv.h>

#include <sys/socket.h>
#include <unistd.h>

#include <optional>

#include "prober/http_prober.h"
#include "prober/tcp_prober.h"
#include "unit/prober/loopback_server.h"

namespace nanolet::prober {
namespace {

using testing::LoopbackServer;
using testing::Reply;

class ProberTest : public ::testing::Test {
 protected:
  ProberTest() {
    uv_loop_init(&loop_);
    http_ = std::make_unique<HttpProber>(&loop_);
    tcp_ = std::make_unique<TcpProber>(&loop_);
  }
  ~ProberTest() override {
    http_.reset();
    tcp_.reset();
    uv_run(&loop_, UV_RUN_DEFAULT);  // frees the closed handles
    EXPECT_EQ(uv_loop_close(&loop_), 0);
  }
  // Runs the loop until `done` is set or 5 s pass.
  ProbeOutcome Wait(std::optional<ProbeOutcome>& out) {
    uv_timer_t deadline;
    uv_timer_init(&loop_, &deadline);
    uv_timer_start(
        &deadline, [](uv_timer_t* t) { uv_stop(t->loop); }, 5000, 0);
    while (!out) {
      uv_run(&loop_, UV_RUN_ONCE);
      if (!uv_is_active(reinterpret_cast<uv_handle_t*>(&deadline))) break;
    }
    uv_close(reinterpret_cast<uv_handle_t*>(&deadline), nullptr);
    uv_run(&loop_, UV_RUN_NOWAIT);
    EXPECT_TRUE(out.has_value()) << "no outcome within 5 s";
    return out.value_or(ProbeOutcome{});
  }
  ProbeOutcome Get(int port, const std::string& path,
                   std::vector<std::pair<std::string, std::string>> hdrs = {},
                   std::chrono::milliseconds timeout = std::chrono::milliseconds(1000)) {
    HttpProbeRequest r;
    r.host = "127.0.0.1";
    r.port = port;
    r.path = path;
    r.headers = std::move(hdrs);
    r.timeout = timeout;
    std::optional<ProbeOutcome> out;
    http_->Get(r, [&](ProbeOutcome o) { out = std::move(o); });
    return Wait(out);
  }
  ProbeOutcome Tcp(const std::string& host, int port) {
    std::optional<ProbeOutcome> out;
    tcp_->Probe(host, port, std::chrono::milliseconds(1000),
                [&](ProbeOutcome o) { out = std::move(o); });
    return Wait(out);
  }

  uv_loop_t loop_;
  std::unique_ptr<HttpProber> http_;
  std::unique_ptr<TcpProber> tcp_;
};

using Kind = ProbeOutcome::Kind;

Reply Route(const std::string& path, const std::string& req, int port) {
  if (path == "/ok" || path.rfind("/ok?", 0) == 0) return {200, "", "fine"};
  if (path == "/missing") return {404, "", "nope"};
  if (path == "/error") return {500, "", "boom"};
  if (path == "/same") return {302, "Location: /ok\r\n", ""};
  if (path == "/same-abs")
    return {301, "Location: http://127.0.0.1:" + std::to_string(port) + "/missing\r\n", ""};
  if (path == "/other") return {302, "Location: http://127.0.0.2:1/elsewhere\r\n", "moved"};
  if (path == "/loop") return {302, "Location: /loop\r\n", ""};
  if (path == "/not-modified") return {304, "", ""};
  if (path == "/headers") {
    bool ok = req.find("User-Agent: kube-probe/") != std::string::npos &&
              req.find("X-Probe: yes") != std::string::npos &&
              req.find("Accept: */*") != std::string::npos &&
              req.find("Host: example.test") != std::string::npos;
    return {ok ? 200 : 400, "", req};
  }
  if (path == "/garbage") return {200, "", "", "garbage\r\n\r\n"};
  if (path == "/nothing") return {200, "", "", "\r\n\r\n"};
  if (path == "/chunked")
    return {200, "", "",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"};
  if (path == "/big") return {200, "", std::string(20000, 'x')};
  if (path == "/short")
    return {200, "", "", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this"};
  if (path == "/huge-head")
    return {200, "", "", "HTTP/1.1 200 OK\r\nX: " + std::string(100000, 'h') + "\r\n\r\n"};
  if (path == "/rel") return {302, "Location: /headers\r\n", ""};
  if (path == "/abs")
    return {302, "Location: http://127.0.0.1:" + std::to_string(port) + "/headers\r\n", ""};
  if (path == "/to-https")
    return {302, "Location: https://127.0.0.1:" + std::to_string(port) + "/ok\r\n", ""};
  if (path == "/slow") {
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    return {200, "", ""};
  }
  return {404, "", ""};
}

TEST_F(ProberTest, Http_StatusRanges) {
  int port = 0;
  LoopbackServer srv([&](const std::string& p, const std::string& r) { return Route(p, r, port); });
  port = srv.port();
  auto ok = Get(port, "/ok");
  EXPECT_EQ(ok.kind, Kind::kSuccess);
  EXPECT_EQ(ok.output, "fine");
  auto missing = Get(port, "missing");  // no leading slash: one is added
  EXPECT_EQ(missing.kind, Kind::kFailure);
  EXPECT_EQ(missing.output, "HTTP probe failed with statuscode: 404");
  EXPECT_EQ(Get(port, "/error").kind, Kind::kFailure);
  // 3xx without a redirect to follow is still in 200-399: a success with a warning.
  EXPECT_EQ(Get(port, "/not-modified").kind, Kind::kWarning);
}

TEST_F(ProberTest, Http_Redirects_FollowedOnSameHost_WarningForOtherHost_LimitedTo10) {
  int port = 0;
  LoopbackServer srv([&](const std::string& p, const std::string& r) { return Route(p, r, port); });
  port = srv.port();
  EXPECT_EQ(Get(port, "/same").kind, Kind::kSuccess);
  auto abs = Get(port, "/same-abs");
  EXPECT_EQ(abs.kind, Kind::kFailure);  // followed to /missing
  auto other = Get(port, "/other");
  EXPECT_EQ(other.kind, Kind::kWarning);
  EXPECT_NE(other.output.find("Probe terminated redirects"), std::string::npos);
  int before = srv.requests();
  auto loop = Get(port, "/loop");
  EXPECT_EQ(loop.kind, Kind::kFailure);
  EXPECT_NE(loop.output.find("stopped after 10 redirects"), std::string::npos);
  EXPECT_EQ(srv.requests() - before, 11);
}

TEST_F(ProberTest, Http_Headers_DefaultsAndOverrides) {
  int port = 0;
  LoopbackServer srv([&](const std::string& p, const std::string& r) { return Route(p, r, port); });
  port = srv.port();
  auto o = Get(port, "/headers", {{"X-Probe", "yes"}, {"Host", "example.test"}});
  EXPECT_EQ(o.kind, Kind::kSuccess) << o.output;
}

TEST_F(ProberTest, Http_Timeout_IsFailure) {
  int port = 0;
  LoopbackServer srv([&](const std::string& p, const std::string& r) { return Route(p, r, port); });
  port = srv.port();
  auto o = Get(port, "/slow", {}, std::chrono::milliseconds(200));
  EXPECT_EQ(o.kind, Kind::kFailure);
  EXPECT_NE(o.output.find("Get \"http://127.0.0.1:"), std::string::npos) << o.output;
}

TEST_F(ProberTest, Http_ConnectionRefused_IsFailure) {
  int port;
  {
    LoopbackServer srv([](const std::string&, const std::string&) { return Reply{}; });
    port = srv.port();
  }
  EXPECT_EQ(Get(port, "/ok").kind, Kind::kFailure);
}

TEST_F(ProberTest, Http_RequestBytes_AsUpstream) {
  int port = 0;
  LoopbackServer srv([&](const std::string& p, const std::string& r) { return Route(p, r, port); });
  port = srv.port();
  ASSERT_EQ(Get(port, "/ok?a=b c").kind, Kind::kSuccess);
  std::string req = srv.last_request();
  EXPECT_EQ(req.substr(0, req.find("\r\n") + 2), "GET /ok?a=b%20c HTTP/1.1\r\n") << req;
  EXPECT_NE(req.find("\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\n"), std::string::npos);
  EXPECT_NE(req.find("\r\nUser-Agent: kube-probe/1."), std::string::npos) << req;
  EXPECT_NE(req.find("\r\nAccept: */*\r\n"), std::string::npos) << req;
  EXPECT_NE(req.find("\r\nConnection: close\r\n"), std::string::npos) << req;
  // Keys canonicalised as Go's; an empty Accept removes it; a set User-Agent replaces the default.
  ASSERT_EQ(Get(port, "/ok", {{"x-custom-thing", "1"}, {"accept", ""}, {"User-Agent", "me"}}).kind,
            Kind::kSuccess);
  req = srv.last_request();
  EXPECT_NE(req.find("\r\nX-Custom-Thing: 1\r\n"), std::string::npos) << req;
  EXPECT_EQ(req.find("Accept"), std::string::npos) << req;
  EXPECT_NE(req.find("\r\nUser-Agent: me\r\n"), std::string::npos) << req;
  EXPECT_EQ(req.find("kube-probe"), std::string::npos) << req;
  // A header value that would split the request is refused before anything is sent.
  int before = srv.requests();
  auto bad = Get(port, "/ok", {{"X-Evil", "a\r\nX-Injected: 1"}});
  EXPECT_EQ(bad.kind, Kind::kFailure);
  EXPECT_NE(bad.output.find("invalid header field value for \"X-Evil\""), std::string::npos)
      << bad.output;
  EXPECT_EQ(srv.requests(), before);
}

TEST_F(ProberTest, Http_BadResponses) {
  int port = 0;
  LoopbackServer srv([&](const std::string& p, const std::string& r) { return Route(p, r, port); });
  port = srv.port();
  auto garbage = Get(port, "/garbage");
  EXPECT_EQ(garbage.kind, Kind::kFailure);
  EXPECT_NE(garbage.output.find("malformed HTTP response \"garbage\""), std::string::npos)
      << garbage.output;
  EXPECT_EQ(Get(port, "/nothing").kind, Kind::kFailure);
  auto head = Get(port, "/huge-head");
  EXPECT_EQ(head.kind, Kind::kFailure);
  EXPECT_NE(head.output.find("headers exceeded"), std::string::npos) << head.output;
  // A body cut short is a read error: "errored", the result is left as it was.
  EXPECT_EQ(Get(port, "/short").kind, Kind::kUnknown);
}

TEST_F(ProberTest, Http_Bodies_ChunkedDecoded_LongTruncatedTo10KiB) {
  int port = 0;
  LoopbackServer srv([&](const std::string& p, const std::string& r) { return Route(p, r, port); });
  port = srv.port();
  auto chunked = Get(port, "/chunked");
  EXPECT_EQ(chunked.kind, Kind::kSuccess);
  EXPECT_EQ(chunked.output, "abc");
  auto big = Get(port, "/big");
  EXPECT_EQ(big.kind, Kind::kSuccess);
  EXPECT_EQ(big.output, std::string(kMaxProbeOutput, 'x'));
}

TEST_F(ProberTest, Http_HostHeader_KeptOnRelativeRedirect_DroppedOnAbsolute) {
  int port = 0;
  LoopbackServer srv([&](const std::string& p, const std::string& r) { return Route(p, r, port); });
  port = srv.port();
  auto o = Get(port, "/rel", {{"X-Probe", "yes"}, {"Host", "example.test"}});
  EXPECT_EQ(o.kind, Kind::kSuccess) << o.output;  // /headers saw the Host header
  o = Get(port, "/abs", {{"X-Probe", "yes"}, {"Host", "example.test"}});
  EXPECT_EQ(o.kind, Kind::kFailure) << o.output;  // as Go: not kept across an absolute redirect
  EXPECT_EQ(o.output, "HTTP probe failed with statuscode: 400");
}

TEST_F(ProberTest, Http_RedirectToHttpsOnSameHost_GoesThroughTLS) {
  int port = 0;
  LoopbackServer srv([&](const std::string& p, const std::string& r) { return Route(p, r, port); });
  port = srv.port();
  // The loopback server speaks no TLS: the https hop fails (through curl), it is not skipped.
  auto o = Get(port, "/to-https");
  EXPECT_EQ(o.kind, Kind::kFailure);
  EXPECT_NE(o.output.find("Get \"https://127.0.0.1:"), std::string::npos) << o.output;
}

TEST_F(ProberTest, Http_NoAnswer_TimesOutOnTheDeadline) {
  // A socket that listens but never accepts: the connection opens (backlog), no response comes.
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  uint64_t t0 = uv_hrtime();
  auto o = Get(ntohs(a.sin_port), "/x", {}, std::chrono::milliseconds(150));
  uint64_t ms = (uv_hrtime() - t0) / 1000000;
  ::close(fd);
  EXPECT_EQ(o.kind, Kind::kFailure);
  EXPECT_NE(o.output.find("context deadline exceeded"), std::string::npos) << o.output;
  EXPECT_GE(ms, 140u);
  EXPECT_EQ(http_->in_flight(), 0u);
}

TEST_F(ProberTest, Http_NameIsResolved_AbandonedProbesNeverCallBack) {
  int port = 0;
  LoopbackServer srv([&](const std::string& p, const std::string& r) { return Route(p, r, port); });
  port = srv.port();
  HttpProbeRequest r;
  r.host = "localhost";
  r.port = port;
  r.path = "/ok";
  std::optional<ProbeOutcome> out;
  http_->Get(r, [&](ProbeOutcome o) { out = std::move(o); });
  EXPECT_EQ(Wait(out).kind, Kind::kSuccess);
  // Probes in every stage (resolving, connecting) dropped with the prober: no callback, no leak
  // (the fixture runs the loop empty and closes it).
  bool called = false;
  r.host = "127.0.0.1";
  http_->Get(r, [&](ProbeOutcome) { called = true; });
  r.host = "localhost";
  http_->Get(r, [&](ProbeOutcome) { called = true; });
  EXPECT_EQ(http_->in_flight(), 2u);
  http_.reset();
  uv_run(&loop_, UV_RUN_DEFAULT);
  EXPECT_FALSE(called);
}

TEST_F(ProberTest, Http_URL) {
  HttpProbeRequest r;
  r.scheme = "HTTPS";
  r.host = "fd00::1";
  r.port = 8443;
  r.path = "healthz?x=1";
  EXPECT_EQ(HttpProbeURL(r), "https://[fd00::1]:8443/healthz?x=1");
}

TEST_F(ProberTest, Tcp_OpenPortSucceeds_ClosedPortFails) {
  int port;
  {
    LoopbackServer srv([](const std::string&, const std::string&) { return Reply{}; });
    port = srv.port();
    EXPECT_EQ(Tcp("127.0.0.1", port).kind, Kind::kSuccess);
    EXPECT_EQ(Tcp("localhost", port).kind, Kind::kSuccess);  // a name is resolved first
  }
  auto o = Tcp("127.0.0.1", port);
  EXPECT_EQ(o.kind, Kind::kFailure);
  EXPECT_NE(o.output.find("connection refused"), std::string::npos) << o.output;
}

TEST_F(ProberTest, ManyConcurrentProbes_AllComplete) {
  int port = 0;
  LoopbackServer srv([&](const std::string& p, const std::string& r) { return Route(p, r, port); });
  port = srv.port();
  int done = 0, ok = 0;
  for (int i = 0; i < 50; ++i) {
    HttpProbeRequest r;
    r.host = "127.0.0.1";
    r.port = port;
    r.path = "/ok";
    r.timeout = std::chrono::milliseconds(3000);
    http_->Get(r, [&](ProbeOutcome o) {
      ++done;
      ok += o.kind == Kind::kSuccess;
    });
  }
  std::optional<ProbeOutcome> never;
  uv_timer_t deadline;
  uv_timer_init(&loop_, &deadline);
  uv_timer_start(
      &deadline, [](uv_timer_t*) {}, 5000, 0);
  while (done < 50 && uv_is_active(reinterpret_cast<uv_handle_t*>(&deadline)))
    uv_run(&loop_, UV_RUN_ONCE);
  uv_close(reinterpret_cast<uv_handle_t*>(&deadline), nullptr);
  uv_run(&loop_, UV_RUN_NOWAIT);  // finishes the close while `deadline` is still alive
  EXPECT_EQ(done, 50);
  EXPECT_EQ(ok, 50);
  EXPECT_EQ(http_->in_flight(), 0u);
}

}  // namespace
}  // namespace nanolet::prober
