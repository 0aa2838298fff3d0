#pragma once
// Server-side printing of pods as a meta.k8s.io/v1 Table, as the apiserver does for
// `kubectl get pods` (pkg/printers/internalversion/printers.go: podColumnDefinitions, printPod).
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "api/types.h"
#include "util/clock.h"

namespace nanolet::server {

// The printed cells of one pod, in column order: Name, Ready, Status, Restarts, Age, then the
// priority-1 (-o wide) columns IP, Node, Nominated Node, Readiness Gates.
struct PodRow {
  std::string name, ready, status, restarts, age, ip, node, nominated_node, readiness_gates;
};

PodRow PrintPod(const api::Pod& pod, TimePoint now);

// STATUS as printPod computes it: phase or status.reason, Init:N/M, Init:<reason>, container
// waiting or terminated reasons (CrashLoopBackOff, Completed, Error, ...), ExitCode:N / Signal:N,
// NotReady, Terminating (deletionTimestamp set, phase not terminal), Unknown (deleting a NodeLost
// pod).
std::string PodStatusReason(const api::Pod& pod);

// duration.HumanDuration: "5s", "2m30s", "10m", "3h5m", "2d3h", "1y30d".
std::string HumanDuration(Duration d);
// translateTimestampSince: "<unknown>" for an empty or unparsable timestamp.
std::string TimestampSince(const std::string& rfc3339, TimePoint now);

// How the row's "object" is filled, from the includeObject query parameter (None, Metadata
// (default), Object).
enum class IncludeObject { kNone, kMetadata, kObject };
IncludeObject ParseIncludeObject(const std::string& v);

// The Table for `pods` (all columns; kubectl hides priority 1 unless -o wide).
nlohmann::json PodTable(const std::vector<const api::Pod*>& pods, TimePoint now,
                        IncludeObject include);

}  // namespace nanolet::server
