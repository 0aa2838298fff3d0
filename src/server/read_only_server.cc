// The only translation unit that includes httplib.h (Debian's libcpp-httplib: compiled library,
// link -lcpp-httplib; its configuration macros must match the library's build, hence the three
// below).
#ifndef CPPHTTPLIB_OPENSSL_SUPPORT  // pkg-config cpp-httplib defines them too
#define CPPHTTPLIB_OPENSSL_SUPPORT
#endif
#ifndef CPPHTTPLIB_ZLIB_SUPPORT
#define CPPHTTPLIB_ZLIB_SUPPORT
#endif
#ifndef CPPHTTPLIB_BROTLI_SUPPORT
#define CPPHTTPLIB_BROTLI_SUPPORT
#endif
#include <httplib.h>

#include "server/read_only_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "api/encode.h"
#include "server/container_logs.h"
#include "server/pod_table.h"
#include "server/selectors.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strings.h"
#include "util/timefmt.h"

namespace nanolet::server {
namespace {

using nlohmann::json;

constexpr const char* kJson = "application/json";
// Kubernetes version this API mimics (kubectl warns beyond one minor version of skew).
constexpr const char* kKubeMajor = "1";
constexpr const char* kKubeMinor = "32";

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// Set on a worker that runs a connection the queue had no room for: answer 503 and close.
thread_local bool t_overloaded = false;

// A fixed pool of workers with a bounded queue of accepted connections. When the queue is full the
// connection is handled inline on the acceptor thread with t_overloaded set (503 + close): the
// library gives no other way to close a socket it has accepted, and blocking the acceptor is the
// back-pressure.
class BoundedPool final : public httplib::TaskQueue {
 public:
  BoundedPool(size_t threads, size_t max_queue) : max_queue_(max_queue) {
    for (size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { Work(); });
  }
  ~BoundedPool() override { shutdown(); }

  void enqueue(std::function<void()> fn) override {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (!shutdown_ && jobs_.size() < max_queue_) {
        jobs_.push_back(std::move(fn));
        cv_.notify_one();
        return;
      }
    }
    t_overloaded = true;
    fn();
    t_overloaded = false;
  }

  void shutdown() override {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (shutdown_ && workers_.empty()) return;
      shutdown_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

 private:
  void Work() {
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock<std::mutex> l(mu_);
        cv_.wait(l, [&] { return shutdown_ || !jobs_.empty(); });
        if (jobs_.empty()) return;  // shut down and drained: queued sockets still get closed by fn
        fn = std::move(jobs_.front());
        jobs_.pop_front();
      }
      fn();
    }
  }

  const size_t max_queue_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;  // guarded by mu_
  bool shutdown_ = false;                   // guarded by mu_
  std::vector<std::thread> workers_;
};

// The connection socket of a request, found by its addresses (the library does not expose it); -1
// when not found. Used by follows to notice a client that went away while nothing is being written.
int FindConnectionFd(const httplib::Request& req) {
  auto names = ListDir("/proc/self/fd");
  if (!names.ok()) return -1;
  for (const auto& n : *names) {
    int fd = std::atoi(n.c_str());
    sockaddr_storage local{}, peer{};
    socklen_t ll = sizeof local, pl = sizeof peer;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &ll) != 0) continue;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &pl) != 0) continue;
    char host[INET6_ADDRSTRLEN] = {};
    int lport = 0, pport = 0;
    if (local.ss_family == AF_INET) {
      lport = ntohs(reinterpret_cast<sockaddr_in*>(&local)->sin_port);
      auto* p = reinterpret_cast<sockaddr_in*>(&peer);
      pport = ntohs(p->sin_port);
      ::inet_ntop(AF_INET, &p->sin_addr, host, sizeof host);
    } else if (local.ss_family == AF_INET6) {
      lport = ntohs(reinterpret_cast<sockaddr_in6*>(&local)->sin6_port);
      auto* p = reinterpret_cast<sockaddr_in6*>(&peer);
      pport = ntohs(p->sin6_port);
      ::inet_ntop(AF_INET6, &p->sin6_addr, host, sizeof host);
    } else {
      continue;
    }
    if (lport == req.local_port && pport == req.remote_port && req.remote_addr == host) return fd;
  }
  return -1;
}

// False once the peer has closed or reset the connection.
bool PeerAlive(int fd) {
  if (fd < 0) return true;
  struct pollfd p = {fd, POLLIN | POLLRDHUP, 0};
  if (::poll(&p, 1, 0) <= 0) return true;
  if (p.revents & (POLLHUP | POLLERR | POLLRDHUP)) return false;
  char c;
  return ::recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) != 0;
}

json Status(int code, const std::string& reason, const std::string& message,
            const json& details = nullptr) {
  json s = {{"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", json::object()},
            {"status", "Failure"}, {"message", message}, {"reason", reason},
            {"code", code}};
  if (!details.is_null()) s["details"] = details;
  return s;
}

// Process metrics as the Prometheus Go client's process collector names them.
std::string ProcessMetrics() {
  std::string out;
  auto add = [&](const char* name, const char* type, const char* help, double v) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
           name + " " + metrics::FormatValue(v) + "\n";
  };
  long tck = ::sysconf(_SC_CLK_TCK), page = ::sysconf(_SC_PAGESIZE);
  auto stat = ReadFile("/proc/self/stat", 1 << 16);
  if (stat.ok()) {
    // Fields after the ")" closing comm: state is field 3; utime 14, stime 15, starttime 22, vsize
    // 23, rss 24 (1-based, as proc(5)).
    size_t rp = stat->rfind(')');
    auto f = Split(rp == std::string::npos ? "" : stat->substr(rp + 2), ' ');
    auto field = [&](size_t n) {
      return n - 3 < f.size() ? std::strtod(f[n - 3].c_str(), nullptr) : 0.0;
    };
    add("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.",
        (field(14) + field(15)) / tck);
    add("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
        field(24) * page);
    add("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", field(23));
    double btime = 0;
    if (auto ps = ReadFile("/proc/stat", 1 << 20); ps.ok()) {
      size_t p = ps->find("\nbtime ");
      if (p != std::string::npos) btime = std::strtod(ps->c_str() + p + 7, nullptr);
    }
    add("process_start_time_seconds", "gauge",
        "Start time of the process since unix epoch in seconds.", btime + field(22) / tck);
  }
  if (auto fds = ListDir("/proc/self/fd"); fds.ok()) {
    add("process_open_fds", "gauge", "Number of open file descriptors.",
        static_cast<double>(fds->size()));
  }
  if (auto lim = ReadFile("/proc/self/limits", 1 << 16); lim.ok()) {
    for (const auto& line : Split(*lim, '\n')) {
      if (StartsWith(line, "Max open files")) {
        add("process_max_fds", "gauge", "Maximum number of open file descriptors.",
            std::strtod(line.c_str() + 26, nullptr));
      }
    }
  }
  return out;
}

// What the handlers need from one PodView snapshot, built once per snapshot.
struct SnapshotCache {
  std::shared_ptr<const std::vector<api::Pod>> pods;
  std::vector<json> encoded;  // api::Encode(pod), same order
  std::string pods_body;      // the /pods PodList
};

}  // namespace

class ReadOnlyServer::Impl {
 public:
  Impl(ReadOnlyServerOptions opts, const kubelet::PodView& pods, node::StatsProvider* stats,
       metrics::Registry* registry, const Clock* clock)
      : opts_(std::move(opts)),
        pods_(pods),
        registry_(registry ? *registry : metrics::Registry::Default()),
        clock_(clock ? *clock : static_cast<const Clock&>(RealClock::Instance())),
        requests_(registry_.Counter("kubelet_http_requests_total",
                                    "Number of the http requests received since "
                                    "the server started",
                                    {"method", "path", "server_type", "long_running"})),
        durations_(registry_.Histogram("kubelet_http_requests_duration_seconds",
                                       "Duration in seconds to serve http requests",
                                       {"method", "path", "server_type", "long_running"})),
        running_pods_(
            registry_
                .Gauge("kubelet_running_pods", "Number of pods that have a running pod sandbox")
                .Get()),
        running_containers_(registry_.Gauge("kubelet_running_containers",
                                            "Number of containers currently running",
                                            {"container_state"})) {
    if (stats) {
      stats_ = stats;
    } else {
      owned_stats_ = std::make_unique<node::StatsProvider>(node::StatsOptions{
          opts_.node_name, opts_.root_dir, opts_.pod_logs_dir, "/sys/fs/cgroup", "/proc", clock});
      stats_ = owned_stats_.get();
    }
  }

  ~Impl() { Stop(); }

  Result<void> Start() {
    if (started_) return Invalid("read-only server already started");
    machine_ = node::GatherMachineInfo();
    machine_body_ = Dump(node::ToJson(machine_));
    svr_ = std::make_unique<httplib::Server>();
    auto& s = *svr_;
    s.new_task_queue = [this] {
      return new BoundedPool(static_cast<size_t>(std::max(1, opts_.threads)),
                             opts_.max_queued_connections);
    };
    s.set_read_timeout(opts_.read_timeout);
    s.set_write_timeout(opts_.write_timeout);
    s.set_keep_alive_timeout(opts_.keep_alive_timeout.count());
    s.set_keep_alive_max_count(opts_.keep_alive_max_requests);
    s.set_payload_max_length(opts_.max_payload_bytes);
    s.set_tcp_nodelay(true);
    s.set_socket_options([this](int sock) {
      int yes = 1;
      ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
      listen_fd_ = sock;
    });
    s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      Route(req, res);
      return httplib::Server::HandlerResponse::Handled;
    });
    s.set_exception_handler(
        [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
          res.status = 500;
          res.set_content(Dump(Status(500, "InternalError", "internal error")), kJson);
        });
    int port = opts_.port;
    if (port == 0) {
      port = s.bind_to_any_port(opts_.address);
      if (port < 0) return Error("read-only server: bind " + opts_.address + ":0 failed");
    } else if (!s.bind_to_port(opts_.address, port)) {
      return Error("read-only server: bind " + opts_.address + ":" + std::to_string(port) +
                   " failed (address in use?)");
    }
    // The library listens with a backlog of 5; a burst of connections would see SYN retries (1 s
    // stalls).
    if (listen_fd_ >= 0) ::listen(listen_fd_, 4096);
    port_ = port;
    started_ = true;
    thread_ = std::thread([this] { svr_->listen_after_bind(); });
    // Stop() must not run before the library's loop has started (it would miss it and never
    // return).
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!svr_->is_running() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::yield();
    log::Info("read-only server listening",
              {{"address", opts_.address}, {"port", std::to_string(port_)}});
    return Ok();
  }

  void Stop() {
    if (!started_) return;
    started_ = false;
    stopping_ = true;
    svr_->stop();
    if (thread_.joinable()) thread_.join();
  }

  int port() const { return port_; }

 private:
  using Params = std::multimap<std::string, std::string>;

  std::shared_ptr<const SnapshotCache> Snapshot() {
    auto pods = pods_.Pods();
    {
      std::lock_guard<std::mutex> l(cache_mu_);
      if (cache_ && cache_->pods == pods) return cache_;
    }
    auto c = std::make_shared<SnapshotCache>();
    c->pods = pods;
    json items = json::array();
    for (const auto& p : *pods) {
      c->encoded.push_back(api::Encode(p));
      items.push_back(c->encoded.back());
    }
    c->pods_body = Dump(json{{"kind", "PodList"},
                             {"apiVersion", "v1"},
                             {"metadata", json::object()},
                             {"items", std::move(items)}});
    std::lock_guard<std::mutex> l(cache_mu_);
    cache_ = c;
    return c;
  }

  static void SetShared(httplib::Response& res, std::shared_ptr<const SnapshotCache> c,
                        const char* type) {
    // Serves the cached body without copying it into the response.
    size_t n = c->pods_body.size();
    res.set_content_provider(n, type, [c](size_t offset, size_t length, httplib::DataSink& sink) {
      return sink.write(c->pods_body.data() + offset, length);
    });
  }

  static void ApiError(httplib::Response& res, int code, const std::string& reason,
                       const std::string& msg, const json& details = nullptr) {
    res.status = code;
    res.set_content(Dump(Status(code, reason, msg, details)), kJson);
  }

  static bool WantsTable(const httplib::Request& req) {
    return req.get_header_value("Accept").find("as=Table") != std::string::npos;
  }

  void Route(const httplib::Request& req, httplib::Response& res) {
    auto start = std::chrono::steady_clock::now();
    std::string route = "other";
    bool long_running = false;
    if (t_overloaded) {
      res.status = 503;
      res.set_header("Connection", "close");
      res.set_header("Retry-After", "1");
      res.set_content("server overloaded\n", "text/plain");
      route = "overloaded";
    } else if (req.method != "GET" && req.method != "HEAD") {
      route = "method";
      ApiError(res, 405, "MethodNotAllowed",
               "the server does not allow this method on the requested resource");
    } else {
      route = Dispatch(req, res, &long_running);
    }
    std::string lr = long_running ? "true" : "false";
    requests_.With({req.method, route, "readonly", lr}).Inc();
    if (!long_running) {
      durations_.With({req.method, route, "readonly", lr})
          .Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
  }

  // Returns the route label for metrics.
  std::string Dispatch(const httplib::Request& req, httplib::Response& res, bool* long_running) {
    const std::string& p = req.path;
    if (p == "/healthz" || p == "/healthz/ping" || p == "/healthz/syncloop") {
      res.set_content("ok", "text/plain; charset=utf-8");
      return "healthz";
    }
    if (p == "/pods" || p == "/pods/") {
      SetShared(res, Snapshot(), kJson);
      return "pods";
    }
    if (p == "/spec" || p == "/spec/") {
      res.set_content(machine_body_, kJson);
      return "spec";
    }
    if (p == "/stats/summary" || p == "/stats/summary/") {
      auto snap = pods_.Pods();
      res.set_content(Dump(stats_->Summary(*snap)), kJson);
      return "stats";
    }
    if (p == "/metrics" || p == "/metrics/") {
      res.set_content(Metrics(), metrics::kTextContentType);
      return "metrics";
    }
    if (p == "/version" || p == "/version/") {
      res.set_content(Dump(json{{"major", kKubeMajor},
                                {"minor", kKubeMinor},
                                {"gitVersion", std::string("v1.32.0-nanolet.") + NANOLET_VERSION},
                                {"gitCommit", ""},
                                {"gitTreeState", ""},
                                {"buildDate", ""},
                                {"goVersion", ""},
                                {"compiler", "gcc"},
                                {"platform", "linux/amd64"}}),
                      kJson);
      return "version";
    }
    if (p == "/api" || p == "/api/") {
      res.set_content(
          Dump(json{{"kind", "APIVersions"},
                    {"versions", {"v1"}},
                    {"serverAddressByClientCIDRs",
                     {{{"clientCIDR", "0.0.0.0/0"},
                       {"serverAddress", req.local_addr + ":" + std::to_string(port_)}}}}}),
          kJson);
      return "discovery";
    }
    if (p == "/apis" || p == "/apis/") {
      res.set_content(
          Dump(json{{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", json::array()}}),
          kJson);
      return "discovery";
    }
    if (p == "/api/v1" || p == "/api/v1/") {
      res.set_content(Dump(Resources()), kJson);
      return "discovery";
    }
    if (StartsWith(p, "/api/v1/")) return CoreV1(req, res, long_running);
    res.status = 404;
    res.set_content("404 page not found\n", "text/plain; charset=utf-8");
    return "notfound";
  }

  static json Resources() {
    return json{{"kind", "APIResourceList"},
                {"apiVersion", "v1"},
                {"groupVersion", "v1"},
                {"resources",
                 {{{"name", "pods"},
                   {"singularName", "pod"},
                   {"namespaced", true},
                   {"kind", "Pod"},
                   {"verbs", {"get", "list"}},
                   {"shortNames", {"po"}},
                   {"categories", {"all"}}},
                  {{"name", "pods/log"},
                   {"singularName", ""},
                   {"namespaced", true},
                   {"kind", "Pod"},
                   {"verbs", {"get"}}},
                  {{"name", "events"},
                   {"singularName", "event"},
                   {"namespaced", true},
                   {"kind", "Event"},
                   {"verbs", {"list"}},
                   {"shortNames", {"ev"}}}}}};
  }

  std::string CoreV1(const httplib::Request& req, httplib::Response& res, bool* long_running) {
    // Segments after /api/v1/.
    std::vector<std::string> seg;
    for (auto& s : Split(std::string_view(req.path).substr(8), '/')) {
      if (!s.empty()) seg.push_back(std::move(s));
    }
    Params params(req.params.begin(), req.params.end());
    if (seg.size() == 1 && seg[0] == "pods") return ListPods(req, res, "", params);
    if (seg.size() == 1 && seg[0] == "events") return EmptyEvents(res);
    if (seg.size() >= 3 && seg[0] == "namespaces") {
      const std::string& ns = seg[1];
      if (seg.size() == 3 && seg[2] == "pods") return ListPods(req, res, ns, params);
      if (seg.size() == 3 && seg[2] == "events") return EmptyEvents(res);
      if (seg.size() == 4 && seg[2] == "pods") return GetPod(req, res, ns, seg[3]);
      if (seg.size() == 5 && seg[2] == "pods" && seg[4] == "log") {
        return PodLog(req, res, ns, seg[3], params, long_running);
      }
    }
    ApiError(res, 404, "NotFound", "the server could not find the requested resource");
    return "notfound";
  }

  std::string EmptyEvents(httplib::Response& res) {
    res.set_content(Dump(json{{"kind", "EventList"},
                              {"apiVersion", "v1"},
                              {"metadata", {{"resourceVersion", ""}}},
                              {"items", json::array()}}),
                    kJson);
    return "events";
  }

  std::string ListPods(const httplib::Request& req, httplib::Response& res, const std::string& ns,
                       const Params& params) {
    auto get = [&](const char* k) {
      auto it = params.find(k);
      return it == params.end() ? std::string() : it->second;
    };
    auto labels = Selector::ParseLabels(get("labelSelector"));
    if (!labels.ok()) {
      ApiError(res, 400, "BadRequest", labels.error().message());
      return "pods_list";
    }
    auto fields = Selector::ParseFields(get("fieldSelector"));
    if (!fields.ok()) {
      ApiError(res, 400, "BadRequest", fields.error().message());
      return "pods_list";
    }
    auto snap = Snapshot();
    std::vector<size_t> idx;
    for (size_t i = 0; i < snap->pods->size(); ++i) {
      const auto& pod = (*snap->pods)[i];
      if (!ns.empty() && pod.metadata.namespace_ != ns) continue;
      if (!labels->Matches(pod) || !fields->Matches(pod)) continue;
      idx.push_back(i);
    }
    if (WantsTable(req)) {
      std::vector<const api::Pod*> sel;
      for (size_t i : idx) sel.push_back(&(*snap->pods)[i]);
      res.set_content(Dump(PodTable(sel, clock_.Now(), ParseIncludeObject(get("includeObject")))),
                      "application/json;as=Table;v=v1;g=meta.k8s.io");
      return "pods_list";
    }
    json items = json::array();
    for (size_t i : idx) items.push_back(snap->encoded[i]);
    res.set_content(Dump(json{{"kind", "PodList"},
                              {"apiVersion", "v1"},
                              {"metadata", {{"resourceVersion", ""}}},
                              {"items", std::move(items)}}),
                    kJson);
    return "pods_list";
  }

  // The pod named ns/name in the snapshot, or a 404 Status written to res.
  const api::Pod* FindPod(const SnapshotCache& snap, const std::string& ns, const std::string& name,
                          httplib::Response& res, size_t* index = nullptr) {
    for (size_t i = 0; i < snap.pods->size(); ++i) {
      const auto& p = (*snap.pods)[i];
      if (p.metadata.namespace_ == ns && p.metadata.name == name) {
        if (index) *index = i;
        return &p;
      }
    }
    ApiError(res, 404, "NotFound", "pods \"" + name + "\" not found",
             {{"name", name}, {"kind", "pods"}});
    return nullptr;
  }

  std::string GetPod(const httplib::Request& req, httplib::Response& res, const std::string& ns,
                     const std::string& name) {
    auto snap = Snapshot();
    size_t i = 0;
    const api::Pod* pod = FindPod(*snap, ns, name, res, &i);
    if (!pod) return "pod";
    if (WantsTable(req)) {
      auto it = req.params.find("includeObject");
      res.set_content(Dump(PodTable({pod}, clock_.Now(),
                                    ParseIncludeObject(it == req.params.end() ? "" : it->second))),
                      "application/json;as=Table;v=v1;g=meta.k8s.io");
      return "pod";
    }
    res.set_content(Dump(snap->encoded[i]), kJson);
    return "pod";
  }

  std::string PodLog(const httplib::Request& req, httplib::Response& res, const std::string& ns,
                     const std::string& name, const Params& params, bool* long_running) {
    auto opts = ParseLogOptions(params, clock_.Now());
    if (!opts.ok()) {
      ApiError(res, 400, "BadRequest", opts.error().message());
      return "pod_log";
    }
    auto snap = Snapshot();
    const api::Pod* pod = FindPod(*snap, ns, name, res);
    if (!pod) return "pod_log";
    std::string container = opts->container;
    if (container.empty()) {
      // As the apiserver: the only container, else the caller must choose.
      if (pod->spec.containers.size() == 1) {
        container = pod->spec.containers[0].name;
      } else {
        std::string names;
        for (const auto& c : pod->spec.containers) names += (names.empty() ? "" : " ") + c.name;
        ApiError(res, 400, "BadRequest",
                 "a container name must be specified for pod " + name + ", choose one of: [" +
                     names + "]");
        return "pod_log";
      }
    }
    auto path = ResolveLogPath(opts_.pod_logs_dir, *pod, container, opts->previous);
    if (!path.ok()) {
      if (path.error().is(ErrorCode::kNotFound)) {
        ApiError(res, 404, "NotFound", path.error().message());
      } else {
        ApiError(res, 400, "BadRequest", path.error().message());
      }
      return "pod_log";
    }
    if (opts->follow) {
      if (active_follows_.fetch_add(1) >= opts_.max_follows) {
        active_follows_.fetch_sub(1);
        ApiError(res, 429, "TooManyRequests", "too many concurrent log follows");
        return "pod_log";
      }
      *long_running = true;
    }
    LogOptions o = *opts;
    std::string file = *path;
    bool follow = o.follow;
    // A follow must not be gzip-compressed (the library would hold records in the compressor until
    // it fills): the library compresses text/* only, so a follow goes out as octet-stream.
    res.set_chunked_content_provider(
        follow ? "application/octet-stream" : "text/plain",
        [this, o, file, &req](size_t, httplib::DataSink& sink) {
          int fd = o.follow ? FindConnectionFd(req) : -1;
          auto write = [&](std::string_view d) { return sink.write(d.data(), d.size()); };
          auto keep_going = [&] { return !stopping_ && PeerAlive(fd); };
          auto r = StreamLog(file, o, write, keep_going);
          if (!r.ok())
            log::Warn("log stream failed", {{"path", file}, {"err", r.error().message()}});
          sink.done();
          return true;
        },
        [this, follow](bool) {
          if (follow) active_follows_.fetch_sub(1);
        });
    return "pod_log";
  }

  std::string Metrics() {
    auto snap = pods_.Pods();
    int running_pods = 0;
    std::map<std::string, int> states = {
        {"running", 0}, {"exited", 0}, {"created", 0}, {"unknown", 0}};
    for (const auto& pod : *snap) {
      bool any_running = false;
      for (const auto* list :
           {&pod.status.init_container_statuses, &pod.status.container_statuses}) {
        for (const auto& c : *list) {
          if (c.state.running) {
            ++states["running"];
            any_running = true;
          } else if (c.state.terminated) {
            ++states["exited"];
          } else if (!c.container_id.empty()) {
            ++states["created"];
          }
        }
      }
      if (any_running) ++running_pods;
    }
    running_pods_.Set(running_pods);
    for (const auto& [k, v] : states) running_containers_.With({k}).Set(v);
    return registry_.Expose() + ProcessMetrics();
  }

  const ReadOnlyServerOptions opts_;
  const kubelet::PodView& pods_;
  metrics::Registry& registry_;
  const Clock& clock_;
  metrics::CounterFamily& requests_;
  metrics::HistogramFamily& durations_;
  metrics::Gauge& running_pods_;
  metrics::GaugeFamily& running_containers_;
  node::StatsProvider* stats_ = nullptr;
  std::unique_ptr<node::StatsProvider> owned_stats_;

  // Constant after Start().
  node::MachineInfo machine_;
  std::string machine_body_;
  std::unique_ptr<httplib::Server> svr_;
  std::thread thread_;
  int listen_fd_ = -1;
  int port_ = 0;
  bool started_ = false;  // Start/Stop are called by the owner's thread only

  std::atomic<bool> stopping_{false};
  std::atomic<int> active_follows_{0};
  std::mutex cache_mu_;
  std::shared_ptr<const SnapshotCache> cache_;  // guarded by cache_mu_
};

ReadOnlyServer::ReadOnlyServer(ReadOnlyServerOptions opts, const kubelet::PodView& pods,
                               node::StatsProvider* stats, metrics::Registry* registry,
                               const Clock* clock)
    : impl_(std::make_unique<Impl>(std::move(opts), pods, stats, registry, clock)) {}
ReadOnlyServer::~ReadOnlyServer() = default;
Result<void> ReadOnlyServer::Start() { return impl_->Start(); }
void ReadOnlyServer::Stop() { impl_->Stop(); }
int ReadOnlyServer::port() const { return impl_->port(); }

}  // namespace nanolet::server
