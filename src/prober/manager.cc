#include "prober/manager.h"

#include <uv.h>

#include <algorithm>
#include <random>

#include "prober/exec_pool.h"
#include "prober/grpc_prober.h"
#include "prober/http_prober.h"
#include "prober/tcp_prober.h"
#include "runtime/runtime.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/timefmt.h"

namespace nanolet::prober {

namespace manager_detail {

metrics::CounterFamily& ProbeTotal() {
  static auto& f = metrics::Registry::Default().Counter(
      "prober_probe_total",
      "Cumulative number of a liveness, readiness or startup probe for a container by result.",
      {"probe_type", "result", "container", "pod", "namespace"});
  return f;
}

constexpr const char* kMetricResults[] = {"successful", "failed", "unknown"};
// As upstream maxProbeRetries: a probe that errors (not one that fails) is tried again at once.
constexpr int kMaxProbeTries = 3;

std::string StripScheme(const std::string& id) {
  auto p = id.find("://");
  return p == std::string::npos ? id : id.substr(p + 3);
}

std::string Trim(std::string s, size_t max = kMaxProbeOutput) {
  if (s.size() > max) s.resize(max);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// As upstream ExpandContainerCommandOnlyStatic: $(VAR) from the container's literal env values; $$
// escapes.
std::string ExpandStatic(const std::string& in, const std::map<std::string, std::string>& env) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '$' && i + 1 < in.size() && in[i + 1] == '$') {
      out += '$';
      ++i;
    } else if (in[i] == '$' && i + 1 < in.size() && in[i + 1] == '(') {
      size_t close = in.find(')', i + 2);
      if (close == std::string::npos) {
        out += in.substr(i);
        break;
      }
      std::string name = in.substr(i + 2, close - i - 2);
      auto it = env.find(name);
      out += it != env.end() ? it->second : in.substr(i, close - i + 1);
      i = close;
    } else {
      out += in[i];
    }
  }
  return out;
}

}  // namespace manager_detail

using namespace manager_detail;

// One probe of one container. Owned by its PodState (shared so that callbacks from the pool and the
// probers can tell that it is gone); loop thread only.
struct ProbeManager::Worker : std::enable_shared_from_this<Worker> {
  Worker(ProbeType t, const api::Probe& p, bool restart_never)
      : state(t, p, restart_never), probe(p) {}
  WorkerState state;
  api::Probe probe;
  std::string pod_uid, pod_name, pod_namespace, container_name;
  std::vector<api::ContainerPort> ports;
  std::map<std::string, std::string> env;  // literal values only, for $(VAR) in exec commands
  ProbeManager* mgr = nullptr;
  uv_timer_t* timer = nullptr;
  uint64_t period_ms = 0, phase_ms = 0;  // ticks fall on phase_ms + k * period_ms (loop time)
  bool in_flight = false;
  int tries = 0;  // of the current probe (kMaxProbeTries)
  bool stopped = false;
  bool halted = false;                 // the container ended for good: the timer is not re-armed
  // Its metric series (successful, failed, unknown). Valid while `counted`: the worker holds a
  // reference on them (ProbeManager::series_refs_), and they are removed only with the last one.
  metrics::Counter* counters[3] = {};
  bool counted = false;

  std::string PodRef() const { return pod_namespace + "/" + pod_name; }
  // The metric series of this worker's probes, shared with any other worker of the same pod name,
  // container and type (a replaced static pod's old and new workers).
  std::string SeriesKey() const {
    return std::string(ProbeTypeName(state.type())) + '\0' + container_name + '\0' + pod_name +
           '\0' + pod_namespace;
  }
  void Count(int result) const {
    if (counted) counters[result]->Inc();
  }
  std::vector<std::string> Labels(int result) const {
    return {std::string(ProbeTypeName(state.type())), kMetricResults[result], container_name,
            pod_name, pod_namespace};
  }
};

struct ProbeManager::PodState {
  std::string pod_ip;
  std::map<std::string, ContainerView> containers;  // by container name
  std::vector<std::shared_ptr<Worker>> workers;
};

ProbeManager::ProbeManager(uv_loop_t* loop, runtime::Runtime& rt, const Clock& clock, PostFn post,
                           ChangeFn on_change, ProbeManagerOptions opts)
    : loop_(loop),
      rt_(rt),
      clock_(clock),
      post_(std::move(post)),
      on_change_(std::move(on_change)),
      opts_(opts),
      created_(clock.Now()),
      http_(std::make_unique<HttpProber>(loop)),
      tcp_(std::make_unique<TcpProber>(loop)),
      grpc_(std::make_unique<GrpcProber>(loop)),
      exec_(std::make_unique<ExecPool>(opts.exec_threads)) {}

ProbeManager::~ProbeManager() {
  std::vector<std::string> uids;
  for (const auto& [uid, p] : pods_) uids.push_back(uid);
  for (const auto& uid : uids) RemovePod(uid);
  exec_.reset();  // waits for running execs; their results are posted to workers that are gone
  http_.reset();
  tcp_.reset();
  grpc_.reset();
}

size_t ProbeManager::worker_count() const {
  size_t n = 0;
  for (const auto& [uid, p] : pods_) n += p->workers.size();
  return n;
}

size_t ProbeManager::network_probes_in_flight() const {
  return http_->in_flight() + tcp_->in_flight() + grpc_->in_flight();
}

void ProbeManager::AddPod(const api::Pod& pod) {
  auto add = [&](const api::Container& c) {
    if (c.startup_probe) StartWorker(pod, c, ProbeType::kStartup, *c.startup_probe);
    if (c.readiness_probe) StartWorker(pod, c, ProbeType::kReadiness, *c.readiness_probe);
    if (c.liveness_probe) StartWorker(pod, c, ProbeType::kLiveness, *c.liveness_probe);
  };
  // As upstream: restartable init containers (sidecars) are probed like app containers.
  for (const auto& c : pod.spec.init_containers) {
    if (c.restart_policy && *c.restart_policy == "Always") add(c);
  }
  for (const auto& c : pod.spec.containers) add(c);
}

void ProbeManager::StartWorker(const api::Pod& pod, const api::Container& c, ProbeType type,
                               const api::Probe& probe) {
  auto& ps = pods_[pod.metadata.uid];
  if (!ps) ps = std::make_unique<PodState>();
  for (const auto& w : ps->workers) {
    if (w->container_name == c.name && w->state.type() == type) return;
  }
  auto w = std::make_shared<Worker>(type, probe, pod.spec.restart_policy == "Never");
  w->mgr = this;
  w->pod_uid = pod.metadata.uid;
  w->pod_name = pod.metadata.name;
  w->pod_namespace = pod.metadata.namespace_;
  w->container_name = c.name;
  w->ports = c.ports;
  for (const auto& e : c.env) {
    if (!e.value_from) w->env[e.name] = e.value;
  }
  // The series are made now so that they read 0 before the first probe.
  for (int r = 0; r < 3; ++r) w->counters[r] = &ProbeTotal().With(w->Labels(r));
  ++series_refs_[w->SeriesKey()];
  w->counted = true;
  w->timer = static_cast<uv_timer_t*>(std::calloc(1, sizeof(uv_timer_t)));
  uv_timer_init(loop_, w->timer);
  w->timer->data = w.get();
  uint64_t period = static_cast<uint64_t>(w->state.period_seconds()) * opts_.second.count();
  static std::minstd_rand rng(std::random_device{}());
  // Ticks fall on a grid of a tenth of a probe second (100 ms): the probes due in the same slot run in
  // one loop iteration, one wake-up, with warm caches. One wake-up per probe cost 2.5x the CPU of ten
  // probes per wake-up (bench/probes.sh: a wake-up, not the probe's own work, dominated). A period is
  // a whole number of slots, so a worker stays on the grid; 1,000 probes every 10 s are ~10 per slot.
  const uint64_t slot = opts_.second.count() % 10 == 0 ? std::max<int64_t>(1, opts_.second.count() / 10) : 1;
  auto on_grid = [&](uint64_t t) { return (t + slot - 1) / slot * slot; };
  const uint64_t now = uv_now(loop_);
  uint64_t first = 0;
  if (opts_.jitter_at_startup &&
      clock_.Now() - created_ < std::chrono::seconds(w->state.period_seconds())) {
    first = on_grid(now + std::uniform_int_distribution<uint64_t>(0, period)(rng)) - now;
  }
  // A one-shot timer re-armed on a fixed phase (phase + k * period), like a Go ticker: when the
  // loop lags, missed ticks are dropped but the workers keep their spread. The first tick comes at
  // once; the phase of the later ones is random, so that the probes of one pod (all added together)
  // do not hit its endpoint in the same instant every period (a small listen backlog drops them).
  w->period_ms = period;
  w->phase_ms = on_grid(now + first + std::uniform_int_distribution<uint64_t>(1, period)(rng));
  uv_timer_start(w->timer, &ProbeManager::OnTimer, first, 0);
  ps->workers.push_back(std::move(w));
}

void ProbeManager::StopWorker(Worker& w) {
  w.stopped = true;
  if (w.timer) {
    uv_close(reinterpret_cast<uv_handle_t*>(w.timer), [](uv_handle_t* h) { std::free(h); });
    w.timer = nullptr;
  }
  // As upstream, a stopped worker's series go away, but only when no other worker shares them:
  // when a static pod is replaced, the new pod's workers (same name, container and type) start
  // before the old ones stop.
  if (w.counted) {
    w.counted = false;
    auto it = series_refs_.find(w.SeriesKey());
    if (it != series_refs_.end() && --it->second == 0) {
      series_refs_.erase(it);
      for (int r = 0; r < 3; ++r) ProbeTotal().Remove(w.Labels(r));
    }
  }
}

void ProbeManager::RemovePod(const std::string& pod_uid) {
  auto it = pods_.find(pod_uid);
  if (it == pods_.end()) return;
  for (auto& w : it->second->workers) StopWorker(*w);
  pods_.erase(it);
}

void ProbeManager::StopLivenessAndStartup(const std::string& pod_uid) {
  auto it = pods_.find(pod_uid);
  if (it == pods_.end()) return;
  auto& ws = it->second->workers;
  for (auto& w : ws) {
    if (w->state.type() != ProbeType::kReadiness) StopWorker(*w);
  }
  ws.erase(std::remove_if(ws.begin(), ws.end(), [](const auto& w) { return w->stopped; }),
           ws.end());
}

void ProbeManager::UpdatePodStatus(const std::string& pod_uid, const api::PodStatus& status) {
  auto it = pods_.find(pod_uid);
  if (it == pods_.end()) return;  // no probes
  PodState& ps = *it->second;
  ps.pod_ip = status.pod_ip;
  ps.containers.clear();
  auto add = [&](const api::ContainerStatus& st) {
    ContainerView v;
    v.id = StripScheme(st.container_id);
    v.running = st.state.running.has_value();
    v.terminated = st.state.terminated.has_value();
    if (st.state.running) {
      if (auto t = ParseRFC3339(st.state.running->started_at); t.ok()) v.started_at = *t;
    }
    v.started = st.started.value_or(false);
    ps.containers[st.name] = std::move(v);
  };
  for (const auto& st : status.init_container_statuses) add(st);
  for (const auto& st : status.container_statuses) add(st);
}

ProbeResults ProbeManager::Results(const std::string& pod_uid) const {
  ProbeResults out;
  auto it = pods_.find(pod_uid);
  if (it == pods_.end()) return out;
  for (const auto& w : it->second->workers) {
    if (w->state.container_id().empty()) continue;
    auto& r = out[w->state.container_id()];
    switch (w->state.type()) {
      case ProbeType::kLiveness:
        r.liveness = w->state.result();
        break;
      case ProbeType::kReadiness:
        r.readiness = w->state.result();
        break;
      case ProbeType::kStartup:
        r.startup = w->state.result();
        break;
    }
  }
  return out;
}

void ProbeManager::OnTimer(uv_timer_t* t) {
  auto* w = static_cast<Worker*>(t->data);
  auto keep = w->shared_from_this();  // the worker outlives its own tick
  w->mgr->Tick(*w);
  if (w->stopped || w->timer == nullptr || w->halted) return;
  auto p = static_cast<int64_t>(w->period_ms);
  auto late =
      ((static_cast<int64_t>(uv_now(t->loop)) - static_cast<int64_t>(w->phase_ms)) % p + p) % p;
  uv_timer_start(w->timer, &ProbeManager::OnTimer, static_cast<uint64_t>(p - late), 0);
}

void ProbeManager::Tick(Worker& w) {
  auto pit = pods_.find(w.pod_uid);
  if (pit == pods_.end()) return;
  const ContainerView* view = nullptr;
  if (auto c = pit->second->containers.find(w.container_name); c != pit->second->containers.end()) {
    view = &c->second;
  }
  bool changed = false;
  WorkerState::Step step = w.state.Tick(view, clock_.Now(), &changed);
  if (step == WorkerState::Step::kStop) w.halted = true;
  if (step == WorkerState::Step::kProbe && !w.in_flight) {
    w.tries = 0;
    RunProbe(w, *view, pit->second->pod_ip);
  }
  if (changed) on_change_(w.pod_uid);
}

namespace manager_detail {

// As upstream probe.ResolveContainerPort: a number, or the name of one of the container's ports.
Result<int> ResolvePort(const api::IntOrString& p, const std::vector<api::ContainerPort>& ports) {
  int port = -1;
  if (!p.is_string) {
    port = p.int_val;
  } else {
    for (const auto& cp : ports) {
      if (cp.name == p.str_val) port = cp.container_port;
    }
    if (port < 0) return Error("couldn't find port: " + p.str_val + " in container ports");
  }
  if (port <= 0 || port > 65535) return Error("invalid port number: " + std::to_string(port));
  return port;
}

}  // namespace manager_detail

void ProbeManager::RunProbe(Worker& w, const ContainerView& view, const std::string& pod_ip) {
  w.in_flight = true;
  ++w.tries;
  std::weak_ptr<Worker> weak = w.weak_from_this();
  std::string cid = view.id;
  ProbeDone done = [this, weak, cid](ProbeOutcome o) {
    if (auto s = weak.lock()) OnOutcome(*s, cid, o);
  };
  auto timeout = std::chrono::milliseconds(w.state.timeout_seconds() * opts_.second.count());
  const api::ProbeHandler& h = w.probe.handler;
  auto host_for = [&](const std::string& host) -> Result<std::string> {
    if (!host.empty()) return host;
    if (pod_ip.empty()) return Error("the pod has no IP yet");
    return pod_ip;
  };
  if (h.exec) {
    std::vector<std::string> cmd;
    for (const auto& a : h.exec->command) cmd.push_back(ExpandStatic(a, w.env));
    exec_->Submit([&rt = rt_, post = post_, cid, cmd, timeout, done] {
      auto r = rt.ExecSync(cid, cmd, timeout);
      ProbeOutcome o;
      if (!r.ok()) {
        o = ProbeOutcome::Unknown(r.error().message());
      } else if (r->timed_out) {
        // As upstream (ExecProbeTimeout): an overrun is a failure; the runtime killed the command.
        o = ProbeOutcome::Failure("command timed out");
      } else {
        std::string out = Trim(r->out + r->err);
        o = r->exit_code == 0
                ? ProbeOutcome::Success(out)
                : ProbeOutcome::Failure(
                      out.empty() ? "command exited with " + std::to_string(r->exit_code) : out);
      }
      post([done, o] { done(o); });
    });
  } else if (h.http_get) {
    auto port = ResolvePort(h.http_get->port, w.ports);
    auto host = host_for(h.http_get->host);
    if (!port.ok() || !host.ok()) {
      std::string why = !port.ok() ? port.error().message() : host.error().message();
      post_([done, why] { done(ProbeOutcome::Unknown(why)); });
      return;
    }
    HttpProbeRequest req;
    req.scheme = h.http_get->scheme.empty() ? "http" : h.http_get->scheme;
    req.host = *host;
    req.port = *port;
    req.path = h.http_get->path;
    for (const auto& hd : h.http_get->http_headers) req.headers.emplace_back(hd.name, hd.value);
    req.timeout = timeout;
    http_->Get(req, std::move(done));
  } else if (h.tcp_socket) {
    auto port = ResolvePort(h.tcp_socket->port, w.ports);
    auto host = host_for(h.tcp_socket->host);
    if (!port.ok() || !host.ok()) {
      std::string why = !port.ok() ? port.error().message() : host.error().message();
      post_([done, why] { done(ProbeOutcome::Unknown(why)); });
      return;
    }
    tcp_->Probe(*host, *port, timeout, std::move(done));
  } else if (h.grpc) {
    // As upstream: the pod IP (the host's for hostNetwork pods), service "" unless set.
    auto host = host_for("");
    if (!host.ok()) {
      post_([done, why = host.error().message()] { done(ProbeOutcome::Unknown(why)); });
      return;
    }
    grpc_->Probe(*host, h.grpc->port, h.grpc->service.value_or(""), timeout, std::move(done));
  } else {
    post_([done] { done(ProbeOutcome::Unknown("probe handler not supported")); });
  }
}

void ProbeManager::OnOutcome(Worker& w, const std::string& container_id, const ProbeOutcome& o) {
  w.in_flight = false;
  if (w.stopped || w.state.container_id() != container_id) return;  // a new container meanwhile
  // As upstream runProbeWithRetries: an error (the probe could not tell: a read that broke off, a runtime
  // error, a port that does not resolve) is tried again at once, three tries in all; only the last counts.
  if (o.kind == ProbeOutcome::Kind::kUnknown && w.tries < kMaxProbeTries) {
    if (auto pit = pods_.find(w.pod_uid); pit != pods_.end()) {
      auto c = pit->second->containers.find(w.container_name);
      if (c != pit->second->containers.end() && c->second.id == container_id && c->second.running) {
        RunProbe(w, c->second, pit->second->pod_ip);
        return;
      }
    }
  }
  const std::string_view type = ProbeTypeName(w.state.type());
  // Upstream prober.recordContainerEvent: on the container, to the event sink (else the log).
  auto event = [&](const char* reason, const std::string& message) {
    if (!opts_.events) {
      log::Warn("event", {{"type", "Warning"}, {"reason", reason}, {"pod", w.PodRef()},
                          {"container", w.container_name}, {"message", message}});
      return;
    }
    api::Pod p;
    p.metadata.name = w.pod_name;
    p.metadata.namespace_ = w.pod_namespace;
    p.metadata.uid = w.pod_uid;
    opts_.events->Record(p, api::kEventWarning, reason, message, api::ContainerFieldPath(w.container_name));
  };
  switch (o.kind) {
    case ProbeOutcome::Kind::kUnknown:
      w.Count(2);
      // As upstream: an error leaves the result as it was.
      event("Unhealthy", std::string(type) + " probe errored: " + o.output);
      return;
    case ProbeOutcome::Kind::kFailure:
      w.Count(1);
      event("Unhealthy", std::string(type) + " probe failed: " + Trim(o.output));
      break;
    case ProbeOutcome::Kind::kWarning:
      w.Count(0);
      event("ProbeWarning", std::string(type) + " probe warning: " + Trim(o.output));
      break;
    case ProbeOutcome::Kind::kSuccess:
      w.Count(0);
      break;
  }
  bool success = o.kind != ProbeOutcome::Kind::kFailure;
  if (w.state.Record(success)) {
    log::Info("probe result changed", {{"pod", w.PodRef()},
                                       {"container", w.container_name},
                                       {"probeType", std::string(type)},
                                       {"result", success ? "success" : "failure"}});
    on_change_(w.pod_uid);
  }
}

}  // namespace nanolet::prober
