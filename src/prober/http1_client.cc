#include "prober/http1_client.h"

#include <netdb.h>
#include <uv.h>

#include <algorithm>
#include <cstring>

#include "util/strings.h"

namespace nanolet::prober {

namespace http1_client_detail {

constexpr std::string_view kBroken = "net/http: HTTP/1.x transport connection broken: ";

bool IsTokenChar(unsigned char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != 0;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

std::string_view TrimSpaceTab(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// As Go's ParseHTTPVersion: "HTTP/<digit>.<digit>".
bool ValidVersion(std::string_view v) {
  return v.size() == 8 && v.substr(0, 5) == "HTTP/" && v[5] >= '0' && v[5] <= '9' && v[6] == '.' &&
         v[7] >= '0' && v[7] <= '9';
}

}  // namespace http1_client_detail

using namespace http1_client_detail;

Http1ResponseReader::State Http1ResponseReader::Fail(std::string why, bool body) {
  result_.error = std::move(why);
  result_.body_error = body;
  state_ = State::kError;
  return state_;
}

Http1ResponseReader::State Http1ResponseReader::Done() {
  state_ = State::kDone;
  pending_.clear();
  return state_;
}

void Http1ResponseReader::Keep(std::string_view data) {
  if (result_.body.size() < max_body_)
    result_.body.append(data.substr(0, max_body_ - result_.body.size()));
}

bool Http1ResponseReader::ParseHead(std::string_view head) {
  std::vector<std::string_view> lines;
  while (!head.empty()) {
    size_t nl = head.find('\n');
    std::string_view line = head.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    if (nl == std::string_view::npos) break;
    head.remove_prefix(nl + 1);
  }
  std::string_view status_line = lines.empty() ? std::string_view() : lines[0];
  // As Go's http.ReadResponse.
  size_t sp = status_line.find(' ');
  if (sp == std::string_view::npos) {
    Fail(std::string(kBroken) + "malformed HTTP response " + Quote(status_line));
    return false;
  }
  std::string_view proto = status_line.substr(0, sp);
  std::string_view code = status_line.substr(sp + 1);
  code = code.substr(0, code.find(' '));
  bool digits = code.size() == 3 &&
                std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits) {
    Fail(std::string(kBroken) + "malformed HTTP status code " + Quote(code));
    return false;
  }
  if (!ValidVersion(proto)) {
    Fail(std::string(kBroken) + "malformed HTTP version " + Quote(proto));
    return false;
  }
  result_.status = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');

  std::optional<std::string> content_length, transfer_encoding;
  bool have_location = false;
  for (size_t i = 1; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    if (!line.empty() && (line[0] == ' ' || line[0] == '\t')) continue;  // folded: not needed
    size_t colon = line.find(':');
    std::string_view key = colon == std::string_view::npos ? line : line.substr(0, colon);
    if (colon == std::string_view::npos || key.empty() ||
        !std::all_of(key.begin(), key.end(), [](char c) { return IsTokenChar(c); })) {
      Fail(std::string(kBroken) + "malformed MIME header line: " + std::string(line));
      return false;
    }
    std::string_view value = TrimSpaceTab(line.substr(colon + 1));
    if (EqualsIgnoreCase(key, "content-length")) {
      if (content_length && *content_length != value) {
        Fail(std::string(kBroken) + "http: message cannot contain multiple Content-Length headers");
        return false;
      }
      content_length = std::string(value);
    } else if (EqualsIgnoreCase(key, "transfer-encoding")) {
      transfer_encoding = std::string(value);
    } else if (EqualsIgnoreCase(key, "location") && !have_location) {
      result_.location = std::string(value);
      have_location = true;
    }
  }
  int s = result_.status;
  if ((s >= 100 && s < 200) || s == 204 || s == 304) {
    framing_ = Framing::kNone;
  } else if (transfer_encoding && proto != "HTTP/1.0") {
    if (!EqualsIgnoreCase(*transfer_encoding, "chunked")) {
      Fail(std::string(kBroken) + "unsupported transfer encoding: " + Quote(*transfer_encoding));
      return false;
    }
    framing_ = Framing::kChunked;
    chunk_ = ChunkState::kSize;
  } else if (content_length) {
    const std::string& v = *content_length;
    if (v.empty() || v.size() > 18 ||
        !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      Fail(std::string(kBroken) + "bad Content-Length " + Quote(v));
      return false;
    }
    framing_ = Framing::kLength;
    remaining_ = std::stoull(v);
  } else {
    framing_ = Framing::kUntilClose;
  }
  return true;
}

Http1ResponseReader::State Http1ResponseReader::Feed(std::string_view data) {
  if (state_ == State::kBody) return FeedBody(data);
  if (state_ != State::kHead) return state_;
  size_t from = pending_.size() > 3 ? pending_.size() - 3 : 0;
  pending_.append(data);
  // The head ends at the first empty line ("\r\n\r\n", or bare "\n" as Go accepts).
  size_t end = std::string::npos, body_at = 0;
  for (size_t i = pending_.find('\n', from); i != std::string::npos;
       i = pending_.find('\n', i + 1)) {
    if (i + 1 < pending_.size() && pending_[i + 1] == '\n') {
      end = i;
      body_at = i + 2;
      break;
    }
    if (i + 2 < pending_.size() && pending_[i + 1] == '\r' && pending_[i + 2] == '\n') {
      end = i;
      body_at = i + 3;
      break;
    }
  }
  if (end == std::string::npos) {
    if (pending_.size() > kMaxHead) {
      return Fail("net/http: server response headers exceeded " + std::to_string(kMaxHead) +
                  " bytes; aborted");
    }
    return state_;
  }
  if (body_at > kMaxHead + 3) {
    return Fail("net/http: server response headers exceeded " + std::to_string(kMaxHead) +
                " bytes; aborted");
  }
  std::string head = pending_.substr(0, end);
  std::string rest = pending_.substr(body_at);
  pending_.clear();
  if (!ParseHead(head)) return state_;
  if (result_.status >= 100 && result_.status < 200 && result_.status != 101) {
    // As Go's transport: interim responses are skipped.
    result_ = HopResult{};
    return rest.empty() ? state_ : Feed(rest);
  }
  if (framing_ == Framing::kNone || (framing_ == Framing::kLength && remaining_ == 0)) {
    return Done();
  }
  state_ = State::kBody;
  return rest.empty() ? state_ : FeedBody(rest);
}

Http1ResponseReader::State Http1ResponseReader::FeedBody(std::string_view data) {
  auto full = [&] { return result_.body.size() >= max_body_; };
  switch (framing_) {
    case Framing::kNone:
      return Done();
    case Framing::kUntilClose:
      Keep(data);
      return full() ? Done() : state_;
    case Framing::kLength: {
      size_t take = std::min(remaining_, data.size());
      Keep(data.substr(0, take));
      remaining_ -= take;
      return remaining_ == 0 || full() ? Done() : state_;
    }
    case Framing::kChunked:
      break;
  }
  while (!data.empty()) {
    switch (chunk_) {
      case ChunkState::kSize: {
        size_t nl = data.find('\n');
        pending_.append(data.substr(0, nl));
        if (pending_.size() > 4096) return Fail("malformed chunked encoding", true);
        if (nl == std::string_view::npos) return state_;
        data.remove_prefix(nl + 1);
        std::string_view line = pending_;
        line = TrimSpaceTab(line.substr(0, line.find(';')));
        size_t size = 0;
        if (line.empty() || line.size() > 15) return Fail("malformed chunked encoding", true);
        for (char c : line) {
          int d =
              std::isxdigit(static_cast<unsigned char>(c))
                  ? (std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : (c | 0x20) - 'a' + 10)
                  : -1;
          if (d < 0) return Fail("malformed chunked encoding", true);
          size = size * 16 + static_cast<size_t>(d);
        }
        pending_.clear();
        if (size == 0) return Done();  // the trailers do not matter to a probe
        remaining_ = size;
        chunk_ = ChunkState::kData;
        break;
      }
      case ChunkState::kData: {
        size_t take = std::min(remaining_, data.size());
        Keep(data.substr(0, take));
        remaining_ -= take;
        data.remove_prefix(take);
        if (full()) return Done();
        if (remaining_ == 0) chunk_ = ChunkState::kDataEnd;
        break;
      }
      case ChunkState::kDataEnd:
        if (data[0] == '\r') {
          data.remove_prefix(1);
        } else if (data[0] == '\n') {
          data.remove_prefix(1);
          chunk_ = ChunkState::kSize;
        } else {
          return Fail("malformed chunked encoding", true);
        }
        break;
      case ChunkState::kTrailer:
        return Done();
    }
  }
  return state_;
}

Http1ResponseReader::State Http1ResponseReader::Eof() {
  switch (state_) {
    case State::kHead:
      return Fail(pending_.empty() ? "EOF" : "unexpected EOF");
    case State::kBody:
      if (framing_ == Framing::kUntilClose) return Done();
      return Fail("unexpected EOF", true);
    default:
      return state_;
  }
}

// One connection: resolve (names only), connect, write the request, read the response, close.
// Owns its handles and frees itself once they are closed; `done` is delivered from the close
// callback, so that the caller never sees a callback from inside Start and nothing is left open
// when it runs.
class Http1Exchange {
 public:
  Http1Exchange(uv_loop_t* loop, Http1Target t, std::function<void(HopResult)> done)
      : loop_(loop), target_(std::move(t)), done_(std::move(done)), reader_(target_.max_body) {}

  void Start() {
    sockaddr_storage ss{};
    if (uv_ip4_addr(target_.host.c_str(), target_.port, reinterpret_cast<sockaddr_in*>(&ss)) == 0 ||
        uv_ip6_addr(target_.host.c_str(), target_.port, reinterpret_cast<sockaddr_in6*>(&ss)) ==
            0) {
      Connect(reinterpret_cast<const sockaddr*>(&ss));
      return;
    }
    gai_.data = this;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    resolving_ = true;
    int rc = uv_getaddrinfo(loop_, &gai_, &Http1Exchange::OnResolved, target_.host.c_str(), nullptr,
                            &hints);
    if (rc != 0) {
      resolving_ = false;
      FailBeforeOpen("dial tcp: lookup " + target_.host + ": " + uv_strerror(rc));
    }
  }

  void Cancel() {
    done_ = nullptr;
    if (resolving_) {
      uv_cancel(reinterpret_cast<uv_req_t*>(&gai_));  // OnResolved frees us
      return;
    }
    Close();
  }

 private:
  std::string Dial() const {
    std::string h =
        target_.host.find(':') != std::string::npos ? "[" + target_.host + "]" : target_.host;
    return h + ":" + std::to_string(target_.port);
  }

  static void OnResolved(uv_getaddrinfo_t* req, int status, addrinfo* res) {
    auto* x = static_cast<Http1Exchange*>(req->data);
    x->resolving_ = false;
    if (!x->done_) {
      uv_freeaddrinfo(res);
      delete x;
      return;
    }
    if (status != 0 || !res) {
      uv_freeaddrinfo(res);
      x->FailBeforeOpen("dial tcp: lookup " + x->target_.host + ": " + uv_strerror(status));
      return;
    }
    sockaddr_storage addr{};
    std::memcpy(&addr, res->ai_addr, res->ai_addrlen);
    uv_freeaddrinfo(res);
    reinterpret_cast<sockaddr_in*>(&addr)->sin_port = htons(static_cast<uint16_t>(x->target_.port));
    x->Connect(reinterpret_cast<const sockaddr*>(&addr));
  }

  // An error before any handle exists: delivery still has to be asynchronous, so the tcp handle
  // is initialised only to be closed.
  void FailBeforeOpen(std::string why) {
    result_.error = std::move(why);
    uv_tcp_init(loop_, &tcp_);  // cannot fail (no socket is made before connect)
    tcp_.data = this;
    Close();
  }

  void Connect(const sockaddr* addr) {
    uv_tcp_init(loop_, &tcp_);
    tcp_.data = this;
    connect_.data = this;
    int rc = uv_tcp_connect(&connect_, &tcp_, addr, &Http1Exchange::OnConnect);
    if (rc != 0) Fail("dial tcp " + Dial() + ": connect: " + uv_strerror(rc));
  }

  static void OnConnect(uv_connect_t* req, int status) {
    auto* x = static_cast<Http1Exchange*>(req->data);
    if (status == UV_ECANCELED || x->closing_) return;
    if (status != 0) {
      x->Fail("dial tcp " + x->Dial() + ": connect: " + uv_strerror(status));
      return;
    }
    // A fresh connection takes a small request whole; uv_write only for what is left.
    uv_buf_t buf =
        uv_buf_init(x->target_.request.data(), static_cast<unsigned>(x->target_.request.size()));
    int n = uv_try_write(reinterpret_cast<uv_stream_t*>(&x->tcp_), &buf, 1);
    if (n < 0 && n != UV_EAGAIN) {
      x->Fail(std::string("write tcp ") + x->Dial() + ": " + uv_strerror(n));
      return;
    }
    size_t written = n > 0 ? static_cast<size_t>(n) : 0;
    if (written < x->target_.request.size()) {
      buf = uv_buf_init(x->target_.request.data() + written,
                        static_cast<unsigned>(x->target_.request.size() - written));
      x->write_.data = x;
      int rc = uv_write(&x->write_, reinterpret_cast<uv_stream_t*>(&x->tcp_), &buf, 1,
                        [](uv_write_t* w, int st) {
                          auto* y = static_cast<Http1Exchange*>(w->data);
                          if (st != 0 && st != UV_ECANCELED && !y->closing_)
                            y->Fail(std::string("write tcp ") + y->Dial() + ": " + uv_strerror(st));
                        });
      if (rc != 0) {
        x->Fail(std::string("write tcp ") + x->Dial() + ": " + uv_strerror(rc));
        return;
      }
    }
    uv_read_start(reinterpret_cast<uv_stream_t*>(&x->tcp_), &Http1Exchange::OnAlloc,
                  &Http1Exchange::OnRead);
  }

  static void OnAlloc(uv_handle_t*, size_t, uv_buf_t* buf) {
    // Reads are delivered right after this call on the loop thread: one buffer serves every
    // connection of the thread.
    thread_local char storage[16 * 1024];
    *buf = uv_buf_init(storage, sizeof storage);
  }

  static void OnRead(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
    auto* x = static_cast<Http1Exchange*>(s->data);
    if (x->closing_) return;
    using State = Http1ResponseReader::State;
    State st;
    if (n == UV_EOF) {
      st = x->reader_.Eof();
    } else if (n < 0) {
      x->Fail(std::string("read tcp ") + x->Dial() + ": " + uv_strerror(static_cast<int>(n)),
              x->reader_.state() == State::kBody);
      return;
    } else if (n == 0) {
      return;
    } else {
      st = x->reader_.Feed(std::string_view(buf->base, static_cast<size_t>(n)));
    }
    if (st == State::kDone || st == State::kError) {
      x->result_ = x->reader_.TakeResult();
      x->Close();
    }
  }

  void Fail(std::string why, bool body = false) {
    if (closing_) return;
    if (body) result_ = reader_.TakeResult();
    result_.error = std::move(why);
    result_.body_error = body;
    Close();
  }

  void Close() {
    if (closing_) return;
    closing_ = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), [](uv_handle_t* h) {
      auto* x = static_cast<Http1Exchange*>(h->data);
      auto d = std::move(x->done_);
      HopResult r = std::move(x->result_);
      delete x;
      if (d) d(std::move(r));
    });
  }

  uv_loop_t* loop_;
  Http1Target target_;
  std::function<void(HopResult)> done_;
  Http1ResponseReader reader_;
  HopResult result_;
  uv_getaddrinfo_t gai_{};
  uv_tcp_t tcp_{};
  uv_connect_t connect_{};
  uv_write_t write_{};
  bool resolving_ = false;
  bool closing_ = false;
};

Http1Exchange* StartHttp1Exchange(uv_loop_t* loop, Http1Target target,
                                  std::function<void(HopResult)> done) {
  auto* x = new Http1Exchange(loop, std::move(target), std::move(done));
  x->Start();
  return x;
}

void CancelHttp1Exchange(Http1Exchange* x) { x->Cancel(); }

}  // namespace nanolet::prober
