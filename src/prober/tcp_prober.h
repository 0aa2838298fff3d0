#pragma once
// tcpSocket probes without blocking: a uv_tcp connect with a deadline on the prober's loop (names
// are resolved with uv_getaddrinfo). As upstream pkg/probe/tcp: success when the connection opens
// (it is closed at once), failure with the dial error otherwise.
//
// Loop thread only. The destructor abandons connects in flight (callbacks never run); the owner
// must run the loop afterwards so that the closed handles are freed.
#include <chrono>
#include <set>
#include <string>

#include "prober/outcome.h"

typedef struct uv_loop_s uv_loop_t;

namespace nanolet::prober {

class TcpProber {
 public:
  explicit TcpProber(uv_loop_t* loop) : loop_(loop) {}
  ~TcpProber();
  TcpProber(const TcpProber&) = delete;
  TcpProber& operator=(const TcpProber&) = delete;

  // `done` runs on the loop thread, once; inside Probe only when the connect cannot even be
  // started.
  void Probe(const std::string& host, int port, std::chrono::milliseconds timeout, ProbeDone done);
  size_t in_flight() const { return attempts_.size(); }

  struct Attempt;

 private:
  friend struct Attempt;
  uv_loop_t* loop_;
  std::set<Attempt*> attempts_;  // owned until their handles are closed
};

}  // namespace nanolet::prober
