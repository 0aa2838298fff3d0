#include "prober/grpc_prober.h"

#include <netinet/in.h>
#include <nghttp2/nghttp2.h>
#include <uv.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "util/strings.h"
#include "util/timefmt.h"

namespace nanolet::prober {

namespace grpc_prober_detail {

// As upstream: the probe identifies itself as the kubelet version it follows (http_prober.cc).
constexpr const char* kGrpcUserAgent = "kube-probe/1.30";
constexpr const char* kHealthCheckPath = "/grpc.health.v1.Health/Check";

// gRPC codes used here (google.golang.org/grpc/codes).
enum : int64_t {
  kCodeCanceled = 1,
  kCodeUnknown = 2,
  kCodeDeadlineExceeded = 4,
  kCodePermissionDenied = 7,
  kCodeResourceExhausted = 8,
  kCodeUnimplemented = 12,
  kCodeInternal = 13,
  kCodeUnavailable = 14,
  kCodeUnauthenticated = 16,
};

// Go's http2.ErrCode.String().
std::string Http2ErrorName(uint32_t code) {
  static constexpr const char* kNames[] = {"NO_ERROR",
                                           "PROTOCOL_ERROR",
                                           "INTERNAL_ERROR",
                                           "FLOW_CONTROL_ERROR",
                                           "SETTINGS_TIMEOUT",
                                           "STREAM_CLOSED",
                                           "FRAME_SIZE_ERROR",
                                           "REFUSED_STREAM",
                                           "CANCEL",
                                           "COMPRESSION_ERROR",
                                           "CONNECT_ERROR",
                                           "ENHANCE_YOUR_CALM",
                                           "INADEQUATE_SECURITY",
                                           "HTTP_1_1_REQUIRED"};
  if (code < std::size(kNames)) return kNames[code];
  char buf[48];
  std::snprintf(buf, sizeof buf, "unknown error code 0x%x", code);
  return buf;
}

// grpc-go's http2ErrConvTab: the status of a stream reset by the server.
int64_t CodeOfReset(uint32_t code) {
  switch (code) {
    case NGHTTP2_FLOW_CONTROL_ERROR:
    case NGHTTP2_ENHANCE_YOUR_CALM:
      return kCodeResourceExhausted;
    case NGHTTP2_REFUSED_STREAM:
      return kCodeUnavailable;
    case NGHTTP2_CANCEL:
      return kCodeCanceled;
    case NGHTTP2_INADEQUATE_SECURITY:
      return kCodePermissionDenied;
    default:
      return kCodeInternal;
  }
}

// grpc-go's HTTPStatusConvTab, for a response without grpc-status.
int64_t CodeOfHttpStatus(int status) {
  switch (status) {
    case 400:
      return kCodeInternal;
    case 401:
      return kCodeUnauthenticated;
    case 403:
      return kCodePermissionDenied;
    case 404:
      return kCodeUnimplemented;
    case 429:
    case 502:
    case 503:
    case 504:
      return kCodeUnavailable;
    default:
      return kCodeUnknown;
  }
}

// Go's http.StatusText for the statuses a misdirected probe meets.
std::string HttpStatusText(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 415:
      return "Unsupported Media Type";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "";
  }
}

// "application/grpc", "application/grpc+proto", "application/grpc;charset=utf-8".
bool IsGrpcContentType(std::string_view ct) {
  constexpr std::string_view kBase = "application/grpc";
  if (ct.size() < kBase.size()) return false;
  for (size_t i = 0; i < kBase.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(ct[i])) != kBase[i]) return false;
  }
  return ct.size() == kBase.size() || ct[kBase.size()] == '+' || ct[kBase.size()] == ';';
}

std::optional<int64_t> ParseDecimal(std::string_view s) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

// A protobuf varint; false when truncated or longer than 10 bytes.
bool ReadVarint(std::string_view& in, uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (in.empty()) return false;
    auto b = static_cast<uint8_t>(in[0]);
    in.remove_prefix(1);
    if (shift == 63 && b > 1) return false;
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return true;
  }
  return false;
}

void WriteVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

}  // namespace grpc_prober_detail

using namespace grpc_prober_detail;

// --- wire helpers -----------------------------------------------------------------------------

namespace grpc_wire {

std::string EncodeHealthCheckRequest(std::string_view service) {
  std::string out;
  if (service.empty()) return out;  // proto3: a default field is not sent
  out += static_cast<char>(0x0a);   // field 1, length-delimited
  WriteVarint(out, service.size());
  out.append(service);
  return out;
}

std::optional<int32_t> DecodeHealthCheckResponse(std::string_view msg) {
  int32_t status = 0;
  while (!msg.empty()) {
    uint64_t key;
    if (!ReadVarint(msg, key)) return std::nullopt;
    uint64_t field = key >> 3;
    if (field == 0) return std::nullopt;
    switch (key & 7) {
      case 0: {  // varint
        uint64_t v;
        if (!ReadVarint(msg, v)) return std::nullopt;
        if (field == 1) status = static_cast<int32_t>(static_cast<uint32_t>(v));
        break;
      }
      case 1:  // 64-bit
        if (msg.size() < 8) return std::nullopt;
        msg.remove_prefix(8);
        break;
      case 2: {  // length-delimited
        uint64_t n;
        if (!ReadVarint(msg, n) || n > msg.size()) return std::nullopt;
        msg.remove_prefix(static_cast<size_t>(n));
        break;
      }
      case 5:  // 32-bit
        if (msg.size() < 4) return std::nullopt;
        msg.remove_prefix(4);
        break;
      default:  // groups (3, 4) are not valid in proto3 messages; 6 and 7 are not wire types
        return std::nullopt;
    }
  }
  return status;
}

std::string ServingStatusName(int32_t status) {
  switch (status) {
    case 0:
      return "UNKNOWN";
    case 1:
      return "SERVING";
    case 2:
      return "NOT_SERVING";
    case 3:
      return "SERVICE_UNKNOWN";
    default:
      return std::to_string(status);
  }
}

std::string CodeName(int64_t code) {
  static constexpr const char* kNames[] = {
      "OK",       "Canceled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
      "NotFound", "AlreadyExists",  "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
      "Aborted",  "OutOfRange",     "Unimplemented",    "Internal",          "Unavailable",
      "DataLoss", "Unauthenticated"};
  if (code >= 0 && code < static_cast<int64_t>(std::size(kNames))) return kNames[code];
  return "Code(" + std::to_string(code) + ")";
}

std::string PercentDecode(std::string_view s) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') return (c | 0x20) - 'a' + 10;
    return -1;
  };
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace grpc_wire

// --- the HTTP/2 session -----------------------------------------------------------------------

struct GrpcHealthSession::Callbacks {
  static GrpcHealthSession* Self(void* user) { return static_cast<GrpcHealthSession*>(user); }

  static int OnFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    auto* s = Self(user);
    if (frame->hd.type == NGHTTP2_SETTINGS && (frame->hd.flags & NGHTTP2_FLAG_ACK) == 0) {
      s->connected_ = true;
    } else if (frame->hd.type == NGHTTP2_GOAWAY) {
      const nghttp2_goaway& g = frame->goaway;
      s->goaway_ = "code: " + Http2ErrorName(g.error_code) + ", debug data: " +
                   Quote(std::string_view(reinterpret_cast<const char*>(g.opaque_data),
                                          std::min<size_t>(g.opaque_data_len, 256)));
    }
    return 0;
  }

  static int OnHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t, void* user) {
    auto* s = Self(user);
    if (frame->hd.stream_id != s->stream_id_ || s->outcome_) return 0;
    s->header_bytes_ += namelen + valuelen + 32;  // as SETTINGS_MAX_HEADER_LIST_SIZE counts
    if (s->header_bytes_ > kMaxHeaderBytes) {
      s->FailRpc(kCodeInternal, "peer header list size exceeded limit");
      return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    std::string_view n(reinterpret_cast<const char*>(name), namelen);
    std::string v(reinterpret_cast<const char*>(value), valuelen);
    if (n == ":status") {
      s->http_status_ = std::move(v);
    } else if (n == "content-type") {
      s->content_type_ = std::move(v);
    } else if (n == "grpc-status") {
      s->grpc_status_ = std::move(v);
      s->have_grpc_status_ = true;
    } else if (n == "grpc-message") {
      s->grpc_message_ = std::move(v);
    }
    return 0;
  }

  static int OnData(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t* data, size_t len,
                    void* user) {
    auto* s = Self(user);
    if (stream_id != s->stream_id_ || s->outcome_ || s->data_over_) return 0;
    size_t room = 5 + kMaxMessage + 1 - std::min(s->data_.size(), 5 + kMaxMessage + 1);
    s->data_.append(reinterpret_cast<const char*>(data), std::min(len, room));
    if (s->data_.size() >= 5) {
      auto b = [&](int i) { return static_cast<uint32_t>(static_cast<uint8_t>(s->data_[i])); };
      uint32_t msg_len = b(1) << 24 | b(2) << 16 | b(3) << 8 | b(4);
      if (msg_len > kMaxMessage) {
        s->FailRpc(kCodeResourceExhausted, "grpc: received message larger than max (" +
                                               std::to_string(msg_len) + " vs. " +
                                               std::to_string(kMaxMessage) + ")");
        return NGHTTP2_ERR_CALLBACK_FAILURE;
      }
      if (s->data_.size() > 5 + msg_len) s->data_over_ = true;  // a second message
    }
    return 0;
  }

  static int OnStreamClose(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* user) {
    auto* s = Self(user);
    if (stream_id == s->stream_id_) s->Finish(error_code);
    return 0;
  }

  // nghttp2 ends a connection it finds broken with a GOAWAY of ours, whose debug data says why.
  static int OnFrameSend(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    auto* s = Self(user);
    if (frame->hd.type == NGHTTP2_GOAWAY && frame->goaway.error_code != NGHTTP2_NO_ERROR &&
        s->connection_error_.empty()) {
      const nghttp2_goaway& g = frame->goaway;
      s->connection_error_ =
          "http2: connection error: " + Http2ErrorName(g.error_code) +
          (g.opaque_data_len ? ": " + std::string(reinterpret_cast<const char*>(g.opaque_data),
                                                  std::min<size_t>(g.opaque_data_len, 256))
                             : "");
    }
    return 0;
  }

  static int OnError(nghttp2_session*, int, const char* msg, size_t len, void* user) {
    auto* s = Self(user);
    if (s->connection_error_.empty()) s->connection_error_.assign(msg, len);
    return 0;
  }

  static ssize_t ReadBody(nghttp2_session*, int32_t, uint8_t* buf, size_t length, uint32_t* flags,
                          nghttp2_data_source*, void* user) {
    auto* s = Self(user);
    size_t n = std::min(length, s->body_.size() - s->body_sent_);
    std::memcpy(buf, s->body_.data() + s->body_sent_, n);
    s->body_sent_ += n;
    if (s->body_sent_ == s->body_.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  }
};

GrpcHealthSession::GrpcHealthSession(std::string authority, std::string_view service,
                                     std::chrono::milliseconds timeout)
    : timeout_text_(FormatDuration(timeout)) {
  std::string msg = grpc_wire::EncodeHealthCheckRequest(service);
  body_.push_back(0);  // not compressed
  for (int shift = 24; shift >= 0; shift -= 8)
    body_.push_back(static_cast<char>(msg.size() >> shift));
  body_ += msg;

  nghttp2_session_callbacks* cb = nullptr;
  if (nghttp2_session_callbacks_new(&cb) != 0) {
    connect_error_ = "out of memory";
    return;
  }
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, &Callbacks::OnFrameRecv);
  nghttp2_session_callbacks_set_on_header_callback(cb, &Callbacks::OnHeader);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, &Callbacks::OnData);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, &Callbacks::OnStreamClose);
  nghttp2_session_callbacks_set_error_callback2(cb, &Callbacks::OnError);
  nghttp2_session_callbacks_set_on_frame_send_callback(cb, &Callbacks::OnFrameSend);
  int rc = nghttp2_session_client_new(&session_, cb, this);
  nghttp2_session_callbacks_del(cb);
  if (rc != 0) {
    session_ = nullptr;
    connect_error_ = nghttp2_strerror(rc);
    return;
  }
  nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, static_cast<uint32_t>(kMaxHeaderBytes)},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));

  // grpc-timeout: at most 8 digits (gRPC's PROTOCOL-HTTP2).
  auto ms = std::max<int64_t>(timeout.count(), 1);
  std::string grpc_timeout =
      ms <= 99999999 ? std::to_string(ms) + "m" : std::to_string(ms / 1000) + "S";
  auto nv = [](const char* n, const std::string& v) {
    return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(n)),
                      reinterpret_cast<uint8_t*>(const_cast<char*>(v.data())), std::strlen(n),
                      v.size(), NGHTTP2_NV_FLAG_NONE};
  };
  const std::string post = "POST", http = "http", path = kHealthCheckPath,
                    ctype = "application/grpc", ua = kGrpcUserAgent, te = "trailers";
  nghttp2_nv headers[] = {nv(":method", post),
                          nv(":scheme", http),
                          nv(":path", path),
                          nv(":authority", authority),
                          nv("content-type", ctype),
                          nv("user-agent", ua),
                          nv("te", te),
                          nv("grpc-timeout", grpc_timeout)};
  nghttp2_data_provider provider{};
  provider.read_callback = &Callbacks::ReadBody;
  stream_id_ =
      nghttp2_submit_request(session_, nullptr, headers, std::size(headers), &provider, nullptr);
  if (stream_id_ < 0) connect_error_ = nghttp2_strerror(stream_id_);
}

GrpcHealthSession::~GrpcHealthSession() {
  if (session_) nghttp2_session_del(session_);
}

std::string GrpcHealthSession::TakeOutput() {
  std::string out;
  if (!session_ || done() || !connect_error_.empty()) return out;
  for (;;) {
    const uint8_t* data = nullptr;
    ssize_t n = nghttp2_session_mem_send(session_, &data);
    if (n < 0) {
      Fail(nghttp2_strerror(static_cast<int>(n)));
      break;
    }
    if (n == 0) break;
    out.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
  }
  // A connection nghttp2 has ended (its GOAWAY is in `out`, sent for the server's sake).
  if (!done() && connect_error_.empty()) {
    if (!connection_error_.empty()) {
      Fail(connection_error_);
    } else if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_)) {
      Fail("connection closed");
    }
  }
  return out;
}

void GrpcHealthSession::Feed(std::string_view data) {
  if (!session_ || done() || !connect_error_.empty() || data.empty()) return;
  ssize_t n = nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(data.data()),
                                       data.size());
  if (done()) return;  // decided inside a callback
  if (n < 0 || !connection_error_.empty()) {
    Fail(!connection_error_.empty() ? connection_error_ : nghttp2_strerror(static_cast<int>(n)));
  } else if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_)) {
    Fail("connection closed");
  }
}

void GrpcHealthSession::Eof() {
  if (done() || !connect_error_.empty()) return;
  Abort("error reading from server: EOF");
}

void GrpcHealthSession::Abort(std::string why) {
  if (done() || !connect_error_.empty()) return;
  if (!connected_) {
    connect_error_ = std::move(why);
    return;
  }
  if (!goaway_.empty()) why += ", received prior goaway: " + goaway_;
  FailRpc(kCodeUnavailable, std::move(why));
}

void GrpcHealthSession::Fail(std::string why) {
  if (done() || !connect_error_.empty()) return;
  if (!connected_) {
    connect_error_ = std::move(why);
    return;
  }
  FailRpc(kCodeUnavailable, "connection error: desc = " + Quote(why));
}

void GrpcHealthSession::FailRpc(int64_t code, std::string message) {
  if (done()) return;
  switch (code) {
    case kCodeUnimplemented:
      outcome_ = ProbeOutcome::Failure(
          "error: this server does not implement the grpc health protocol "
          "(grpc.health.v1.Health): " +
          message);
      break;
    case kCodeDeadlineExceeded:
      outcome_ =
          ProbeOutcome::Failure("timeout: health rpc did not complete within " + timeout_text_);
      break;
    default:
      outcome_ = ProbeOutcome::Failure("error: health rpc probe failed: rpc error: code = " +
                                       grpc_wire::CodeName(code) + " desc = " + message);
  }
}

void GrpcHealthSession::Finish(uint32_t rst_code) {
  if (done()) return;
  if (rst_code != NGHTTP2_NO_ERROR) {
    if (!goaway_.empty() && rst_code == NGHTTP2_REFUSED_STREAM) {
      FailRpc(kCodeUnavailable,
              "the connection is draining due to the server's GOAWAY (" + goaway_ + ")");
    } else {
      FailRpc(CodeOfReset(rst_code),
              "stream terminated by RST_STREAM with error code: " + Http2ErrorName(rst_code));
    }
    return;
  }
  Evaluate();
}

void GrpcHealthSession::Evaluate() {
  // As grpc-go's operateHeaders: not gRPC, or an HTTP error without grpc-status.
  auto http = ParseDecimal(http_status_);
  bool grpc_type = IsGrpcContentType(content_type_);
  if (!have_grpc_status_ && (!grpc_type || (http && *http != 200) || !http)) {
    std::vector<std::string> errs;
    int64_t code = kCodeInternal;  // no HTTP status at all
    if (http) {
      code = *http == 200 ? kCodeUnknown : CodeOfHttpStatus(static_cast<int>(*http));
      if (*http != 200) {
        errs.push_back(
            "unexpected HTTP status code received from server: " + std::to_string(*http) + " (" +
            HttpStatusText(static_cast<int>(*http)) + ")");
      }
    } else {
      errs.push_back("malformed header: missing HTTP status");
    }
    if (!grpc_type)
      errs.push_back("transport: received unexpected content-type " + Quote(content_type_));
    std::string msg;
    for (const auto& e : errs) msg += (msg.empty() ? "" : "; ") + e;
    FailRpc(code, msg);
    return;
  }
  if (!have_grpc_status_) {
    FailRpc(kCodeInternal, "server closed the stream without sending trailers");
    return;
  }
  auto code = ParseDecimal(grpc_status_);
  if (!code) {
    FailRpc(kCodeInternal, "transport: malformed grpc-status: " + Quote(grpc_status_));
    return;
  }
  if (*code != 0) {
    FailRpc(*code, grpc_wire::PercentDecode(grpc_message_));
    return;
  }
  if (data_.empty()) {
    FailRpc(kCodeInternal,
            "cardinality violation: received no response message from non-streaming RPC");
    return;
  }
  if (data_over_) {
    FailRpc(kCodeInternal,
            "cardinality violation: expected <EOF> for non server-streaming RPCs, but received "
            "another message");
    return;
  }
  auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(data_[i])); };
  if (data_.size() < 5 || data_.size() < 5 + (b(1) << 24 | b(2) << 16 | b(3) << 8 | b(4))) {
    FailRpc(kCodeInternal, "unexpected EOF");
    return;
  }
  if (b(0) == 1) {
    FailRpc(kCodeInternal, "grpc: compressed flag set with identity or empty encoding");
    return;
  }
  if (b(0) != 0) {
    FailRpc(kCodeInternal, "grpc: received unexpected payload format " + std::to_string(b(0)));
    return;
  }
  auto status = grpc_wire::DecodeHealthCheckResponse(std::string_view(data_).substr(5));
  if (!status) {
    FailRpc(kCodeInternal,
            "grpc: failed to unmarshal the received message: proto: cannot parse invalid "
            "wire-format data");
    return;
  }
  if (*status == 1) {
    outcome_ = ProbeOutcome::Success("service healthy");
  } else {
    outcome_ = ProbeOutcome::Failure("service unhealthy (responded with " +
                                     Quote(grpc_wire::ServingStatusName(*status)) + ")");
  }
}

// --- the connection on the loop ---------------------------------------------------------------

namespace grpc_prober_detail {

// One connect attempt: a socket and the session speaking on it. Freed in its close callback.
struct GrpcConn {
  GrpcProber::Call* call = nullptr;  // the call it belongs to (outlives it)
  uv_tcp_t tcp{};
  uv_connect_t connect{};
  uv_write_t write{};
  std::string writing;  // the bytes of the write in flight
  std::string pending;  // bytes waiting for it
  std::unique_ptr<GrpcHealthSession> session;
  bool closing = false;
};

}  // namespace grpc_prober_detail

struct GrpcProber::Call {
  GrpcProber* owner = nullptr;
  uv_loop_t* loop = nullptr;
  std::string host, addr, service;
  int port = 0;
  std::chrono::milliseconds timeout{0};
  ProbeDone done;
  uv_timer_t deadline{};
  uv_timer_t retry{};
  GrpcConn* conn = nullptr;
  uint64_t attempt_start = 0, deadline_at = 0;
  double backoff_ms = 1000;  // gRPC's connection backoff: 1 s base, x1.6, +-20 % jitter
  int open = 0;              // handles and connections not yet closed
  std::string last_error;    // of the last failed connect attempt (for the log)

  static Call* Of(uv_handle_t* h) { return static_cast<Call*>(h->data); }
  static void OnHandleClosed(uv_handle_t* h) {
    auto* c = Of(h);
    if (--c->open == 0) delete c;
  }

  void Deliver(ProbeOutcome o) {
    if (!done) return;
    ProbeDone d = std::move(done);
    done = nullptr;
    bool deliver = owner != nullptr;
    Close();
    if (deliver) d(std::move(o));
  }

  void Close() {
    if (owner) {
      owner->calls_.erase(this);
      owner = nullptr;
    }
    DropConn();
    for (uv_timer_t* t : {&deadline, &retry}) {
      if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(t)))
        uv_close(reinterpret_cast<uv_handle_t*>(t), &Call::OnHandleClosed);
    }
  }

  void DropConn() {
    if (!conn) return;
    GrpcConn* c = conn;
    conn = nullptr;
    c->closing = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp), [](uv_handle_t* h) {
      auto* gc = static_cast<GrpcConn*>(h->data);
      Call* call = gc->call;
      delete gc;
      if (--call->open == 0) delete call;
    });
  }

  void Attempt() {
    attempt_start = uv_now(loop);
    auto* c = new GrpcConn;
    c->call = this;
    c->session = std::make_unique<GrpcHealthSession>(addr, service, timeout);
    uv_tcp_init(loop, &c->tcp);  // cannot fail: no socket is made before connect
    c->tcp.data = c;
    c->connect.data = c;
    ++open;
    conn = c;
    sockaddr_storage ss{};
    int rc = uv_ip4_addr(host.c_str(), port, reinterpret_cast<sockaddr_in*>(&ss));
    if (rc != 0) rc = uv_ip6_addr(host.c_str(), port, reinterpret_cast<sockaddr_in6*>(&ss));
    if (rc == 0) {
      rc = uv_tcp_connect(&c->connect, &c->tcp, reinterpret_cast<const sockaddr*>(&ss),
                          &Call::OnConnect);
    }
    if (rc != 0) AttemptFailed(std::string("dial tcp ") + addr + ": " + uv_strerror(rc));
  }

  // As grpc-go's blocking dial: the connection is tried again after the backoff (counted from the
  // start of the failed attempt) while the deadline allows; the deadline timer ends the call.
  void AttemptFailed(std::string why) {
    last_error = std::move(why);
    DropConn();
    static std::minstd_rand rng(std::random_device{}());
    double jitter = std::uniform_real_distribution<double>(-0.2, 0.2)(rng);
    auto delay = static_cast<uint64_t>(backoff_ms * (1 + jitter));
    backoff_ms = std::min(backoff_ms * 1.6, 120000.0);
    uint64_t at = attempt_start + delay;
    if (at >= deadline_at) return;
    uint64_t now = uv_now(loop);
    uv_timer_start(
        &retry, [](uv_timer_t* t) { Of(reinterpret_cast<uv_handle_t*>(t))->Attempt(); },
        at > now ? at - now : 0, 0);
  }

  static void OnConnect(uv_connect_t* req, int status) {
    auto* c = static_cast<GrpcConn*>(req->data);
    if (status == UV_ECANCELED || c->closing) return;
    Call* call = c->call;
    if (status != 0) {
      call->AttemptFailed("dial tcp " + call->addr + ": connect: " + uv_strerror(status));
      return;
    }
    uv_read_start(reinterpret_cast<uv_stream_t*>(&c->tcp), &Call::OnAlloc, &Call::OnRead);
    call->Pump();
  }

  static void OnAlloc(uv_handle_t*, size_t, uv_buf_t* buf) {
    // Reads are delivered right after this call on the loop thread: one buffer serves every
    // connection of the thread.
    thread_local char storage[16 * 1024];
    *buf = uv_buf_init(storage, sizeof storage);
  }

  static void OnRead(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
    auto* c = static_cast<GrpcConn*>(s->data);
    if (c->closing || n == 0) return;
    if (n == UV_EOF) {
      c->session->Eof();
    } else if (n < 0) {
      c->session->Abort("error reading from server: read tcp " + c->call->addr + ": " +
                        uv_strerror(static_cast<int>(n)));
    } else {
      c->session->Feed(std::string_view(buf->base, static_cast<size_t>(n)));
    }
    c->call->Pump();
  }

  // After any event: deliver a result, give up the attempt, or write what the session has.
  void Pump() {
    GrpcConn* c = conn;
    if (!c) return;
    GrpcHealthSession& s = *c->session;
    if (s.done()) {
      Deliver(s.outcome());
      return;
    }
    if (!s.connect_error().empty()) {
      AttemptFailed(s.connect_error());
      return;
    }
    c->pending += s.TakeOutput();
    if (s.done() || !s.connect_error().empty()) {
      Pump();
      return;
    }
    if (!c->writing.empty() || c->pending.empty()) return;
    c->writing.swap(c->pending);
    uv_buf_t b = uv_buf_init(c->writing.data(), static_cast<unsigned>(c->writing.size()));
    c->write.data = c;
    int rc = uv_write(
        &c->write, reinterpret_cast<uv_stream_t*>(&c->tcp), &b, 1, [](uv_write_t* w, int st) {
          auto* gc = static_cast<GrpcConn*>(w->data);
          gc->writing.clear();
          if (gc->closing) return;
          if (st != 0) {
            gc->session->Abort("write tcp " + gc->call->addr + ": " + uv_strerror(st));
          }
          gc->call->Pump();
        });
    if (rc != 0) {
      c->writing.clear();
      s.Abort("write tcp " + addr + ": " + uv_strerror(rc));
      Pump();
    }
  }

  static void OnDeadline(uv_timer_t* t) {
    auto* call = Of(reinterpret_cast<uv_handle_t*>(t));
    std::string within = FormatDuration(call->timeout);
    if (call->conn && call->conn->session->connected()) {
      call->Deliver(ProbeOutcome::Failure("timeout: health rpc did not complete within " + within));
    } else {
      call->Deliver(ProbeOutcome::Failure("timeout: failed to connect service " +
                                          Quote(call->addr) + " within " + within +
                                          ": context deadline exceeded"));
    }
  }
};

GrpcProber::~GrpcProber() {
  auto copy = calls_;
  for (Call* c : copy) {
    c->done = nullptr;
    c->Close();
  }
}

void GrpcProber::Probe(const std::string& host, int port, const std::string& service,
                       std::chrono::milliseconds timeout, ProbeDone done) {
  auto* c = new Call;
  c->owner = this;
  c->loop = loop_;
  c->host = host;
  c->port = port;
  c->service = service;
  c->timeout = timeout;
  c->addr =
      (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
  c->done = std::move(done);
  calls_.insert(c);
  uv_timer_init(loop_, &c->deadline);
  uv_timer_init(loop_, &c->retry);
  c->deadline.data = c;
  c->retry.data = c;
  c->open = 2;
  uint64_t ms = static_cast<uint64_t>(timeout.count() > 0 ? timeout.count() : 1);
  c->deadline_at = uv_now(loop_) + ms;
  uv_timer_start(&c->deadline, &Call::OnDeadline, ms, 0);
  c->Attempt();
}

}  // namespace nanolet::prober
