#include "server/read_only_server.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "api/encode.h"
#include "server/container_logs.h"
#include "server/http_server.h"
#include "server/pod_table.h"
#include "server/selectors.h"
#include "server/tls_cert.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strings.h"
#include "util/timefmt.h"

namespace nanolet::server {
namespace {

using nlohmann::json;

constexpr const char* kJson = "application/json";
constexpr const char* kText = "text/plain; charset=utf-8";
// Kubernetes version this API mimics (kubectl warns beyond one minor version of skew).
constexpr const char* kKubeMajor = "1";
constexpr const char* kKubeMinor = "32";
// Non-follow log reads are answered in one body, at most this large (limitBytes cuts earlier).
constexpr size_t kMaxLogBody = 64 << 20;

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// Upstream's kubelet_pod_start_duration_seconds buckets (pkg/kubelet/metrics).
std::vector<double> PodStartBuckets() {
  return {0.5, 1,   2,   3,   4,   5,   6,   8,   10,   20,   30,   45,  60,
          120, 180, 240, 300, 360, 480, 600, 900, 1200, 1800, 2700, 3600};
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
  std::string running_body;   // the /runningpods/ PodList
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
                                            {"container_state"})),
        pod_start_(registry_
                       .Histogram("kubelet_pod_start_duration_seconds",
                                  "Duration in seconds from kubelet seeing a pod for the first "
                                  "time to the pod starting to run",
                                  {}, PodStartBuckets())
                       .Get()),
        authz_default_(std::make_unique<GroupAuthorizer>()) {
    if (stats) {
      stats_ = stats;
    } else {
      node::StatsOptions so{opts_.node_name,  opts_.root_dir, opts_.pod_logs_dir,
                            "/sys/fs/cgroup", "/proc",        clock};
      so.cgroup_parent = opts_.cgroup_parent;
      owned_stats_ = std::make_unique<node::StatsProvider>(so);
      stats_ = owned_stats_.get();
    }
  }

  ~Impl() { Stop(); }

  Result<void> Start() {
    if (started_) return Invalid("node API server already started");
    machine_ = node::GatherMachineInfo();
    machine_body_ = Dump(node::ToJson(machine_));
    started_at_ = clock_.Now();
    auto base = [&](const char* name, int port) {
      HttpServerOptions h;
      h.name = name;
      h.address = opts_.address;
      h.port = port;
      h.io_threads = opts_.io_threads;
      h.max_connections = opts_.max_connections;
      h.max_streams = opts_.max_follows + 16;  // follows are capped below; the rest: slack
      h.max_header_bytes = opts_.max_header_bytes;
      h.max_body_bytes = opts_.max_body_bytes;
      h.request_timeout = opts_.request_timeout;
      h.write_timeout = opts_.write_timeout;
      return h;
    };
    if (opts_.port >= 0) {
      ro_ = std::make_unique<HttpServer>(
          base("read-only", opts_.port),
          [this](const HttpRequest& req, HttpResponse& res) { Route(req, res, false); });
      if (auto r = ro_->Start(); !r.ok()) return Error("read-only port: " + r.error().message());
      log::Info("read-only server listening",
                {{"address", opts_.address}, {"port", std::to_string(ro_->port())}});
    }
    if (opts_.secure_port >= 0) {
      auto h = base("authenticated", opts_.secure_port);
      h.tls_cert_file = opts_.tls_cert_file;
      h.tls_key_file = opts_.tls_key_file;
      if (h.tls_cert_file.empty() != h.tls_key_file.empty()) {
        return Invalid("--tls-cert-file and --tls-private-key-file go together");
      }
      if (h.tls_cert_file.empty()) {
        std::string host = opts_.node_name.empty() ? "localhost" : opts_.node_name;
        auto files = EnsureSelfSignedCert(JoinPath(opts_.root_dir, "pki"), host);
        if (!files.ok()) return files.error();
        h.tls_cert_file = files->cert;
        h.tls_key_file = files->key;
      }
      secure_ = std::make_unique<HttpServer>(
          h, [this](const HttpRequest& req, HttpResponse& res) { Route(req, res, true); });
      if (auto r = secure_->Start(); !r.ok()) {
        if (ro_) ro_->Stop();
        return Error("authenticated port: " + r.error().message());
      }
      if (!opts_.authenticator && !opts_.anonymous_auth) {
        log::Warn(
            "authenticated port: no --token-auth-file and --anonymous-auth=false: every "
            "request will be answered 401");
      }
      log::Info("authenticated server listening", {{"address", opts_.address},
                                                   {"port", std::to_string(secure_->port())},
                                                   {"cert", h.tls_cert_file}});
    }
    started_ = true;
    if (opts_.housekeeping_interval.count() > 0) {
      housekeeper_ = std::thread([this] { HousekeepingLoop(); });
    }
    return Ok();
  }

  void Stop() {
    if (!started_) return;
    started_ = false;
    stopping_ = true;
    {
      std::lock_guard<std::mutex> l(hk_mu_);
      hk_cv_.notify_all();
    }
    if (housekeeper_.joinable()) housekeeper_.join();
    if (secure_) secure_->Stop();
    if (ro_) ro_->Stop();
  }

  int port() const { return ro_ ? ro_->port() : -1; }
  int secure_port() const { return secure_ ? secure_->port() : -1; }

  // CPU samples for usageNanoCores (as cAdvisor's housekeeping) and pod start observations.
  void Housekeep() {
    auto snap = pods_.Pods();
    stats_->Sample(*snap);
    ObservePodStarts(*snap);
  }

 private:
  using Params = std::multimap<std::string, std::string>;

  // Wakes every 100 ms to notice pods that started running (the published snapshot changed);
  // samples CPU at start, 1 s later (a first rate soon), then every housekeeping_interval.
  void HousekeepingLoop() {
    using namespace std::chrono;
    auto next_sample = steady_clock::now();
    int samples = 0;
    std::shared_ptr<const std::vector<api::Pod>> last;
    std::unique_lock<std::mutex> l(hk_mu_);
    while (!stopping_) {
      l.unlock();
      auto snap = pods_.Pods();
      if (snap != last) {
        ObservePodStarts(*snap);
        last = snap;
      }
      if (steady_clock::now() >= next_sample) {
        stats_->Sample(*snap);
        next_sample = steady_clock::now() +
                      (++samples == 1 ? milliseconds(1000) : opts_.housekeeping_interval);
      }
      l.lock();
      hk_cv_.wait_for(l, milliseconds(100), [&] { return stopping_.load(); });
    }
  }

  // kubelet_pod_start_duration_seconds: from when nanolet first saw a pod (its config.seen
  // annotation, else creationTimestamp) to when its phase is first seen Running, as upstream
  // observes at the sync that first reports Running. Pods already running at the first look
  // (adopted after a restart) are not observed.
  void ObservePodStarts(const std::vector<api::Pod>& pods) {
    std::lock_guard<std::mutex> l(start_mu_);
    TimePoint now = clock_.Now();
    std::set<std::string> live;
    for (const auto& pod : pods) {
      const std::string& uid = pod.metadata.uid;
      live.insert(uid);
      if (pod.status.phase != "Running") continue;
      if (!started_seen_.insert(uid).second) continue;
      if (!first_look_done_) continue;
      std::string seen;
      if (auto it = pod.metadata.annotations.find("kubernetes.io/config.seen");
          it != pod.metadata.annotations.end()) {
        seen = it->second;
      }
      if (seen.empty()) seen = pod.metadata.creation_timestamp;
      auto t = ParseRFC3339(seen);
      if (!t.ok()) continue;
      double d = std::chrono::duration<double>(now - *t).count();
      pod_start_.Observe(std::max(0.0, d));
    }
    first_look_done_ = true;
    for (auto it = started_seen_.begin(); it != started_seen_.end();) {
      it = live.count(*it) ? std::next(it) : started_seen_.erase(it);
    }
  }

  std::shared_ptr<const SnapshotCache> Snapshot() {
    auto pods = pods_.Pods();
    {
      std::lock_guard<std::mutex> l(cache_mu_);
      if (cache_ && cache_->pods == pods) return cache_;
    }
    auto c = std::make_shared<SnapshotCache>();
    c->pods = pods;
    json items = json::array();
    json running = json::array();
    for (const auto& p : *pods) {
      c->encoded.push_back(api::Encode(p));
      items.push_back(c->encoded.back());
      // /runningpods/: as upstream's kubecontainer.Pod.ToAPIPod: identity and running containers.
      json containers = json::array();
      for (const auto& cs : p.status.container_statuses) {
        if (cs.state.running) containers.push_back({{"name", cs.name}, {"image", cs.image}});
      }
      if (!containers.empty()) {
        running.push_back({{"metadata",
                            {{"name", p.metadata.name},
                             {"namespace", p.metadata.namespace_},
                             {"uid", p.metadata.uid},
                             {"creationTimestamp", nullptr}}},
                           {"spec", {{"containers", std::move(containers)}}},
                           {"status", json::object()}});
      }
    }
    c->pods_body = Dump(json{{"kind", "PodList"},
                             {"apiVersion", "v1"},
                             {"metadata", json::object()},
                             {"items", std::move(items)}});
    c->running_body = Dump(json{{"kind", "PodList"},
                                {"apiVersion", "v1"},
                                {"metadata", json::object()},
                                {"items", std::move(running)}});
    std::lock_guard<std::mutex> l(cache_mu_);
    cache_ = c;
    return c;
  }

  static void ApiError(HttpResponse& res, int code, const std::string& reason,
                       const std::string& msg, const json& details = nullptr) {
    res.status = code;
    res.SetContent(Dump(Status(code, reason, msg, details)), kJson);
  }

  static bool WantsTable(const HttpRequest& req) {
    return req.Header("Accept").find("as=Table") != std::string::npos;
  }

  void Route(const HttpRequest& req, HttpResponse& res, bool secure) {
    auto start = std::chrono::steady_clock::now();
    std::string route = "other";
    bool long_running = false;
    if (req.method != "GET" && req.method != "HEAD") {
      route = "method";
      ApiError(res, 405, "MethodNotAllowed",
               "the server does not allow this method on the requested resource");
    } else if (secure) {
      route = SecureDispatch(req, res, &long_running);
    } else {
      route = Dispatch(req, res, &long_running);
    }
    std::string lr = long_running ? "true" : "false";
    const char* type = secure ? "https" : "readonly";
    requests_.With({req.method, route, type, lr}).Inc();
    if (!long_running) {
      durations_.With({req.method, route, type, lr})
          .Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
  }

  // The authenticated port: authn, authz, then its endpoints.
  std::string SecureDispatch(const HttpRequest& req, HttpResponse& res, bool* long_running) {
    Authorizer& authz = opts_.authorizer ? *opts_.authorizer : *authz_default_;
    auto d = AuthenticateAndAuthorize(req.method, req.path, req.Header("Authorization"),
                                      opts_.anonymous_auth, opts_.authenticator, authz);
    if (d.outcome == AuthOutcome::kUnauthorized) {
      res.status = 401;
      res.SetHeader("WWW-Authenticate", "Bearer realm=\"nanolet\"");
      res.SetContent(d.message + "\n", kText);
      return "unauthorized";
    }
    if (d.outcome == AuthOutcome::kForbidden) {
      res.status = 403;
      res.SetContent(d.message + "\n", kText);
      return "forbidden";
    }
    const std::string& p = req.path;
    if (p == "/runningpods" || p == "/runningpods/") {
      auto c = Snapshot();
      res.SetShared(std::shared_ptr<const std::string>(c, &c->running_body), kJson);
      return "runningpods";
    }
    if (StartsWith(p, "/containerLogs/")) return ContainerLogs(req, res, long_running);
    if (p == "/healthz" || p == "/healthz/ping" || p == "/healthz/syncloop" || p == "/pods" ||
        p == "/pods/" || p == "/spec" || p == "/spec/" || p == "/stats/summary" ||
        p == "/stats/summary/" || p == "/metrics" || p == "/metrics/") {
      return Dispatch(req, res, long_running);
    }
    res.status = 404;
    res.SetContent("404 page not found\n", kText);
    return "notfound";
  }

  // /containerLogs/{ns}/{pod}/{container}, as upstream's getContainerLogs (plain-text errors).
  std::string ContainerLogs(const HttpRequest& req, HttpResponse& res, bool* long_running) {
    std::vector<std::string> seg;
    for (auto& s : Split(std::string_view(req.path).substr(strlen("/containerLogs/")), '/')) {
      seg.push_back(std::move(s));
    }
    if (seg.size() != 3 || seg[0].empty() || seg[1].empty() || seg[2].empty()) {
      res.status = 400;
      res.SetContent("expected /containerLogs/{podNamespace}/{podID}/{containerName}\n", kText);
      return "container_logs";
    }
    auto opts = ParseLogOptions(Params(req.params.begin(), req.params.end()), clock_.Now());
    if (!opts.ok()) {
      res.status = 400;
      res.SetContent(opts.error().message() + "\n", kText);
      return "container_logs";
    }
    auto snap = Snapshot();
    const api::Pod* pod = nullptr;
    for (const auto& p : *snap->pods) {
      if (p.metadata.namespace_ == seg[0] && p.metadata.name == seg[1]) pod = &p;
    }
    if (!pod) {
      res.status = 404;
      res.SetContent("pod \"" + seg[1] + "\" does not exist\n", kText);
      return "container_logs";
    }
    opts->container = seg[2];
    ServeLog(res, *pod, *opts, long_running, /*api_errors=*/false);
    return "container_logs";
  }

  // Writes the log of opts.container of `pod` (or an error) to res.
  void ServeLog(HttpResponse& res, const api::Pod& pod, const LogOptions& o, bool* long_running,
                bool api_errors) {
    auto path = ResolveLogPath(opts_.pod_logs_dir, pod, o.container, o.previous);
    if (!path.ok()) {
      int code = path.error().is(ErrorCode::kNotFound) ? 404 : 400;
      if (api_errors) {
        ApiError(res, code, code == 404 ? "NotFound" : "BadRequest", path.error().message());
      } else {
        res.status = code;
        res.SetContent(path.error().message() + "\n", kText);
      }
      return;
    }
    std::string file = *path;
    if (!o.follow) {
      // Read at once on this thread: a bounded amount of local file.
      std::string body;
      auto r = StreamLog(
          file, o,
          [&](std::string_view d) {
            body.append(d.substr(0, kMaxLogBody - std::min(kMaxLogBody, body.size())));
            return body.size() < kMaxLogBody;
          },
          [] { return false; });
      if (!r.ok()) {
        log::Warn("log read failed", {{"path", file}, {"err", r.error().message()}});
        res.status = 500;
        res.SetContent("reading the log failed\n", kText);
        return;
      }
      res.SetContent(std::move(body), kText);
      return;
    }
    if (active_follows_.fetch_add(1) >= opts_.max_follows) {
      active_follows_.fetch_sub(1);
      if (api_errors) {
        ApiError(res, 429, "TooManyRequests", "too many concurrent log follows");
      } else {
        res.status = 429;
        res.SetContent("too many concurrent log follows\n", kText);
      }
      return;
    }
    *long_running = true;
    res.content_type = kText;
    res.stream = [this, o, file](StreamSink& sink) {
      auto write = [&](std::string_view d) { return sink.Write(d); };
      auto keep_going = [&] { return !stopping_ && sink.Alive(); };
      auto r = StreamLog(file, o, write, keep_going);
      if (!r.ok()) log::Warn("log stream failed", {{"path", file}, {"err", r.error().message()}});
    };
    res.on_done = [this] { active_follows_.fetch_sub(1); };
  }

  // Returns the route label for metrics.
  std::string Dispatch(const HttpRequest& req, HttpResponse& res, bool* long_running) {
    const std::string& p = req.path;
    if (p == "/healthz" || p == "/healthz/ping" || p == "/healthz/syncloop") {
      res.SetContent("ok", kText);
      return "healthz";
    }
    if (p == "/pods" || p == "/pods/") {
      {
        auto c = Snapshot();
        res.SetShared(std::shared_ptr<const std::string>(c, &c->pods_body), kJson);
      }
      return "pods";
    }
    if (p == "/spec" || p == "/spec/") {
      res.SetContent(machine_body_, kJson);
      return "spec";
    }
    if (p == "/stats/summary" || p == "/stats/summary/") {
      auto snap = pods_.Pods();
      res.SetContent(Dump(stats_->Summary(*snap)), kJson);
      return "stats";
    }
    if (p == "/metrics" || p == "/metrics/") {
      res.SetContent(Metrics(), metrics::kTextContentType);
      return "metrics";
    }
    if (p == "/version" || p == "/version/") {
      res.SetContent(Dump(json{{"major", kKubeMajor},
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
      res.SetContent(
          Dump(
              json{{"kind", "APIVersions"},
                   {"versions", {"v1"}},
                   {"serverAddressByClientCIDRs",
                    {{{"clientCIDR", "0.0.0.0/0"},
                      {"serverAddress", req.local_addr + ":" + std::to_string(req.local_port)}}}}}),
          kJson);
      return "discovery";
    }
    if (p == "/apis" || p == "/apis/") {
      res.SetContent(
          Dump(json{{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", json::array()}}),
          kJson);
      return "discovery";
    }
    if (p == "/api/v1" || p == "/api/v1/") {
      res.SetContent(Dump(Resources()), kJson);
      return "discovery";
    }
    if (StartsWith(p, "/api/v1/")) return CoreV1(req, res, long_running);
    res.status = 404;
    res.SetContent("404 page not found\n", kText);
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

  std::string CoreV1(const HttpRequest& req, HttpResponse& res, bool* long_running) {
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

  std::string EmptyEvents(HttpResponse& res) {
    res.SetContent(Dump(json{{"kind", "EventList"},
                             {"apiVersion", "v1"},
                             {"metadata", {{"resourceVersion", ""}}},
                             {"items", json::array()}}),
                   kJson);
    return "events";
  }

  std::string ListPods(const HttpRequest& req, HttpResponse& res, const std::string& ns,
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
      res.SetContent(Dump(PodTable(sel, clock_.Now(), ParseIncludeObject(get("includeObject")))),
                     "application/json;as=Table;v=v1;g=meta.k8s.io");
      return "pods_list";
    }
    json items = json::array();
    for (size_t i : idx) items.push_back(snap->encoded[i]);
    res.SetContent(Dump(json{{"kind", "PodList"},
                             {"apiVersion", "v1"},
                             {"metadata", {{"resourceVersion", ""}}},
                             {"items", std::move(items)}}),
                   kJson);
    return "pods_list";
  }

  // The pod named ns/name in the snapshot, or a 404 Status written to res.
  const api::Pod* FindPod(const SnapshotCache& snap, const std::string& ns, const std::string& name,
                          HttpResponse& res, size_t* index = nullptr) {
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

  std::string GetPod(const HttpRequest& req, HttpResponse& res, const std::string& ns,
                     const std::string& name) {
    auto snap = Snapshot();
    size_t i = 0;
    const api::Pod* pod = FindPod(*snap, ns, name, res, &i);
    if (!pod) return "pod";
    if (WantsTable(req)) {
      res.SetContent(
          Dump(PodTable({pod}, clock_.Now(), ParseIncludeObject(req.Param("includeObject")))),
          "application/json;as=Table;v=v1;g=meta.k8s.io");
      return "pod";
    }
    res.SetContent(Dump(snap->encoded[i]), kJson);
    return "pod";
  }

  std::string PodLog(const HttpRequest& req, HttpResponse& res, const std::string& ns,
                     const std::string& name, const Params& params, bool* long_running) {
    auto opts = ParseLogOptions(params, clock_.Now());
    if (!opts.ok()) {
      ApiError(res, 400, "BadRequest", opts.error().message());
      return "pod_log";
    }
    (void)req;
    auto snap = Snapshot();
    const api::Pod* pod = FindPod(*snap, ns, name, res);
    if (!pod) return "pod_log";
    if (opts->container.empty()) {
      // As the apiserver: the only container, else the caller must choose.
      if (pod->spec.containers.size() == 1) {
        opts->container = pod->spec.containers[0].name;
      } else {
        std::string names;
        for (const auto& c : pod->spec.containers) names += (names.empty() ? "" : " ") + c.name;
        ApiError(res, 400, "BadRequest",
                 "a container name must be specified for pod " + name + ", choose one of: [" +
                     names + "]");
        return "pod_log";
      }
    }
    ServeLog(res, *pod, *opts, long_running, /*api_errors=*/true);
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
  metrics::Histogram& pod_start_;
  const std::unique_ptr<Authorizer> authz_default_;
  node::StatsProvider* stats_ = nullptr;
  std::unique_ptr<node::StatsProvider> owned_stats_;

  // Constant after Start().
  node::MachineInfo machine_;
  std::string machine_body_;
  TimePoint started_at_{};
  std::unique_ptr<HttpServer> ro_;
  std::unique_ptr<HttpServer> secure_;
  std::thread housekeeper_;
  bool started_ = false;  // Start/Stop are called by the owner's thread only

  std::atomic<bool> stopping_{false};
  std::atomic<int> active_follows_{0};
  std::mutex hk_mu_;
  std::condition_variable hk_cv_;
  std::mutex cache_mu_;
  std::shared_ptr<const SnapshotCache> cache_;  // guarded by cache_mu_
  std::mutex start_mu_;
  std::set<std::string> started_seen_;  // guarded by start_mu_: UIDs seen Running
  bool first_look_done_ = false;        // guarded by start_mu_
};

ReadOnlyServer::ReadOnlyServer(ReadOnlyServerOptions opts, const kubelet::PodView& pods,
                               node::StatsProvider* stats, metrics::Registry* registry,
                               const Clock* clock)
    : impl_(std::make_unique<Impl>(std::move(opts), pods, stats, registry, clock)) {}
ReadOnlyServer::~ReadOnlyServer() = default;
Result<void> ReadOnlyServer::Start() { return impl_->Start(); }
void ReadOnlyServer::Stop() { impl_->Stop(); }
int ReadOnlyServer::port() const { return impl_->port(); }
int ReadOnlyServer::secure_port() const { return impl_->secure_port(); }
void ReadOnlyServer::Housekeep() { impl_->Housekeep(); }

}  // namespace nanolet::server
