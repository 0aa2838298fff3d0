#include "prober/http_prober.h"

#include <curl/curl.h>
#include <uv.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <set>

#include "util/log.h"
#include "util/strings.h"

namespace nanolet::prober {

namespace http_prober_detail {

// As upstream: the probe identifies itself as the kubelet version it follows.
constexpr const char* kProbeUserAgent = "User-Agent: kube-probe/1.30";
constexpr int kMaxRedirects = 10;

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// The host part of an absolute URL ("" when it does not parse), for the same-host redirect rule.
std::string HostOf(const std::string& url) {
  CURLU* u = curl_url();
  std::string out;
  if (u && curl_url_set(u, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK) {
    char* host = nullptr;
    if (curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host) out = Lower(host);
    curl_free(host);
  }
  curl_url_cleanup(u);
  return out;
}

}  // namespace http_prober_detail

using namespace http_prober_detail;

std::string HttpProbeURL(const HttpProbeRequest& r) {
  std::string host = r.host.find(':') != std::string::npos ? "[" + r.host + "]" : r.host;
  std::string path = r.path;
  if (path.empty() || path[0] != '/') path = "/" + path;
  return Lower(r.scheme.empty() ? "http" : r.scheme) + "://" + host + ":" + std::to_string(r.port) +
         path;
}

class HttpProber::Impl {
 public:
  struct Transfer {
    CURL* easy = nullptr;
    curl_slist* headers = nullptr;
    std::string url;
    std::string first_host;
    std::string body;
    int redirects = 0;
    HttpProbeRequest req;
    ProbeDone done;
    char error[CURL_ERROR_SIZE] = {};
  };
  // One uv_poll per socket curl watches; `poll` first so the handle pointer is the context pointer.
  struct SocketCtx {
    uv_poll_t poll;
    curl_socket_t fd;
    Impl* impl;
  };

  explicit Impl(uv_loop_t* loop) : loop_(loop) {
    multi_ = curl_multi_init();
    timer_ = static_cast<uv_timer_t*>(std::calloc(1, sizeof(uv_timer_t)));
    uv_timer_init(loop_, timer_);
    timer_->data = this;
    curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &Impl::OnSocket);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &Impl::OnTimer);
    curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
  }

  ~Impl() {
    for (Transfer* t : transfers_) Release(t);
    transfers_.clear();
    curl_multi_cleanup(multi_);  // removes the remaining sockets through OnSocket
    uv_close(reinterpret_cast<uv_handle_t*>(timer_), [](uv_handle_t* h) { std::free(h); });
  }

  void Get(const HttpProbeRequest& req, ProbeDone done) {
    auto* t = new Transfer;
    t->req = req;
    t->done = std::move(done);
    t->url = HttpProbeURL(req);
    t->first_host = HostOf(t->url);
    bool has_ua = false, has_accept = false;
    for (const auto& [k, v] : req.headers) {
      std::string lk = Lower(k);
      has_ua |= lk == "user-agent";
      has_accept |= lk == "accept";
      t->headers = curl_slist_append(t->headers, (k + ": " + v).c_str());
    }
    if (!has_ua) t->headers = curl_slist_append(t->headers, kProbeUserAgent);
    if (!has_accept) t->headers = curl_slist_append(t->headers, "Accept: */*");
    t->headers = curl_slist_append(t->headers, "Connection: close");  // upstream: DisableKeepAlives
    transfers_.insert(t);
    Start(t);
  }

  size_t in_flight() const { return transfers_.size(); }

 private:
  static size_t OnBody(char* data, size_t size, size_t n, void* userp) {
    auto* t = static_cast<Transfer*>(userp);
    size_t len = size * n;
    if (t->body.size() < kMaxProbeOutput)
      t->body.append(data, std::min(len, kMaxProbeOutput - t->body.size()));
    return len;
  }

  void Start(Transfer* t) {
    if (t->easy) {
      curl_multi_remove_handle(multi_, t->easy);
      curl_easy_cleanup(t->easy);
    }
    t->body.clear();
    t->error[0] = 0;
    CURL* e = curl_easy_init();
    t->easy = e;
    curl_easy_setopt(e, CURLOPT_URL, t->url.c_str());
    curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(t->req.timeout.count()));
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);  // upstream probes skip TLS verification
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Impl::OnBody);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
    curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
    curl_multi_add_handle(multi_, e);
  }

  static int OnSocket(CURL*, curl_socket_t fd, int what, void* userp, void* socketp) {
    auto* self = static_cast<Impl*>(userp);
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
      ctx->impl = self;
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
      c->impl->Action(c->fd, flags);
    });
    return 0;
  }

  static int OnTimer(CURLM*, long timeout_ms, void* userp) {
    auto* self = static_cast<Impl*>(userp);
    if (timeout_ms < 0) {
      uv_timer_stop(self->timer_);
    } else {
      // Never act from inside curl's callback: a zero timeout fires on the next loop iteration.
      uv_timer_start(
          self->timer_,
          [](uv_timer_t* h) { static_cast<Impl*>(h->data)->Action(CURL_SOCKET_TIMEOUT, 0); },
          static_cast<uint64_t>(timeout_ms), 0);
    }
    return 0;
  }

  void Action(curl_socket_t fd, int flags) {
    int running = 0;
    curl_multi_socket_action(multi_, fd, flags, &running);
    CheckDone();
  }

  void CheckDone() {
    int left = 0;
    while (CURLMsg* m = curl_multi_info_read(multi_, &left)) {
      if (m->msg != CURLMSG_DONE) continue;
      Transfer* t = nullptr;
      curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &t);
      if (t) Finish(t, m->data.result);
    }
  }

  void Finish(Transfer* t, CURLcode code) {
    ProbeOutcome out;
    long status = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    if (code != CURLE_OK) {
      // As upstream: a request error is a failure whose output is the error.
      std::string why = t->error[0] ? std::string(t->error) : curl_easy_strerror(code);
      out = ProbeOutcome::Failure("Get \"" + t->url + "\": " + why);
    } else if (status >= 200 && status < 300) {
      out = ProbeOutcome::Success(t->body);
    } else if (status >= 300 && status < 400) {
      char* loc = nullptr;
      curl_easy_getinfo(t->easy, CURLINFO_REDIRECT_URL, &loc);
      if (loc && HostOf(loc) == t->first_host) {
        if (t->redirects >= kMaxRedirects) {
          out =
              ProbeOutcome::Failure("Get \"" + std::string(loc) + "\": stopped after 10 redirects");
        } else {
          ++t->redirects;
          t->url = loc;
          Start(t);
          return;
        }
      } else {
        out = ProbeOutcome::Warning("Probe terminated redirects, Response body: " + t->body);
      }
    } else {
      out = ProbeOutcome::Failure("HTTP probe failed with statuscode: " + std::to_string(status));
    }
    ProbeDone done = std::move(t->done);
    transfers_.erase(t);
    Release(t);
    done(std::move(out));
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
  CURLM* multi_ = nullptr;
  uv_timer_t* timer_ = nullptr;
  std::set<Transfer*> transfers_;  // owned; loop thread only
};

HttpProber::HttpProber(uv_loop_t* loop) : impl_(std::make_unique<Impl>(loop)) {}
HttpProber::~HttpProber() = default;
void HttpProber::Get(const HttpProbeRequest& req, ProbeDone done) {
  impl_->Get(req, std::move(done));
}
size_t HttpProber::in_flight() const { return impl_->in_flight(); }

}  // namespace nanolet::prober
