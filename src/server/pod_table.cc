#include "server/pod_table.h"

#include <map>
#include <nlohmann/json.hpp>

#include "api/encode.h"
#include "util/timefmt.h"

namespace nanolet::server {
namespace {

using nlohmann::json;

bool IsRestartableInit(const api::Container* c) {
  return c && c->restart_policy && *c->restart_policy == "Always";
}

bool ConditionTrue(const api::PodStatus& s, const std::string& type) {
  for (const auto& c : s.conditions) {
    if (c.type == type) return c.status == "True";
  }
  return false;
}

// Later of two RFC 3339 timestamps ("" is the zero time). Same-format text compares in time order
// only when both parse, so parse.
struct LastRestart {
  std::string text;
  TimePoint t{};
  void Update(const std::string& ts) {
    auto p = ParseRFC3339(ts);
    if (p.ok() && (text.empty() || *p > t)) {
      text = ts;
      t = *p;
    }
  }
};

}  // namespace

std::string HumanDuration(Duration d) {
  using namespace std::chrono;
  int64_t seconds = duration_cast<std::chrono::seconds>(d).count();
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 60 * 2) return std::to_string(seconds) + "s";
  int64_t minutes = seconds / 60;
  if (minutes < 10) {
    int64_t s = seconds % 60;
    return s == 0 ? std::to_string(minutes) + "m"
                  : std::to_string(minutes) + "m" + std::to_string(s) + "s";
  }
  if (minutes < 60 * 3) return std::to_string(minutes) + "m";
  int64_t hours = minutes / 60;
  if (hours < 8) {
    int64_t m = minutes % 60;
    return m == 0 ? std::to_string(hours) + "h"
                  : std::to_string(hours) + "h" + std::to_string(m) + "m";
  }
  if (hours < 48) return std::to_string(hours) + "h";
  if (hours < 24 * 8) {
    int64_t h = hours % 24;
    return h == 0 ? std::to_string(hours / 24) + "d"
                  : std::to_string(hours / 24) + "d" + std::to_string(h) + "h";
  }
  if (hours < 24 * 365 * 2) return std::to_string(hours / 24) + "d";
  if (hours < 24 * 365 * 8) {
    int64_t dy = (hours / 24) % 365;
    return dy == 0 ? std::to_string(hours / 24 / 365) + "y"
                   : std::to_string(hours / 24 / 365) + "y" + std::to_string(dy) + "d";
  }
  return std::to_string(hours / 24 / 365) + "y";
}

std::string TimestampSince(const std::string& ts, TimePoint now) {
  if (ts.empty()) return "<unknown>";
  auto t = ParseRFC3339(ts);
  if (!t.ok()) return "<unknown>";
  return HumanDuration(now - *t);
}

namespace {

// printPod's computation of ready count, reason and restarts.
struct Printed {
  int ready = 0, total = 0, restarts = 0;
  std::string reason;
  LastRestart last_restart;
};

Printed Compute(const api::Pod& pod) {
  Printed p;
  const auto& st = pod.status;
  p.total = static_cast<int>(pod.spec.containers.size());
  p.reason = st.reason.empty() ? st.phase : st.reason;
  for (const auto& c : st.conditions) {
    if (c.type == "PodScheduled" && c.reason == "SchedulingGated") p.reason = "SchedulingGated";
  }
  std::map<std::string, const api::Container*> inits;
  for (const auto& c : pod.spec.init_containers) {
    inits[c.name] = &c;
    if (IsRestartableInit(&c)) ++p.total;
  }
  int restartable_restarts = 0;
  LastRestart restartable_last;
  bool initializing = false;
  for (size_t i = 0; i < st.init_container_statuses.size(); ++i) {
    const auto& c = st.init_container_statuses[i];
    auto it = inits.find(c.name);
    const api::Container* spec = it == inits.end() ? nullptr : it->second;
    p.restarts += c.restart_count;
    if (c.last_state.terminated) p.last_restart.Update(c.last_state.terminated->finished_at);
    if (IsRestartableInit(spec)) {
      restartable_restarts += c.restart_count;
      if (c.last_state.terminated) restartable_last.Update(c.last_state.terminated->finished_at);
    }
    if (c.state.terminated && c.state.terminated->exit_code == 0) continue;
    if (IsRestartableInit(spec) && c.started && *c.started) {
      if (c.ready) ++p.ready;
      continue;
    }
    if (c.state.terminated) {
      const auto& t = *c.state.terminated;
      if (t.reason.empty()) {
        p.reason = t.signal != 0 ? "Init:Signal:" + std::to_string(t.signal)
                                 : "Init:ExitCode:" + std::to_string(t.exit_code);
      } else {
        p.reason = "Init:" + t.reason;
      }
    } else if (c.state.waiting && !c.state.waiting->reason.empty() &&
               c.state.waiting->reason != "PodInitializing") {
      p.reason = "Init:" + c.state.waiting->reason;
    } else {
      p.reason =
          "Init:" + std::to_string(i) + "/" + std::to_string(pod.spec.init_containers.size());
    }
    initializing = true;
    break;
  }
  if (!initializing || ConditionTrue(st, "Initialized")) {
    p.restarts = restartable_restarts;
    p.last_restart = restartable_last;
    bool has_running = false;
    for (size_t k = st.container_statuses.size(); k-- > 0;) {
      const auto& c = st.container_statuses[k];
      p.restarts += c.restart_count;
      if (c.last_state.terminated) p.last_restart.Update(c.last_state.terminated->finished_at);
      if (c.state.waiting && !c.state.waiting->reason.empty()) {
        p.reason = c.state.waiting->reason;
      } else if (c.state.terminated && !c.state.terminated->reason.empty()) {
        p.reason = c.state.terminated->reason;
      } else if (c.state.terminated) {
        p.reason = c.state.terminated->signal != 0
                       ? "Signal:" + std::to_string(c.state.terminated->signal)
                       : "ExitCode:" + std::to_string(c.state.terminated->exit_code);
      } else if (c.ready && c.state.running) {
        has_running = true;
        ++p.ready;
      }
    }
    if (p.reason == "Completed" && has_running) {
      p.reason = ConditionTrue(st, "Ready") ? "Running" : "NotReady";
    }
  }
  bool terminal = st.phase == "Succeeded" || st.phase == "Failed";
  if (!pod.metadata.deletion_timestamp.empty() && st.reason == "NodeLost") {
    p.reason = "Unknown";
  } else if (!pod.metadata.deletion_timestamp.empty() && !terminal) {
    p.reason = "Terminating";
  }
  return p;
}

}  // namespace

std::string PodStatusReason(const api::Pod& pod) { return Compute(pod).reason; }

PodRow PrintPod(const api::Pod& pod, TimePoint now) {
  Printed p = Compute(pod);
  PodRow r;
  r.name = pod.metadata.name;
  r.ready = std::to_string(p.ready) + "/" + std::to_string(p.total);
  r.status = p.reason;
  r.restarts = std::to_string(p.restarts);
  if (p.restarts != 0 && !p.last_restart.text.empty()) {
    r.restarts += " (" + HumanDuration(now - p.last_restart.t) + " ago)";
  }
  r.age = TimestampSince(pod.metadata.creation_timestamp, now);
  r.ip = !pod.status.pod_ips.empty() && !pod.status.pod_ips[0].ip.empty() ? pod.status.pod_ips[0].ip
                                                                          : pod.status.pod_ip;
  if (r.ip.empty()) r.ip = "<none>";
  r.node = pod.spec.node_name.empty() ? "<none>" : pod.spec.node_name;
  r.nominated_node = "<none>";
  r.readiness_gates = "<none>";  // api::PodSpec carries no readinessGates
  return r;
}

IncludeObject ParseIncludeObject(const std::string& v) {
  if (v == "None") return IncludeObject::kNone;
  if (v == "Object") return IncludeObject::kObject;
  return IncludeObject::kMetadata;
}

json PodTable(const std::vector<const api::Pod*>& pods, TimePoint now, IncludeObject include) {
  auto col = [](const char* name, const char* format, const char* desc, int priority) {
    return json{{"name", name},
                {"type", "string"},
                {"format", format},
                {"description", desc},
                {"priority", priority}};
  };
  json t;
  t["kind"] = "Table";
  t["apiVersion"] = "meta.k8s.io/v1";
  t["metadata"] = {{"resourceVersion", ""}};
  t["columnDefinitions"] = json::array({
      col("Name", "name", "Name must be unique within a namespace.", 0),
      col("Ready", "", "The aggregate readiness state of this pod for accepting traffic.", 0),
      col("Status", "", "The aggregate status of the containers in this pod.", 0),
      col("Restarts", "",
          "The number of times the containers in this pod have been restarted and when the "
          "last container in this pod has restarted.",
          0),
      col("Age", "",
          "CreationTimestamp is a timestamp representing the server time when this object was "
          "created.",
          0),
      col("IP", "", "IP address allocated to the pod. Routable at least within the cluster.", 1),
      col("Node", "", "NodeName is a request to schedule this pod onto a specific node.", 1),
      col("Nominated Node", "",
          "nominatedNodeName is set only when this pod preempts other pods on the node.", 1),
      col("Readiness Gates", "",
          "If specified, all readiness gates will be evaluated for pod readiness.", 1),
  });
  json rows = json::array();
  for (const api::Pod* pod : pods) {
    PodRow r = PrintPod(*pod, now);
    json row;
    row["cells"] = json::array({r.name, r.ready, r.status, r.restarts, r.age, r.ip, r.node,
                                r.nominated_node, r.readiness_gates});
    if (pod->status.phase == "Succeeded" || pod->status.phase == "Failed") {
      bool ok = pod->status.phase == "Succeeded";
      row["conditions"] = json::array(
          {{{"type", "Completed"},
            {"status", "True"},
            {"reason", ok ? "Succeeded" : "Failed"},
            {"message", ok ? "The pod has completed successfully." : "The pod failed."}}});
    }
    switch (include) {
      case IncludeObject::kNone:
        break;
      case IncludeObject::kMetadata:
        row["object"] = {{"kind", "PartialObjectMetadata"},
                         {"apiVersion", "meta.k8s.io/v1"},
                         {"metadata", api::EncodeMeta(pod->metadata)}};
        break;
      case IncludeObject::kObject:
        row["object"] = api::Encode(*pod);
        break;
    }
    rows.push_back(std::move(row));
  }
  t["rows"] = std::move(rows);
  return t;
}

}  // namespace nanolet::server
