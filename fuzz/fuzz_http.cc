// The whole HTTP request path of the read-only port: the input is sent as raw bytes on a loopback
// connection to a ReadOnlyServer (server/http_server.cc parses, our routing, query handling, selectors,
// tables and log reading answer) serving two pods with logs. The server must answer or close,
// never crash, and stay able to serve the next request.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "kubelet/pod_view.h"
#include "server/read_only_server.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/timefmt.h"

namespace {

using namespace nanolet;

api::Pod HttpFuzzPod(const std::string& ns, const std::string& name, int containers) {
  api::Pod p;
  p.metadata.name = name;
  p.metadata.namespace_ = ns;
  p.metadata.uid = "uid-" + name;
  p.metadata.creation_timestamp = "2026-11-27T18:00:00Z";
  p.metadata.labels = {{"app", name}};
  p.spec.restart_policy = "Always";
  p.spec.node_name = "node1";
  p.status.phase = "Running";
  p.status.pod_ip = "10.88.0.5";
  for (int i = 0; i < containers; ++i) {
    api::Container c;
    c.name = i ? "side" : "app";
    c.image = "busybox:1.36";
    p.spec.containers.push_back(c);
    api::ContainerStatus cs;
    cs.name = c.name;
    cs.restart_count = i;
    cs.state.running = api::ContainerStateRunning{"2026-11-27T18:00:02Z"};
    p.status.container_statuses.push_back(cs);
  }
  return p;
}

struct HttpFuzzEnv {
  std::string dir;
  kubelet::SnapshotPodView view;
  FakeClock clock;
  metrics::Registry registry;
  std::unique_ptr<server::ReadOnlyServer> srv;
  ~HttpFuzzEnv() {
    srv.reset();
    (void)RemoveAll(dir);
  }
  HttpFuzzEnv() {
    log::SetVerbosity(-1);
    char t[] = "/tmp/nanolet-fuzz-http-XXXXXX";
    dir = ::mkdtemp(t);
    std::vector<api::Pod> pods = {HttpFuzzPod("default", "web", 1),
                                  HttpFuzzPod("kube-system", "two", 2)};
    for (const auto& p : pods) {
      std::string base = dir + "/logs/" + p.metadata.namespace_ + "_" + p.metadata.name + "_" +
                          p.metadata.uid + "/";
      (void)MkdirAll(base + "app");
      (void)MkdirAll(base + "side");
      (void)WriteFile(base + "app/0.log",
                      "2026-11-27T18:00:03.000000001Z stdout F first\n"
                      "2026-11-27T18:00:04.000000001Z stderr P part-\n"
                      "2026-11-27T18:00:05.000000001Z stderr F two\n");
      (void)WriteFile(base + "side/1.log", "2026-11-27T18:00:06.000000001Z stdout F side\n");
      (void)WriteFile(base + "side/0.log", "2026-11-27T18:00:01.000000001Z stdout F prev\n");
    }
    view.Publish(pods);
    clock.Set(*ParseRFC3339("2026-11-27T18:20:00Z"));
    server::ReadOnlyServerOptions o;
    o.address = "127.0.0.1";
    o.port = 0;
    o.pod_logs_dir = dir + "/logs";
    o.root_dir = dir + "/root";
    o.node_name = "node1";
    o.io_threads = 2;
    o.request_timeout = std::chrono::milliseconds(1000);
    o.write_timeout = std::chrono::milliseconds(1000);
    o.housekeeping_interval = std::chrono::milliseconds(0);
    srv = std::make_unique<server::ReadOnlyServer>(o, view, nullptr, &registry, &clock);
    auto r = srv->Start();
    if (!r.ok()) {
      std::fprintf(stderr, "start: %s\n", r.error().message().c_str());
      std::abort();
    }
  }
};

// Sends `req`, half-closes, reads until EOF or the deadline. Returns the bytes read.
std::string Exchange(int port, const std::string& req, std::chrono::milliseconds deadline) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) std::abort();
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    std::perror("connect");
    std::abort();
  }
  size_t off = 0;
  while (off < req.size()) {
    ssize_t n = ::send(fd, req.data() + off, req.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may close early on a bad request
    off += static_cast<size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  std::string out;
  auto end = std::chrono::steady_clock::now() + deadline;
  char buf[16384];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static HttpFuzzEnv env;
  std::string req(reinterpret_cast<const char*>(data), size);
  // A follow (logs -f) legitimately streams until the client leaves: give it 300 ms.
  (void)Exchange(env.srv->port(), req, std::chrono::milliseconds(300));
  // The server still answers: within three tries of 5 s. One try once came back empty in make test (load ~10)
  // on an input that never reproduces alone; a stuck server still fails all three.
  std::string ok;
  for (int attempt = 0; attempt < 3 && ok.rfind("HTTP/1.1 200", 0) != 0; ++attempt) {
    ok = Exchange(env.srv->port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                  std::chrono::seconds(5));
  }
  if (ok.rfind("HTTP/1.1 200", 0) != 0) {
    std::fprintf(stderr, "server stopped answering /healthz: %s\n", ok.c_str());
    std::abort();
  }
  return 0;
}
