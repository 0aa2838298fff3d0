#pragma once
// grpc probes (grpc.health.v1), as upstream pkg/probe/grpc: one /grpc.health.v1.Health/Check call
// on a fresh plaintext HTTP/2 connection to host:port, with the probe's timeout as the deadline of
// connect and call together. SERVING is a success; any other answer or error is a failure, worded
// as upstream (below). HTTP/2 framing and HPACK come from libnghttp2; the two tiny protobuf
// messages and the gRPC length-prefixed framing are done here.
//
// As upstream's blocking dial (grpc.WithBlock): while no HTTP/2 connection is up (refused,
// unreachable, garbage, a server that is not HTTP/2), the connect is retried with gRPC's backoff
// (1 s, x1.6, +-20%) until the deadline, and the failure then reads `timeout: failed to connect
// service "ip:port" within 1s: context deadline exceeded`.
//
// Like HttpProber and TcpProber, a call is a uv_tcp handle and a timer on the prober's loop; no
// thread. Loop thread only. The destructor abandons calls in flight (their callbacks never run);
// the owner must run the loop afterwards so that the closed handles are freed.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "prober/outcome.h"

typedef struct uv_loop_s uv_loop_t;
typedef struct nghttp2_session nghttp2_session;

namespace nanolet::prober {

namespace grpc_wire {

// Protobuf of grpc.health.v1.HealthCheckRequest{service} (field 1, string).
std::string EncodeHealthCheckRequest(std::string_view service);
// grpc.health.v1.HealthCheckResponse.status (field 1, enum); unset is UNKNOWN (0). nullopt when the
// bytes are not valid protobuf wire format.
std::optional<int32_t> DecodeHealthCheckResponse(std::string_view msg);
// The enum's name as Go's String() prints it ("SERVING", an unnamed value as its number).
std::string ServingStatusName(int32_t status);
// A gRPC status code's name as Go's codes.Code.String() ("Unimplemented", "Code(42)").
std::string CodeName(int64_t code);
// grpc-message is percent-encoded (gRPC's PROTOCOL-HTTP2): %XX sequences decoded, anything else
// (a lone '%', bad hex) kept as it is.
std::string PercentDecode(std::string_view s);

}  // namespace grpc_wire

// The HTTP/2 and gRPC side of one Health/Check call, without I/O, so that tests and the fuzzer can
// drive it with bytes: TakeOutput() what is to be sent, Feed() what was read, Eof() when the peer
// closed. The request goes out with the client preface (no wait for the server's SETTINGS).
class GrpcHealthSession {
 public:
  // Caps on what a server can make a probe hold: response headers (all blocks together) and the
  // response message (upstream: gRPC's 4 MiB default; a health answer is a few bytes).
  static constexpr size_t kMaxHeaderBytes = 64 * 1024;
  static constexpr size_t kMaxMessage = 64 * 1024;

  // `authority` "host:port"; `timeout` is sent as grpc-timeout.
  GrpcHealthSession(std::string authority, std::string_view service,
                    std::chrono::milliseconds timeout);
  ~GrpcHealthSession();
  GrpcHealthSession(const GrpcHealthSession&) = delete;
  GrpcHealthSession& operator=(const GrpcHealthSession&) = delete;

  // Bytes to write now (empty when there are none).
  std::string TakeOutput();
  void Feed(std::string_view data);
  void Eof();
  // The transport failed (a read or write error): `why` as grpc-go words it.
  void Abort(std::string why);

  // The server's SETTINGS arrived: the connection is up (upstream's READY), and errors from now on
  // are errors of the call.
  bool connected() const { return connected_; }
  // The connection failed before it was up, and why (not shown: as upstream, the call goes on
  // retrying and its failure is the deadline's).
  const std::string& connect_error() const { return connect_error_; }
  // The call ended (only once connected); outcome() is its result.
  bool done() const { return outcome_.has_value(); }
  const ProbeOutcome& outcome() const { return *outcome_; }

 private:
  struct Callbacks;
  void Fail(std::string why);  // connection-level failure
  void FailRpc(int64_t code, std::string message);
  void Finish(uint32_t rst_code);  // the stream closed
  void Evaluate();

  const std::string timeout_text_;  // the deadline as Go prints it ("1s")
  nghttp2_session* session_ = nullptr;
  std::string connection_error_;  // from nghttp2's error callback during Feed
  std::string body_;              // the request's gRPC message (prefix + protobuf)
  size_t body_sent_ = 0;
  int32_t stream_id_ = -1;
  bool connected_ = false;
  std::string connect_error_;
  std::optional<ProbeOutcome> outcome_;
  // The response.
  size_t header_bytes_ = 0;
  std::string http_status_, content_type_, grpc_status_, grpc_message_;
  bool have_grpc_status_ = false;
  std::string data_;        // the DATA payload so far
  bool data_over_ = false;  // more than one message, or larger than kMaxMessage
  std::string goaway_;      // "code: X, debug data: ..." when the server sent GOAWAY
};

class GrpcProber {
 public:
  explicit GrpcProber(uv_loop_t* loop) : loop_(loop) {}
  ~GrpcProber();
  GrpcProber(const GrpcProber&) = delete;
  GrpcProber& operator=(const GrpcProber&) = delete;

  // `done` runs on the loop thread, once, never inside Probe. `host` is an IP literal (the pod IP).
  void Probe(const std::string& host, int port, const std::string& service,
             std::chrono::milliseconds timeout, ProbeDone done);
  size_t in_flight() const { return calls_.size(); }

  struct Call;

 private:
  friend struct Call;
  uv_loop_t* loop_;
  std::set<Call*> calls_;  // owned until their handles are closed
};

}  // namespace nanolet::prober
