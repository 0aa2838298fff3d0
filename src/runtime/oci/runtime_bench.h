#pragma once
// `nanolet debug runtime-bench`: drives OciRuntime directly (no kubelet, no manifests) to time a
// pod sandbox plus one container created and started, and their removal; bench/runtime.sh sets it
// beside bare runc.
#include <ostream>
#include <string>

#include "runtime/oci/oci_runtime.h"

namespace nanolet::runtime::oci {

struct RuntimeBenchOptions {
  OciOptions runtime;
  std::string image = "nanolet.local/busybox:1.35";  // must be in the store already
  std::string log_dir;                               // pod log directories go here
  int runs = 20;
  int warmup = 2;
};

// Prints one JSON object per measured run ({"run":i,"sandbox_ms":..,"create_ms":..,"start_ms":..,
// "total_ms":..,"remove_ms":..,"monitor_rss_kb":[..],"monitor_pss_kb":[..]}) on `out`; returns the
// exit code.
int RunRuntimeBench(const RuntimeBenchOptions& opts, std::ostream& out, std::ostream& err);

}  // namespace nanolet::runtime::oci
