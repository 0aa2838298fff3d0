// grpc probes: the prober on a real libuv loop against a real gRPC server (python3-grpcio,
// tests/fixtures/grpc_health/server.py) on loopback, and the HTTP/2 session fed with hand-made
// frames for what a well-behaved server never sends.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <vector>

#include "prober/grpc_prober.h"
#include "unit/prober/grpc_server.h"

namespace nanolet::prober {
namespace {

using namespace std::chrono_literals;
using testing::GrpcServer;

// A port that refuses connections: bound, never listened on, closed at the end.
struct ClosedPort {
  ClosedPort() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~ClosedPort() { ::close(fd); }
  int fd = -1;
  int port = 0;
};

class GrpcProberTest : public ::testing::Test {
 protected:
  GrpcProberTest() {
    uv_loop_init(&loop_);
    grpc_ = std::make_unique<GrpcProber>(&loop_);
  }
  ~GrpcProberTest() override {
    grpc_.reset();
    uv_run(&loop_, UV_RUN_DEFAULT);  // frees the closed handles
    EXPECT_EQ(uv_loop_close(&loop_), 0);
  }
  // One probe; runs the loop until the outcome or 10 s.
  ProbeOutcome Probe(int port, std::chrono::milliseconds timeout = 2000ms,
                     const std::string& service = "") {
    std::optional<ProbeOutcome> out;
    grpc_->Probe("127.0.0.1", port, service, timeout, [&](ProbeOutcome o) { out = std::move(o); });
    EXPECT_FALSE(out.has_value()) << "delivered inside Probe";
    uv_timer_t guard;
    uv_timer_init(&loop_, &guard);
    uv_timer_start(
        &guard, [](uv_timer_t* t) { uv_stop(t->loop); }, 10000, 0);
    while (!out) {
      uv_run(&loop_, UV_RUN_ONCE);
      if (!uv_is_active(reinterpret_cast<uv_handle_t*>(&guard))) break;
    }
    uv_close(reinterpret_cast<uv_handle_t*>(&guard), nullptr);
    uv_run(&loop_, UV_RUN_NOWAIT);
    EXPECT_TRUE(out.has_value()) << "no outcome within 10 s";
    EXPECT_EQ(grpc_->in_flight(), 0u);
    return out.value_or(ProbeOutcome{});
  }

  uv_loop_t loop_;
  std::unique_ptr<GrpcProber> grpc_;
};

TEST_F(GrpcProberTest, ServingIsSuccessAndSendsServiceAndUserAgent) {
  std::string log = ::testing::TempDir() + "grpc_health_" + std::to_string(::getpid()) + ".log";
  std::remove(log.c_str());
  GrpcServer server("SERVING", log);
  ASSERT_GT(server.port(), 0);
  ProbeOutcome o = Probe(server.port());
  EXPECT_EQ(o.kind, ProbeOutcome::Kind::kSuccess) << o.output;
  EXPECT_EQ(o.output, "service healthy");
  o = Probe(server.port(), 2000ms, "my.Service");
  EXPECT_EQ(o.kind, ProbeOutcome::Kind::kSuccess) << o.output;
  std::ifstream in(log);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_NE(ss.str().find("service= ua=kube-probe/1.30"), std::string::npos) << ss.str();
  EXPECT_NE(ss.str().find("service=my.Service ua=kube-probe/1.30"), std::string::npos) << ss.str();
  std::remove(log.c_str());
}

TEST_F(GrpcProberTest, NotServingIsFailure) {
  GrpcServer server("NOT_SERVING");
  ASSERT_GT(server.port(), 0);
  ProbeOutcome o = Probe(server.port());
  EXPECT_EQ(o.kind, ProbeOutcome::Kind::kFailure);
  EXPECT_EQ(o.output, "service unhealthy (responded with \"NOT_SERVING\")");
}

TEST_F(GrpcProberTest, ServiceUnknownIsFailure) {
  GrpcServer server("SERVICE_UNKNOWN");
  ASSERT_GT(server.port(), 0);
  ProbeOutcome o = Probe(server.port());
  EXPECT_EQ(o.kind, ProbeOutcome::Kind::kFailure);
  EXPECT_EQ(o.output, "service unhealthy (responded with \"SERVICE_UNKNOWN\")");
}

TEST_F(GrpcProberTest, UnimplementedHealthService) {
  GrpcServer server("unimplemented");
  ASSERT_GT(server.port(), 0);
  ProbeOutcome o = Probe(server.port());
  EXPECT_EQ(o.kind, ProbeOutcome::Kind::kFailure);
  EXPECT_EQ(o.output.rfind("error: this server does not implement the grpc health protocol "
                           "(grpc.health.v1.Health): ",
                           0),
            0u)
      << o.output;
}

TEST_F(GrpcProberTest, OtherStatusWithPercentEncodedMessage) {
  GrpcServer server("notfound");
  ASSERT_GT(server.port(), 0);
  ProbeOutcome o = Probe(server.port());
  EXPECT_EQ(o.kind, ProbeOutcome::Kind::kFailure);
  EXPECT_EQ(o.output,
            "error: health rpc probe failed: rpc error: code = NotFound desc = no such service: "
            "100% gone\xc3\xa9");
}

TEST_F(GrpcProberTest, SlowServerHitsTheDeadline) {
  GrpcServer server("slow");
  ASSERT_GT(server.port(), 0);
  auto t0 = std::chrono::steady_clock::now();
  ProbeOutcome o = Probe(server.port(), 1000ms);
  EXPECT_EQ(o.kind, ProbeOutcome::Kind::kFailure);
  EXPECT_EQ(o.output, "timeout: health rpc did not complete within 1s");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
}

TEST_F(GrpcProberTest, RefusedConnectionWaitsOutTheDeadlineAsUpstream) {
  ClosedPort closed;
  auto t0 = std::chrono::steady_clock::now();
  ProbeOutcome o = Probe(closed.port, 300ms);
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(o.kind, ProbeOutcome::Kind::kFailure);
  EXPECT_EQ(o.output,
            "timeout: failed to connect service \"127.0.0.1:" + std::to_string(closed.port) +
                "\" within 300ms: context deadline exceeded");
  EXPECT_GE(took, 290ms);
  EXPECT_LT(took, 3s);
}

TEST_F(GrpcProberTest, Ipv6AddressIsBracketedAsJoinHostPort) {
  // Nothing listens there (or IPv6 is off): a connect failure, named as Go's net.JoinHostPort.
  ClosedPort closed;
  std::optional<ProbeOutcome> out;
  grpc_->Probe("::1", closed.port, "", 200ms, [&](ProbeOutcome o) { out = std::move(o); });
  uv_timer_t guard;
  uv_timer_init(&loop_, &guard);
  uv_timer_start(
      &guard, [](uv_timer_t* t) { uv_stop(t->loop); }, 10000, 0);
  while (!out && uv_is_active(reinterpret_cast<uv_handle_t*>(&guard))) uv_run(&loop_, UV_RUN_ONCE);
  uv_close(reinterpret_cast<uv_handle_t*>(&guard), nullptr);
  uv_run(&loop_, UV_RUN_NOWAIT);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->output,
            "timeout: failed to connect service \"[::1]:" + std::to_string(closed.port) +
                "\" within 200ms: context deadline exceeded");
}

TEST_F(GrpcProberTest, RetriesTheConnectWithinTheDeadline) {
  // As grpc-go's blocking dial: a refused first attempt, then a server on that port before the
  // backoff (about 1 s) is over, and the call succeeds.
  auto closed = std::make_unique<ClosedPort>();
  int port = closed->port;
  std::optional<ProbeOutcome> out;
  auto t0 = std::chrono::steady_clock::now();
  grpc_->Probe("127.0.0.1", port, "", 9000ms, [&](ProbeOutcome o) { out = std::move(o); });
  for (int i = 0; i < 10; ++i) uv_run(&loop_, UV_RUN_NOWAIT);  // the first connect is refused
  ASSERT_FALSE(out.has_value()) << out->output;
  closed.reset();
  GrpcServer server("SERVING", "", port);
  ASSERT_EQ(server.port(), port);
  uv_timer_t guard;
  uv_timer_init(&loop_, &guard);
  uv_timer_start(
      &guard, [](uv_timer_t* t) { uv_stop(t->loop); }, 15000, 0);
  while (!out && uv_is_active(reinterpret_cast<uv_handle_t*>(&guard))) uv_run(&loop_, UV_RUN_ONCE);
  uv_close(reinterpret_cast<uv_handle_t*>(&guard), nullptr);
  uv_run(&loop_, UV_RUN_NOWAIT);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->kind, ProbeOutcome::Kind::kSuccess) << out->output;
  // The second attempt waited for the backoff: 1 s -20 % at least.
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 790ms);
}

TEST_F(GrpcProberTest, AbandonedCallsNeverCallBack) {
  GrpcServer server("slow");
  ASSERT_GT(server.port(), 0);
  bool called = false;
  for (int i = 0; i < 3; ++i) {
    grpc_->Probe("127.0.0.1", server.port(), "", 5000ms, [&](ProbeOutcome) { called = true; });
  }
  for (int i = 0; i < 20; ++i) uv_run(&loop_, UV_RUN_NOWAIT);
  EXPECT_EQ(grpc_->in_flight(), 3u);
  grpc_.reset();
  uv_run(&loop_, UV_RUN_DEFAULT);
  EXPECT_FALSE(called);
  grpc_ = std::make_unique<GrpcProber>(&loop_);
}

TEST_F(GrpcProberTest, GarbageAndSilentServersFailAtTheDeadline) {
  for (const char* mode : {"garbage", "silent"}) {
    GrpcServer server(mode);
    ASSERT_GT(server.port(), 0);
    ProbeOutcome o = Probe(server.port(), 400ms);
    EXPECT_EQ(o.kind, ProbeOutcome::Kind::kFailure) << mode;
    EXPECT_EQ(o.output,
              "timeout: failed to connect service \"127.0.0.1:" + std::to_string(server.port()) +
                  "\" within 400ms: context deadline exceeded")
        << mode;
  }
}

TEST_F(GrpcProberTest, ManyConcurrentProbes) {
  GrpcServer server("SERVING");
  ASSERT_GT(server.port(), 0);
  int ok = 0, total = 0;
  for (int i = 0; i < 50; ++i) {
    grpc_->Probe("127.0.0.1", server.port(), "", 5000ms, [&](ProbeOutcome o) {
      ++total;
      ok += o.kind == ProbeOutcome::Kind::kSuccess;
    });
  }
  uv_timer_t guard;
  uv_timer_init(&loop_, &guard);
  uv_timer_start(
      &guard, [](uv_timer_t* t) { uv_stop(t->loop); }, 10000, 0);
  while (total < 50 && uv_is_active(reinterpret_cast<uv_handle_t*>(&guard))) {
    uv_run(&loop_, UV_RUN_ONCE);
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&guard), nullptr);
  uv_run(&loop_, UV_RUN_NOWAIT);
  EXPECT_EQ(total, 50);
  EXPECT_EQ(ok, 50);
}

// --- the session, fed by hand -----------------------------------------------------------------

std::string Frame(uint8_t type, uint8_t flags, uint32_t stream, const std::string& payload) {
  std::string f;
  auto n = static_cast<uint32_t>(payload.size());
  f += static_cast<char>(n >> 16);
  f += static_cast<char>(n >> 8);
  f += static_cast<char>(n);
  f += static_cast<char>(type);
  f += static_cast<char>(flags);
  for (int s = 24; s >= 0; s -= 8) f += static_cast<char>(stream >> s);
  return f + payload;
}
constexpr uint8_t kData = 0, kHeaders = 1, kRst = 3, kSettings = 4, kGoaway = 7;
constexpr uint8_t kEndStream = 1, kEndHeaders = 4;

// HPACK: a literal header field without indexing, with a new name (RFC 7541 6.2.2); short strings.
std::string Literal(const std::string& name, const std::string& value) {
  return std::string(1, '\0') + static_cast<char>(name.size()) + name +
         static_cast<char>(value.size()) + value;
}
const std::string kStatus200 = "\x88";  // indexed :status 200
const std::string kGrpcType = Literal("content-type", "application/grpc");

std::string Message(const std::string& proto, uint8_t flag = 0) {
  std::string m(1, static_cast<char>(flag));
  auto n = static_cast<uint32_t>(proto.size());
  for (int s = 24; s >= 0; s -= 8) m += static_cast<char>(n >> s);
  return m + proto;
}

std::string Be32(uint32_t v) {
  std::string s;
  for (int i = 24; i >= 0; i -= 8) s += static_cast<char>(v >> i);
  return s;
}

struct Fed {
  bool connected = false, done = false;
  std::string connect_error;
  ProbeOutcome outcome;
};

// A session fed the server's bytes (after the SETTINGS, unless `raw`), in pieces of `chunk` bytes.
Fed Feed(const std::string& server_bytes, bool eof = false, size_t chunk = 0, bool raw = false) {
  GrpcHealthSession s("127.0.0.1:1", "", 1000ms);
  std::string preface = s.TakeOutput();
  EXPECT_EQ(preface.rfind("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 0), 0u);
  std::string in = (raw ? "" : Frame(kSettings, 0, 0, "")) + server_bytes;
  if (chunk == 0) chunk = in.size();
  for (size_t i = 0; i < in.size() && !s.done(); i += chunk) {
    s.Feed(std::string_view(in).substr(i, chunk));
    s.TakeOutput();
  }
  if (eof) s.Eof();
  Fed f;
  f.connected = s.connected();
  f.done = s.done();
  f.connect_error = s.connect_error();
  if (s.done()) f.outcome = s.outcome();
  return f;
}

std::string Response(const std::string& proto) {
  return Frame(kHeaders, kEndHeaders, 1, kStatus200 + kGrpcType) +
         Frame(kData, 0, 1, Message(proto)) +
         Frame(kHeaders, kEndHeaders | kEndStream, 1, Literal("grpc-status", "0"));
}

TEST(GrpcHealthSessionTest, ServingByteByByte) {
  Fed f = Feed(Response("\x08\x01"), false, 1);
  ASSERT_TRUE(f.done);
  EXPECT_EQ(f.outcome.kind, ProbeOutcome::Kind::kSuccess);
  EXPECT_EQ(f.outcome.output, "service healthy");
}

TEST(GrpcHealthSessionTest, StatusValues) {
  Fed f = Feed(Response(""));  // unset: UNKNOWN
  EXPECT_EQ(f.outcome.output, "service unhealthy (responded with \"UNKNOWN\")");
  f = Feed(Response("\x08\x07"));  // a value the enum does not name: its number, as Go prints it
  EXPECT_EQ(f.outcome.output, "service unhealthy (responded with \"7\")");
  // Unknown fields are skipped.
  f =
      Feed(Response(std::string("\x12\x03"
                                "abc"
                                "\x08\x01",
                                7)));
  EXPECT_EQ(f.outcome.kind, ProbeOutcome::Kind::kSuccess);
  f = Feed(Response("\x08"));  // truncated varint
  EXPECT_EQ(f.outcome.output,
            "error: health rpc probe failed: rpc error: code = Internal desc = grpc: failed to "
            "unmarshal the received message: proto: cannot parse invalid wire-format data");
}

TEST(GrpcHealthSessionTest, TrailersOnlyStatusAndPercentDecoding) {
  Fed f = Feed(Frame(kHeaders, kEndHeaders | kEndStream, 1,
                     kStatus200 + kGrpcType + Literal("grpc-status", "12") +
                         Literal("grpc-message", "no%20Health%zz%")));
  ASSERT_TRUE(f.done);
  EXPECT_EQ(f.outcome.output,
            "error: this server does not implement the grpc health protocol "
            "(grpc.health.v1.Health): no Health%zz%");
  f = Feed(Frame(kHeaders, kEndHeaders | kEndStream, 1,
                 kStatus200 + kGrpcType + Literal("grpc-status", "4")));
  EXPECT_EQ(f.outcome.output, "timeout: health rpc did not complete within 1s");
  f = Feed(Frame(kHeaders, kEndHeaders | kEndStream, 1,
                 kStatus200 + kGrpcType + Literal("grpc-status", "99")));
  EXPECT_EQ(f.outcome.output, "error: health rpc probe failed: rpc error: code = Code(99) desc = ");
  f = Feed(Frame(kHeaders, kEndHeaders | kEndStream, 1,
                 kStatus200 + kGrpcType + Literal("grpc-status", "x")));
  EXPECT_EQ(f.outcome.output,
            "error: health rpc probe failed: rpc error: code = Internal desc = transport: "
            "malformed grpc-status: \"x\"");
}

TEST(GrpcHealthSessionTest, NotGrpcResponses) {
  // An HTTP/2 server that is not gRPC: 404 text/html.
  Fed f = Feed(Frame(kHeaders, kEndHeaders | kEndStream, 1,
                     "\x8d" + Literal("content-type", "text/html")));  // \x8d: :status 404
  ASSERT_TRUE(f.done);
  EXPECT_EQ(f.outcome.output,
            "error: this server does not implement the grpc health protocol "
            "(grpc.health.v1.Health): unexpected HTTP status code received from server: 404 "
            "(Not Found); transport: received unexpected content-type \"text/html\"");
  f = Feed(Frame(kHeaders, kEndHeaders | kEndStream, 1,
                 kStatus200 + Literal("content-type", "text/plain")));
  EXPECT_EQ(f.outcome.output,
            "error: health rpc probe failed: rpc error: code = Unknown desc = transport: received "
            "unexpected content-type \"text/plain\"");
  // gRPC headers and a message, then the stream ends without trailers.
  f = Feed(Frame(kHeaders, kEndHeaders, 1, kStatus200 + kGrpcType) +
           Frame(kData, kEndStream, 1, Message("\x08\x01")));
  EXPECT_EQ(f.outcome.output,
            "error: health rpc probe failed: rpc error: code = Internal desc = server closed the "
            "stream without sending trailers");
}

TEST(GrpcHealthSessionTest, BadMessages) {
  auto with_data = [](const std::string& data) {
    return Frame(kHeaders, kEndHeaders, 1, kStatus200 + kGrpcType) + Frame(kData, 0, 1, data) +
           Frame(kHeaders, kEndHeaders | kEndStream, 1, Literal("grpc-status", "0"));
  };
  Fed f = Feed(with_data(Message("\x08\x01", 1)));
  EXPECT_EQ(f.outcome.output,
            "error: health rpc probe failed: rpc error: code = Internal desc = grpc: compressed "
            "flag set with identity or empty encoding");
  f = Feed(with_data(Message("\x08\x01") + Message("\x08\x01")));
  EXPECT_NE(f.outcome.output.find("cardinality violation"), std::string::npos) << f.outcome.output;
  f = Feed(with_data(std::string("\0\0\0\0\x09\x08\x01", 7)));  // says 9 bytes, has 2
  EXPECT_EQ(f.outcome.output,
            "error: health rpc probe failed: rpc error: code = Internal desc = unexpected EOF");
  f = Feed(with_data(std::string(1, '\0') + Be32(1u << 30)));
  EXPECT_EQ(f.outcome.output,
            "error: health rpc probe failed: rpc error: code = ResourceExhausted desc = grpc: "
            "received message larger than max (1073741824 vs. 65536)");
  f = Feed(Frame(kHeaders, kEndHeaders, 1, kStatus200 + kGrpcType) +
           Frame(kHeaders, kEndHeaders | kEndStream, 1, Literal("grpc-status", "0")));
  EXPECT_NE(f.outcome.output.find("code = Internal desc = cardinality violation: received no"),
            std::string::npos)
      << f.outcome.output;
}

TEST(GrpcHealthSessionTest, ResetGoawayAndEof) {
  Fed f = Feed(Frame(kRst, 0, 1, Be32(1)));  // PROTOCOL_ERROR
  ASSERT_TRUE(f.done);
  EXPECT_EQ(f.outcome.output,
            "error: health rpc probe failed: rpc error: code = Internal desc = stream terminated "
            "by RST_STREAM with error code: PROTOCOL_ERROR");
  f = Feed(Frame(kRst, 0, 1, Be32(7)));  // REFUSED_STREAM
  EXPECT_NE(f.outcome.output.find("code = Unavailable desc = stream terminated by RST_STREAM with "
                                  "error code: REFUSED_STREAM"),
            std::string::npos);
  f = Feed(Frame(kGoaway, 0, 0, Be32(0) + Be32(0) + "bye"));  // last stream 0: ours not processed
  ASSERT_TRUE(f.done);
  EXPECT_EQ(f.outcome.kind, ProbeOutcome::Kind::kFailure);
  EXPECT_NE(f.outcome.output.find("code = Unavailable"), std::string::npos) << f.outcome.output;
  EXPECT_NE(f.outcome.output.find("bye"), std::string::npos) << f.outcome.output;
  f = Feed(Frame(kHeaders, kEndHeaders, 1, kStatus200 + kGrpcType), true);
  ASSERT_TRUE(f.done);
  EXPECT_EQ(f.outcome.output,
            "error: health rpc probe failed: rpc error: code = Unavailable desc = error reading "
            "from server: EOF");
}

TEST(GrpcHealthSessionTest, ConnectPhaseFailures) {
  // Not HTTP/2: an HTTP/1.1 answer to the preface.
  Fed f = Feed("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", false, 0, true);
  EXPECT_FALSE(f.connected);
  EXPECT_FALSE(f.done);
  EXPECT_FALSE(f.connect_error.empty());
  // A first frame that is not SETTINGS.
  f = Feed(Frame(kHeaders, kEndHeaders, 1, kStatus200), false, 0, true);
  EXPECT_FALSE(f.connected);
  EXPECT_FALSE(f.connect_error.empty());
  // Closed before anything.
  f = Feed("", true, 0, true);
  EXPECT_FALSE(f.done);
  EXPECT_EQ(f.connect_error, "error reading from server: EOF");
  // Garbage after a good SETTINGS: a connection error of the call.
  f = Feed(std::string(64, '\xff'));
  EXPECT_TRUE(f.connected);
  ASSERT_TRUE(f.done);
  EXPECT_NE(f.outcome.output.find("error: health rpc probe failed: rpc error: code = Unavailable"),
            std::string::npos)
      << f.outcome.output;
}

TEST(GrpcHealthSessionTest, OversizedHeadersAreCut) {
  // One header block of about 80 KiB: HEADERS then CONTINUATION frames (9) of 16000 bytes.
  std::string block = kStatus200 + kGrpcType;
  for (int i = 0; i < 600; ++i)
    block += Literal("x-pad" + std::to_string(i), std::string(120, 'a'));
  std::string frames;
  for (size_t off = 0; off < block.size(); off += 16000) {
    bool last = off + 16000 >= block.size();
    frames += Frame(off == 0 ? kHeaders : 9, last ? kEndHeaders : 0, 1, block.substr(off, 16000));
  }
  Fed f = Feed(frames);
  ASSERT_TRUE(f.done);
  EXPECT_EQ(f.outcome.output,
            "error: health rpc probe failed: rpc error: code = Internal desc = peer header list "
            "size exceeded limit");
}

TEST(GrpcWireTest, EncodeRequest) {
  EXPECT_EQ(grpc_wire::EncodeHealthCheckRequest(""), "");
  EXPECT_EQ(grpc_wire::EncodeHealthCheckRequest("ab"), std::string("\x0a\x02"
                                                                   "ab",
                                                                   4));
  std::string longer(200, 's');
  EXPECT_EQ(grpc_wire::EncodeHealthCheckRequest(longer), std::string("\x0a\xc8\x01", 3) + longer);
  EXPECT_EQ(grpc_wire::PercentDecode("a%2Fb%e2%82%ac%"), "a/b\xe2\x82\xac%");
  EXPECT_EQ(grpc_wire::CodeName(16), "Unauthenticated");
  EXPECT_EQ(grpc_wire::CodeName(17), "Code(17)");
}

}  // namespace
}  // namespace nanolet::prober
