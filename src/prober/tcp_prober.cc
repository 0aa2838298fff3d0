#include "prober/tcp_prober.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <uv.h>

#include <cstring>

namespace nanolet::prober {

// An attempt owns a resolver request, a socket and a timer; it frees itself once every handle it
// opened has been closed. `done` is cleared once the outcome is delivered (or the prober went
// away).
struct TcpProber::Attempt {
  TcpProber* owner = nullptr;
  std::string target;  // "host:port" for messages
  int port = 0;
  ProbeDone done;
  uv_getaddrinfo_t gai{};
  uv_tcp_t tcp{};
  uv_connect_t connect{};
  uv_timer_t timer{};
  bool tcp_open = false;
  bool resolving = false;
  int open_handles = 0;

  void Deliver(ProbeOutcome o) {
    if (!done) return;
    ProbeDone d = std::move(done);
    done = nullptr;
    bool deliver = owner != nullptr;  // Close() detaches from the prober
    Close();
    if (deliver) d(std::move(o));
  }
  static void OnClosed(uv_handle_t* h) {
    auto* a = static_cast<Attempt*>(h->data);
    if (--a->open_handles == 0 && !a->resolving) delete a;
  }
  void Close() {
    if (owner) {
      owner->attempts_.erase(this);
      owner = nullptr;
    }
    if (resolving) uv_cancel(reinterpret_cast<uv_req_t*>(&gai));
    if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&timer))) {
      uv_close(reinterpret_cast<uv_handle_t*>(&timer), &Attempt::OnClosed);
    }
    if (tcp_open && !uv_is_closing(reinterpret_cast<uv_handle_t*>(&tcp))) {
      uv_close(reinterpret_cast<uv_handle_t*>(&tcp), &Attempt::OnClosed);
    }
  }
  void Connect(const sockaddr* addr) {
    if (uv_tcp_init(owner->loop_, &tcp) != 0) {
      Deliver(ProbeOutcome::Failure("dial tcp " + target + ": cannot create socket"));
      return;
    }
    tcp.data = this;
    tcp_open = true;
    ++open_handles;
    connect.data = this;
    int rc = uv_tcp_connect(&connect, &tcp, addr, [](uv_connect_t* req, int status) {
      auto* a = static_cast<Attempt*>(req->data);
      if (status == 0) {
        a->Deliver(ProbeOutcome::Success());
      } else if (status != UV_ECANCELED) {
        a->Deliver(
            ProbeOutcome::Failure("dial tcp " + a->target + ": connect: " + uv_strerror(status)));
      }
    });
    if (rc != 0)
      Deliver(ProbeOutcome::Failure("dial tcp " + target + ": connect: " + uv_strerror(rc)));
  }
};

TcpProber::~TcpProber() {
  auto copy = attempts_;
  for (Attempt* a : copy) {
    a->done = nullptr;
    a->Close();
  }
}

void TcpProber::Probe(const std::string& host, int port, std::chrono::milliseconds timeout,
                      ProbeDone done) {
  auto* a = new Attempt;
  a->owner = this;
  a->port = port;
  a->target =
      (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
  a->done = std::move(done);
  attempts_.insert(a);
  uv_timer_init(loop_, &a->timer);
  a->timer.data = a;
  ++a->open_handles;
  uv_timer_start(
      &a->timer,
      [](uv_timer_t* t) {
        auto* x = static_cast<Attempt*>(t->data);
        x->Deliver(ProbeOutcome::Failure("dial tcp " + x->target + ": i/o timeout"));
      },
      static_cast<uint64_t>(timeout.count() > 0 ? timeout.count() : 1), 0);

  sockaddr_storage ss{};
  auto* in4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (uv_ip4_addr(host.c_str(), port, in4) == 0 || uv_ip6_addr(host.c_str(), port, in6) == 0) {
    a->Connect(reinterpret_cast<const sockaddr*>(&ss));
    return;
  }
  // A name: resolve it first, without blocking the loop.
  a->gai.data = a;
  a->resolving = true;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  int rc = uv_getaddrinfo(
      loop_, &a->gai,
      [](uv_getaddrinfo_t* req, int status, addrinfo* res) {
        auto* x = static_cast<Attempt*>(req->data);
        x->resolving = false;
        if (!x->done) {  // timed out or abandoned meanwhile
          uv_freeaddrinfo(res);
          if (x->open_handles == 0) delete x;
          return;
        }
        if (status != 0 || !res) {
          x->Deliver(
              ProbeOutcome::Failure("dial tcp " + x->target + ": lookup: " + uv_strerror(status)));
        } else {
          sockaddr_storage addr{};
          std::memcpy(&addr, res->ai_addr, res->ai_addrlen);
          reinterpret_cast<sockaddr_in*>(&addr)->sin_port = htons(static_cast<uint16_t>(x->port));
          x->Connect(reinterpret_cast<const sockaddr*>(&addr));
        }
        uv_freeaddrinfo(res);
      },
      host.c_str(), nullptr, &hints);
  if (rc != 0) {
    a->resolving = false;
    a->Deliver(ProbeOutcome::Failure("dial tcp " + a->target + ": lookup: " + uv_strerror(rc)));
  }
}

}  // namespace nanolet::prober
