#pragma once
// The kubelet's read-only port (--address:--read-only-port, default 0.0.0.0:10255), plus the
// read-only slice of the core/v1 API that kubectl needs against a standalone node:
//
//   /healthz                        ok
//   /pods, /pods/                   v1 PodList of the PodView snapshot (body cached per snapshot)
//   /spec/                          cAdvisor MachineInfo (node/machine_info.h)
//   /stats/summary                  Summary API (node/stats.h)
//   /metrics                        Prometheus text: the metrics::Registry, process_* and
//   kubelet_running_* /version, /api, /api/v1, /apis  discovery (APIVersions, APIResourceList:
//   pods, pods/log, events) /api/v1/pods, /api/v1/namespaces/{ns}/pods[/{name}[/log]]
//                                   lists honour labelSelector and fieldSelector; `Accept:
//                                   ...;as=Table` gets a meta.k8s.io/v1 Table (server-side
//                                   printing, as the apiserver); log takes container, follow,
//                                   tailLines, timestamps, previous, limitBytes, sinceSeconds,
//                                   sinceTime
//   /api/v1/[namespaces/{ns}/]events an empty EventList (kubectl describe asks for events)
//
// Errors on /api paths are metav1 Status objects (`pods "x" not found`, reason NotFound, code 404).
//
// Threads: one acceptor thread (started by Start) and a bounded pool of workers; a worker serves
// one connection at a time (keep-alive). Handlers read the PodView's immutable snapshot and never
// block the sync loop. Follows (logs -f) hold a worker each and are capped at max_follows.
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "kubelet/pod_view.h"
#include "node/machine_info.h"
#include "node/stats.h"
#include "util/clock.h"
#include "util/metrics.h"
#include "util/result.h"

namespace nanolet::server {

struct ReadOnlyServerOptions {
  std::string address = "0.0.0.0";
  int port = 10255;  // 0: any free port (see port())
  std::string pod_logs_dir = "/var/log/pods";
  std::string root_dir = "/var/lib/nanolet";
  std::string node_name;

  int threads = 64;                      // workers; each serves one connection at a time
  // Accepted connections waiting for a worker; beyond: answered 503 and closed by the acceptor. Keep
  // threads + this well under 1024: Debian's libcpp-httplib is built with select(), which cannot watch
  // descriptors >= FD_SETSIZE (measured: with 2000 idle connections the listener stopped accepting).
  size_t max_queued_connections = 512;
  int max_follows = 16;                  // concurrent `logs -f`; beyond: 429
  std::chrono::seconds read_timeout{5};  // a client silent this long mid-request is dropped
  std::chrono::seconds write_timeout{5};
  std::chrono::seconds keep_alive_timeout{5};
  size_t keep_alive_max_requests = 100;
  size_t max_payload_bytes =
      64 << 10;  // request bodies (headers are capped at 8 KiB by the library)
};

class ReadOnlyServer {
 public:
  // `pods` must outlive the server. `stats` may be null (the server builds one from the options);
  // `registry` null means metrics::Registry::Default(); `clock` null means the real clock (AGE
  // columns, sinceSeconds). MachineInfo is gathered in Start().
  ReadOnlyServer(ReadOnlyServerOptions opts, const kubelet::PodView& pods,
                 node::StatsProvider* stats = nullptr, metrics::Registry* registry = nullptr,
                 const Clock* clock = nullptr);
  ~ReadOnlyServer();  // Stop()
  ReadOnlyServer(const ReadOnlyServer&) = delete;
  ReadOnlyServer& operator=(const ReadOnlyServer&) = delete;

  // Binds and starts serving on background threads; returns once the port accepts connections.
  Result<void> Start();
  // Stops accepting, ends follows, waits for the threads. Idempotent.
  void Stop();
  // The bound port (after Start; useful with port 0).
  int port() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace nanolet::server
