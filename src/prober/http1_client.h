#pragma once
// The small HTTP/1.1 client behind plain-http httpGet probes: one GET on one fresh uv_tcp
// connection (the request says `Connection: close`, as upstream's prober disables keep-alive), on
// the prober's loop, with no thread and no per-probe allocation beyond the connection itself.
// The response is parsed by Http1ResponseReader (status line, headers, Content-Length / chunked /
// until-close bodies), keeping at most `max_body` bytes of the body: as upstream, a longer body is
// truncated, not an error.
//
// Loop thread only. Redirects, timeouts and the success rule belong to the caller (HttpProber).
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

typedef struct uv_loop_s uv_loop_t;

namespace nanolet::prober {

// What one request/response exchange gave. `error` set: no usable response (connect, write, read
// or parse failure), in Go's wording where it matters. `body_error`: the head was read but the body
// ended early (upstream: a read error, "probe errored", the result is thrown away).
struct HopResult {
  std::string error;
  bool body_error = false;
  int status = 0;
  std::string location;  // the Location header, as sent
  std::string body;      // at most max_body bytes
};

// Incremental response parser. Feed bytes as they come, then Eof() when the peer closed.
class Http1ResponseReader {
 public:
  enum class State { kHead, kBody, kDone, kError };
  // Upstream (Go's transport) allows 10 MiB of response headers; a probe has no use for more than
  // this, and a thousand probes must not be able to pin gigabytes.
  static constexpr size_t kMaxHead = 64 * 1024;

  explicit Http1ResponseReader(size_t max_body) : max_body_(max_body) {}
  State Feed(std::string_view data);
  State Eof();
  State state() const { return state_; }
  // Valid once the state is kDone (and the head part in kBody too).
  const HopResult& result() const { return result_; }
  HopResult TakeResult() { return std::move(result_); }

 private:
  State Fail(std::string why, bool body = false);
  bool ParseHead(std::string_view head);  // one complete head, without the blank line
  State FeedBody(std::string_view data);
  void Keep(std::string_view data);
  State Done();

  const size_t max_body_;
  State state_ = State::kHead;
  std::string pending_;  // unparsed bytes: the head so far, or a partial chunk-size line
  HopResult result_;
  // Body framing.
  enum class Framing { kNone, kLength, kChunked, kUntilClose } framing_ = Framing::kUntilClose;
  size_t remaining_ = 0;  // kLength: bytes still to come; kChunked: bytes left in this chunk
  enum class ChunkState { kSize, kData, kDataEnd, kTrailer } chunk_ = ChunkState::kSize;
};

struct Http1Target {
  std::string host;  // IP literal (IPv6 without brackets) or a name, resolved without blocking
  int port = 0;
  std::string request;  // the complete request bytes
  size_t max_body = 0;
};

class Http1Exchange;  // opaque; frees itself

// Starts one exchange. `done` runs on the loop, once, never inside the call, after the connection
// has been closed. Cancel (before `done` ran) drops the exchange: `done` never runs.
Http1Exchange* StartHttp1Exchange(uv_loop_t* loop, Http1Target target,
                                  std::function<void(HopResult)> done);
void CancelHttp1Exchange(Http1Exchange* x);

}  // namespace nanolet::prober
