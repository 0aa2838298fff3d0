#pragma once
// httpGet probes without blocking, on the prober's libuv loop and no thread. Plain http goes
// through a small HTTP/1.1 client on uv_tcp (http1_client.h): one connection per request, a few
// syscalls and no per-probe setup beyond it; https goes through libcurl's multi interface driven by
// the same loop. As upstream pkg/probe/http: no keep-alive (`Connection: close`), TLS not verified,
// User-Agent kube-probe/<version> and Accept */* unless the probe sets them, a Host header sets the
// request's host, one deadline (timeoutSeconds) for the whole exchange, at most 10 KiB of the body
// kept for the output, 200-399 is success; redirects are followed (at most 10) while they stay on
// the same host, and a redirect to another host ends the probe with a warning (a success).
//
// Loop thread only. The destructor abandons requests in flight (their callbacks never run); the
// owner must run the loop afterwards so that the closed handles are freed.
#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "prober/outcome.h"

typedef struct uv_loop_s uv_loop_t;

namespace nanolet::prober {

struct HttpProbeRequest {
  std::string scheme = "http";  // "http" or "https" (any case)
  std::string host;             // IP or name; IPv6 without brackets
  int port = 0;
  std::string path;  // "/healthz", "healthz" or "/x?y=1"
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds timeout{1000};
};

// "http://10.0.0.1:8080/healthz" (the path gets a leading "/").
std::string HttpProbeURL(const HttpProbeRequest& r);

class HttpProber {
 public:
  explicit HttpProber(uv_loop_t* loop);
  ~HttpProber();
  HttpProber(const HttpProber&) = delete;
  HttpProber& operator=(const HttpProber&) = delete;

  // `done` runs on the loop thread, never inside Get.
  void Get(const HttpProbeRequest& req, ProbeDone done);
  size_t in_flight() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nanolet::prober
