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
// The same object serves the authenticated port (secure_port >= 0; --port, default 10250): HTTPS
// (the given certificate, else a self-signed one under ROOT/pki), every request authenticated and
// authorized (server/auth.h: 401 without or with an unknown bearer token, 403 unless the user is in
// group system:masters or system:kubelet-api-admin):
//   /healthz, /pods, /runningpods/ (pods with a running container: metadata and the running
//   containers' names and images, as upstream), /containerLogs/{ns}/{pod}/{container} (follow,
//   tailLines, limitBytes, timestamps, previous, sinceSeconds, sinceTime), /spec/,
//   /stats/summary, /metrics.
//
// Threads (server/http_server.h): a few I/O threads per port serve every connection; handlers read
// the PodView's immutable snapshot and never block the sync loop. Log follows run on a thread each,
// capped at max_follows (beyond: 429). A housekeeping thread samples cgroup CPU usage every 10 s
// (usageNanoCores) and observes pod start durations.
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "kubelet/pod_view.h"
#include "node/machine_info.h"
#include "node/stats.h"
#include "server/auth.h"
#include "util/clock.h"
#include "util/metrics.h"
#include "util/result.h"

namespace nanolet::server {

struct ReadOnlyServerOptions {
  std::string address = "0.0.0.0";
  int port = 10255;  // 0: any free port (see port()); -1: no read-only port
  std::string pod_logs_dir = "/var/log/pods";
  std::string root_dir = "/var/lib/nanolet";
  std::string node_name;
  std::string cgroup_parent = "nanolet";  // the runtime's, for /stats/summary

  // Authenticated port: -1 off, 0 any free port (see secure_port()).
  int secure_port = -1;
  std::string tls_cert_file;  // both empty: self-signed under root_dir/pki
  std::string tls_key_file;
  bool anonymous_auth = false;             // requests without a token: system:anonymous
  Authenticator* authenticator = nullptr;  // null: no token is known (every token is 401)
  Authorizer* authorizer = nullptr;        // null: GroupAuthorizer (system:masters, ...-api-admin)

  int io_threads = 2;                                // per port
  size_t max_connections = 8192;                     // per port; beyond: closed at once
  int max_follows = 16;                              // concurrent `logs -f`; beyond: 429
  std::chrono::milliseconds request_timeout{10000};  // a request must arrive complete within this
  std::chrono::milliseconds write_timeout{10000};
  size_t max_header_bytes = 8 << 10;                       // beyond: 431
  size_t max_body_bytes = 64 << 10;                        // beyond: 413
  std::chrono::milliseconds housekeeping_interval{10000};  // 0: no housekeeping thread
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
  // The bound ports (after Start; useful with port 0); -1 when off.
  int port() const;
  int secure_port() const;
  // One housekeeping pass now (tests): CPU samples and pod start observations.
  void Housekeep();

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace nanolet::server
