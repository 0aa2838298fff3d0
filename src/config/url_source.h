#pragma once
// UrlSource: static pods from --manifest-url, as upstream pkg/kubelet/config/http.go, on a libuv
// loop.
//
// The URL is fetched once right after Start() and then every `interval` (--http-check-frequency),
// with the --manifest-url-header headers, following redirects, with a `timeout` per fetch
// (upstream: 10 s) and a 10 MiB body limit. The fetch and the decoding run on a worker thread owned
// by the source; the loop only gets the result (through a uv_async_t), so it never blocks. A fetch
// is never started while one is still running.
//
// The body may be a Pod, a PodList or a v1 List of pods, in JSON or YAML (several documents
// allowed). Pods become static pods as in static_pod.h with config.source "http" and the URL in the
// UID hash. A failed fetch, a status other than 200, or a body with any error KEEPS the current
// pods: the error is logged (the first 3 consecutive failures as errors, later ones at --v 4, as
// upstream) and no callback is made. A body identical to the previous one is not decoded again
// (upstream's short circuit). As upstream, an EMPTY 200 body means "no pods": the callback gets an
// empty set (which also marks the source as seen). Other kinds in the body are ignored with a
// warning.
//
// Threading: construct, Start, Stop and destroy on the loop thread. Callbacks run on the loop
// thread and must not destroy the UrlSource. Stop() interrupts a running fetch at once and joins
// the worker. Destroy it before the loop is closed (its libuv handles are freed by close callbacks,
// which need one more turn of the loop).
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/types.h"
#include "config/pod_source.h"
#include "util/clock.h"
#include "util/result.h"

typedef struct uv_loop_s uv_loop_t;

namespace nanolet::config {

// Request headers in order; a key may repeat (each value is sent as its own header line).
using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// Parses one --manifest-url-header value into `out`, as upstream's
// ColonSeparatedMultimapStringString: comma-separated "key:value" pairs, each split at its first
// ':', key and value trimmed; the flag may be repeated and repeated keys accumulate. "malformed
// pair, expect string:string" when a pair has no ':'.
Result<void> ParseManifestUrlHeader(std::string_view flag_value, HttpHeaders& out);

class UrlSource {
 public:
  struct Options {
    std::string url;
    HttpHeaders headers;
    std::string node_name;
    Duration interval = std::chrono::seconds(20);  // --http-check-frequency
    Duration timeout = std::chrono::seconds(10);   // per fetch, connection included
    const Clock* clock = nullptr;                  // stamps config.seen; RealClock when null
  };
  struct Stats {
    uint64_t fetches = 0;    // completed fetch attempts
    uint64_t failures = 0;   // failed fetches, bad statuses and bad bodies
    uint64_t callbacks = 0;  // SourceCallback invocations
  };

  UrlSource(uv_loop_t* loop, Options opts, SourceCallback on_pods);
  ~UrlSource();  // Stop()
  UrlSource(const UrlSource&) = delete;
  UrlSource& operator=(const UrlSource&) = delete;

  // Starts the worker and the timer; the first fetch starts at once.
  Result<void> Start();
  // No callback is invoked after Stop returns. Idempotent.
  void Stop();

  // The pods last handed to the callback.
  std::vector<api::Pod> Pods() const;
  const Stats& stats() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace nanolet::config
