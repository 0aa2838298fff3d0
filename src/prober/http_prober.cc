#include "prober/http_prober.h"

#include <curl/curl.h>
#include <uv.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <set>

#include "prober/http1_client.h"
#include "util/log.h"
#include "util/strings.h"

namespace nanolet::prober {

namespace http_prober_detail {

// As upstream: the probe identifies itself as the kubelet version it follows.
constexpr const char* kProbeUserAgent = "kube-probe/1.30";
constexpr int kMaxRedirects = 10;

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool HeaderNameByte(unsigned char c) {
  return std::isalnum(c) || (c != 0 && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr);
}

// As Go's CanonicalMIMEHeaderKey: "x-probe" -> "X-Probe"; a key with a byte that is not a token
// byte is left as it is (and the request refuses it).
std::string CanonicalKey(std::string k) {
  if (k.empty() || !std::all_of(k.begin(), k.end(), [](char c) { return HeaderNameByte(c); }))
    return k;
  bool upper = true;
  for (char& c : k) {
    c = static_cast<char>(upper ? std::toupper(static_cast<unsigned char>(c))
                                : std::tolower(static_cast<unsigned char>(c)));
    upper = c == '-';
  }
  return k;
}

// A URL path as given in the probe, made a valid request target: a leading "/", no fragment,
// control bytes, spaces and non-ASCII bytes percent-encoded (as Go's URL.RequestURI would).
std::string RequestTarget(const std::string& path) {
  std::string p = path.substr(0, path.find('#'));
  if (p.empty() || p[0] != '/') p = "/" + p;
  std::string out;
  out.reserve(p.size());
  static const char* hex = "0123456789ABCDEF";
  for (unsigned char c : p) {
    if (c <= 0x20 || c >= 0x7f) {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string Bracket(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

std::string Unbracket(std::string h) {
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  return h;
}

struct ParsedURL {
  std::string url;        // absolute, for messages and for curl
  std::string scheme;     // lower case
  std::string host;       // no brackets
  std::string host_port;  // the Host header Go would send: the URL's host[:port] as written
  int port = 0;
  std::string target;  // path?query
};

// `loc` resolved against `base` (curl's URL API, RFC 3986 rules as Go's URL.ResolveReference).
std::optional<ParsedURL> Resolve(const std::string& base, const std::string& loc,
                                 std::string* err) {
  CURLU* u = curl_url();
  if (!u) {
    *err = "out of memory";
    return std::nullopt;
  }
  std::optional<ParsedURL> out;
  auto get = [&](CURLUPart part, unsigned flags) -> std::optional<std::string> {
    char* v = nullptr;
    if (curl_url_get(u, part, &v, flags) != CURLUE_OK || !v) return std::nullopt;
    std::string s(v);
    curl_free(v);
    return s;
  };
  CURLUcode rc = curl_url_set(u, CURLUPART_URL, base.c_str(), CURLU_NON_SUPPORT_SCHEME);
  if (rc == CURLUE_OK) rc = curl_url_set(u, CURLUPART_URL, loc.c_str(), CURLU_NON_SUPPORT_SCHEME);
  if (rc != CURLUE_OK) {
    *err = curl_url_strerror(rc);
  } else {
    ParsedURL p;
    auto url = get(CURLUPART_URL, 0);
    auto scheme = get(CURLUPART_SCHEME, 0);
    auto host = get(CURLUPART_HOST, 0);
    auto port = get(CURLUPART_PORT, CURLU_DEFAULT_PORT);
    auto explicit_port = get(CURLUPART_PORT, 0);
    auto path = get(CURLUPART_PATH, 0);
    auto query = get(CURLUPART_QUERY, 0);
    if (!url || !scheme || !host) {
      *err = "missing host";
    } else {
      p.url = *url;
      p.scheme = Lower(*scheme);
      p.host = Unbracket(*host);
      p.host_port = Bracket(p.host) + (explicit_port ? ":" + *explicit_port : "");
      p.port = port ? std::atoi(port->c_str()) : 0;
      p.target = path && !path->empty() ? *path : "/";
      if (query) p.target += "?" + *query;
      out = std::move(p);
    }
  }
  curl_url_cleanup(u);
  return out;
}

// Has a scheme: an absolute URL (Go's URL.IsAbs).
bool IsAbsolute(const std::string& loc) {
  for (size_t i = 0; i < loc.size(); ++i) {
    char c = loc[i];
    if (c == ':') return i > 0;
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.'))
      return false;
    if (i == 0 && !std::isalpha(static_cast<unsigned char>(c))) return false;
  }
  return false;
}

using HopDone = std::function<void(HopResult)>;

// HTTPS hops: libcurl's multi interface driven by the loop (sockets polled by uv_poll, curl's
// timeout by one uv_timer). One hop, no redirect following (HttpProber does that).
class CurlHops {
 public:
  struct Transfer {
    CURL* easy = nullptr;
    curl_slist* headers = nullptr;
    std::string body;
    HopDone done;
    char error[CURL_ERROR_SIZE] = {};
  };

  explicit CurlHops(uv_loop_t* loop) : loop_(loop) {}

  ~CurlHops() {
    for (Transfer* t : transfers_) Release(t);
    transfers_.clear();
    if (multi_) curl_multi_cleanup(multi_);  // removes the remaining sockets through OnSocket
    if (timer_)
      uv_close(reinterpret_cast<uv_handle_t*>(timer_), [](uv_handle_t* h) { std::free(h); });
  }

  Transfer* Start(const std::string& url, const std::vector<std::string>& header_lines,
                  std::chrono::milliseconds timeout, HopDone done) {
    Init();
    auto* t = new Transfer;
    t->done = std::move(done);
    for (const auto& h : header_lines) t->headers = curl_slist_append(t->headers, h.c_str());
    CURL* e = curl_easy_init();
    t->easy = e;
    curl_easy_setopt(e, CURLOPT_URL, url.c_str());
    curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, std::max<long>(1, static_cast<long>(timeout.count())));
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);  // upstream probes skip TLS verification
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &CurlHops::OnBody);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
    curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
    transfers_.insert(t);
    curl_multi_add_handle(multi_, e);
    return t;
  }

  void Cancel(Transfer* t) {
    transfers_.erase(t);
    Release(t);
  }

 private:
  struct SocketCtx {  // one uv_poll per socket curl watches; `poll` first
    uv_poll_t poll;
    curl_socket_t fd;
    CurlHops* self;
  };

  void Init() {
    if (multi_) return;
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    multi_ = curl_multi_init();
    timer_ = static_cast<uv_timer_t*>(std::calloc(1, sizeof(uv_timer_t)));
    uv_timer_init(loop_, timer_);
    timer_->data = this;
    curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &CurlHops::OnSocket);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &CurlHops::OnTimer);
    curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
  }

  static size_t OnBody(char* data, size_t size, size_t n, void* userp) {
    auto* t = static_cast<Transfer*>(userp);
    size_t len = size * n;
    if (t->body.size() < kMaxProbeOutput)
      t->body.append(data, std::min(len, kMaxProbeOutput - t->body.size()));
    return len;
  }

  static int OnSocket(CURL*, curl_socket_t fd, int what, void* userp, void* socketp) {
    auto* self = static_cast<CurlHops*>(userp);
    auto* ctx = static_cast<SocketCtx*>(socketp);
    if (what == CURL_POLL_REMOVE) {
      if (ctx) {
        uv_poll_stop(&ctx->poll);
        curl_multi_assign(self->multi_, fd, nullptr);
        uv_close(reinterpret_cast<uv_handle_t*>(&ctx->poll), [](uv_handle_t* h) { std::free(h); });
      }
      return 0;
    }
    if (!ctx) {
      ctx = static_cast<SocketCtx*>(std::calloc(1, sizeof(SocketCtx)));
      ctx->fd = fd;
      ctx->self = self;
      if (int rc = uv_poll_init_socket(self->loop_, &ctx->poll, fd); rc != 0) {
        log::Warn("httpGet probe: cannot watch socket",
                  {{"fd", std::to_string(fd)}, {"error", uv_strerror(rc)}});
        std::free(ctx);
        return -1;  // curl fails this transfer (a probe failure), the loop stays sound
      }
      ctx->poll.data = ctx;
      curl_multi_assign(self->multi_, fd, ctx);
    }
    int events = 0;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT) events |= UV_READABLE;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT) events |= UV_WRITABLE;
    uv_poll_start(&ctx->poll, events, [](uv_poll_t* p, int status, int ev) {
      auto* c = static_cast<SocketCtx*>(p->data);
      int flags = 0;
      if (status < 0) flags |= CURL_CSELECT_ERR;
      if (ev & UV_READABLE) flags |= CURL_CSELECT_IN;
      if (ev & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
      c->self->Action(c->fd, flags);
    });
    return 0;
  }

  static int OnTimer(CURLM*, long timeout_ms, void* userp) {
    auto* self = static_cast<CurlHops*>(userp);
    if (timeout_ms < 0) {
      uv_timer_stop(self->timer_);
    } else {
      // Never act from inside curl's callback: a zero timeout fires on the next loop iteration.
      uv_timer_start(
          self->timer_,
          [](uv_timer_t* h) { static_cast<CurlHops*>(h->data)->Action(CURL_SOCKET_TIMEOUT, 0); },
          static_cast<uint64_t>(timeout_ms), 0);
    }
    return 0;
  }

  void Action(curl_socket_t fd, int flags) {
    int running = 0;
    curl_multi_socket_action(multi_, fd, flags, &running);
    int left = 0;
    while (CURLMsg* m = curl_multi_info_read(multi_, &left)) {
      if (m->msg != CURLMSG_DONE) continue;
      Transfer* t = nullptr;
      curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &t);
      if (t) Finish(t, m->data.result);
    }
  }

  void Finish(Transfer* t, CURLcode code) {
    HopResult r;
    long status = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    if (code != CURLE_OK) {
      r.error = t->error[0] ? std::string(t->error) : curl_easy_strerror(code);
    } else {
      r.status = static_cast<int>(status);
      char* loc = nullptr;
      curl_easy_getinfo(t->easy, CURLINFO_REDIRECT_URL, &loc);
      if (loc) r.location = loc;
      r.body = std::move(t->body);
    }
    HopDone done = std::move(t->done);
    transfers_.erase(t);
    Release(t);
    done(std::move(r));
  }

  void Release(Transfer* t) {
    if (t->easy) {
      curl_multi_remove_handle(multi_, t->easy);
      curl_easy_cleanup(t->easy);
    }
    curl_slist_free_all(t->headers);
    delete t;
  }

  uv_loop_t* loop_;
  CURLM* multi_ = nullptr;  // made with the first https probe
  uv_timer_t* timer_ = nullptr;
  std::set<Transfer*> transfers_;  // owned; loop thread only
};

}  // namespace http_prober_detail

using namespace http_prober_detail;

std::string HttpProbeURL(const HttpProbeRequest& r) {
  return Lower(r.scheme.empty() ? "http" : r.scheme) + "://" + Bracket(r.host) + ":" +
         std::to_string(r.port) + RequestTarget(r.path);
}

class HttpProber::Impl {
 public:
  explicit Impl(uv_loop_t* loop) : loop_(loop), curl_(loop) {}

  ~Impl() {
    for (Probe* p : probes_) Drop(p);
    probes_.clear();
  }

  void Get(const HttpProbeRequest& req, ProbeDone done) {
    auto* p = new Probe;
    p->impl = this;
    p->done = std::move(done);
    p->timer = static_cast<uv_timer_t*>(std::calloc(1, sizeof(uv_timer_t)));
    uv_timer_init(loop_, p->timer);
    p->timer->data = p;
    probes_.insert(p);

    p->cur.scheme = Lower(req.scheme.empty() ? "http" : req.scheme);
    p->cur.host = req.host;
    p->cur.port = req.port;
    p->cur.host_port = Bracket(req.host) + ":" + std::to_string(req.port);
    p->cur.target = RequestTarget(req.path);
    p->cur.url = p->cur.scheme + "://" + p->cur.host_port + p->cur.target;
    p->first_host = req.host;

    // Headers as upstream NewProbeRequest and Go's request writer: keys canonicalised; a Host
    // header sets the request's host; User-Agent and Accept defaulted unless set (an empty Accept
    // removes it, an empty User-Agent sends none).
    bool has_ua = false, has_accept = false, close_set = false;
    std::string ua = kProbeUserAgent, accept = "*/*";
    std::string bad;
    for (const auto& [k0, v] : req.headers) {
      std::string k = CanonicalKey(k0);
      if (k.empty() || !std::all_of(k.begin(), k.end(), [](char c) { return HeaderNameByte(c); })) {
        bad = "net/http: invalid header field name " + Quote(k);
        break;
      }
      if (std::any_of(v.begin(), v.end(),
                      [](unsigned char c) { return (c < 0x20 && c != '\t') || c == 0x7f; })) {
        bad = "net/http: invalid header field value for " + Quote(k);
        break;
      }
      if (k == "Host") {
        if (p->host_header.empty()) p->host_header = v;
        continue;
      }
      if (k == "User-Agent") {
        if (!has_ua) ua = v;
        has_ua = true;
        continue;
      }
      if (k == "Accept") {
        if (!has_accept) accept = v;
        has_accept = true;
        continue;
      }
      if (k == "Content-Length" || k == "Transfer-Encoding" || k == "Trailer") continue;
      if (k == "Connection" && Lower(v).find("close") != std::string::npos) close_set = true;
      p->headers.push_back(k + ": " + v);
    }
    if (!ua.empty()) p->headers.insert(p->headers.begin(), "User-Agent: " + ua);
    if (!accept.empty()) p->headers.push_back("Accept: " + accept);
    if (!close_set) p->headers.push_back("Connection: close");  // upstream: DisableKeepAlives

    if (!bad.empty()) {
      Later(p, ProbeOutcome::Failure("Get \"" + p->cur.url + "\": " + bad));
      return;
    }
    if (p->cur.scheme != "http" && p->cur.scheme != "https") {
      Later(p, ProbeOutcome::Failure("Get \"" + p->cur.url + "\": unsupported protocol scheme " +
                                     Quote(p->cur.scheme)));
      return;
    }
    // As Go's Client.Timeout: one deadline for the whole exchange, redirects included.
    p->deadline = uv_now(loop_) + static_cast<uint64_t>(std::max<int64_t>(1, req.timeout.count()));
    uv_timer_start(p->timer, &Impl::OnDeadline, p->deadline - uv_now(loop_), 0);
    StartHop(p);
  }

  size_t in_flight() const { return probes_.size(); }

 private:
  struct Probe {
    Impl* impl = nullptr;
    ProbeDone done;
    std::vector<std::string> headers;  // "Key: value", without Host
    std::string host_header;           // the probe's Host header, "" when none
    bool keep_host_header = true;      // only while redirects are relative, as Go
    std::string first_host;
    ParsedURL cur;
    int redirects = 0;
    uv_timer_t* timer = nullptr;  // the deadline; freed by its close callback
    uint64_t deadline = 0;
    std::optional<ProbeOutcome> later;  // an outcome known at once, delivered by the timer
    Http1Exchange* native = nullptr;
    CurlHops::Transfer* curl = nullptr;
  };

  void Later(Probe* p, ProbeOutcome o) {
    p->later = std::move(o);
    uv_timer_start(p->timer, &Impl::OnDeadline, 0, 0);
  }

  static void OnDeadline(uv_timer_t* t) {
    auto* p = static_cast<Probe*>(t->data);
    if (p->later) {
      ProbeOutcome o = std::move(*p->later);
      p->impl->Finish(p, std::move(o));
      return;
    }
    p->impl->Finish(
        p, ProbeOutcome::Failure("Get \"" + p->cur.url +
                                 "\": context deadline exceeded (Client.Timeout exceeded while "
                                 "awaiting headers)"));
  }

  void StartHop(Probe* p) {
    std::string host =
        !p->host_header.empty() && p->keep_host_header ? p->host_header : p->cur.host_port;
    if (p->cur.scheme == "http") {
      Http1Target t;
      t.host = p->cur.host;
      t.port = p->cur.port;
      t.max_body = kMaxProbeOutput;
      t.request.reserve(128 + p->cur.target.size());
      t.request.append("GET ").append(p->cur.target).append(" HTTP/1.1\r\nHost: ");
      t.request.append(host).append("\r\n");
      for (const auto& h : p->headers) t.request.append(h).append("\r\n");
      t.request.append("\r\n");
      p->native = StartHttp1Exchange(loop_, std::move(t), [p](HopResult r) {
        p->native = nullptr;
        p->impl->OnHop(p, std::move(r));
      });
    } else {
      std::vector<std::string> lines = p->headers;
      if (!p->host_header.empty() && p->keep_host_header) lines.push_back("Host: " + host);
      uint64_t now = uv_now(loop_);
      auto left = std::chrono::milliseconds(p->deadline > now ? p->deadline - now : 1);
      p->curl = curl_.Start(p->cur.url, lines, left, [p](HopResult r) {
        p->curl = nullptr;
        p->impl->OnHop(p, std::move(r));
      });
    }
  }

  void OnHop(Probe* p, HopResult r) {
    const std::string get = "Get \"" + p->cur.url + "\": ";
    if (!r.error.empty()) {
      // A body that broke off is a read error upstream: "probe errored", the result is kept.
      Finish(p, r.body_error ? ProbeOutcome::Unknown(get + r.error)
                             : ProbeOutcome::Failure(get + r.error));
      return;
    }
    int s = r.status;
    bool redirect = s == 301 || s == 302 || s == 303 || s == 307 || s == 308;
    if (redirect && !r.location.empty()) {
      std::string err;
      auto next = Resolve(p->cur.url, r.location, &err);
      if (!next) {
        Finish(p, ProbeOutcome::Failure(get + "failed to parse Location header " +
                                        Quote(r.location) + ": " + err));
        return;
      }
      // As upstream RedirectChecker: another host ends the chain with the last response (a
      // warning below); the same host is followed at most 10 times.
      if (next->host == p->first_host) {
        if (p->redirects >= kMaxRedirects) {
          Finish(p, ProbeOutcome::Failure("Get \"" + next->url + "\": stopped after 10 redirects"));
          return;
        }
        if (next->scheme != "http" && next->scheme != "https") {
          Finish(p,
                 ProbeOutcome::Failure("Get \"" + next->url + "\": unsupported protocol scheme " +
                                       Quote(next->scheme)));
          return;
        }
        ++p->redirects;
        if (IsAbsolute(r.location)) p->keep_host_header = false;
        p->cur = std::move(*next);
        StartHop(p);
        return;
      }
    }
    if (s >= 200 && s < 300) {
      Finish(p, ProbeOutcome::Success(std::move(r.body)));
    } else if (s >= 300 && s < 400) {
      Finish(p, ProbeOutcome::Warning("Probe terminated redirects, Response body: " + r.body));
    } else {
      // As upstream: the failure message must not contain the response body.
      Finish(p, ProbeOutcome::Failure("HTTP probe failed with statuscode: " + std::to_string(s)));
    }
  }

  // Stops what the probe has open; its `done` is not called.
  void Drop(Probe* p) {
    if (p->native) CancelHttp1Exchange(p->native);
    if (p->curl) curl_.Cancel(p->curl);
    p->native = nullptr;
    p->curl = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(p->timer), [](uv_handle_t* h) { std::free(h); });
    delete p;
  }

  void Finish(Probe* p, ProbeOutcome o) {
    ProbeDone done = std::move(p->done);
    probes_.erase(p);
    Drop(p);
    if (done) done(std::move(o));
  }

  uv_loop_t* loop_;
  CurlHops curl_;
  std::set<Probe*> probes_;  // owned; loop thread only
};

HttpProber::HttpProber(uv_loop_t* loop) : impl_(std::make_unique<Impl>(loop)) {}
HttpProber::~HttpProber() = default;
void HttpProber::Get(const HttpProbeRequest& req, ProbeDone done) {
  impl_->Get(req, std::move(done));
}
size_t HttpProber::in_flight() const { return impl_->in_flight(); }

}  // namespace nanolet::prober
