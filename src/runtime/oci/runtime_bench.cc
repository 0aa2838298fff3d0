#include "runtime/oci/runtime_bench.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/fs.h"
#include "util/strings.h"

namespace nanolet::runtime::oci {

namespace runtime_bench_detail {

using BenchClock = std::chrono::steady_clock;

double MsSince(BenchClock::time_point t0) {
  return std::chrono::duration<double, std::milli>(BenchClock::now() - t0).count();
}

// "<Key>: <n> kB" from a /proc status-like file.
int64_t ProcKb(const std::string& path, const std::string& key) {
  auto data = ReadFile(path, 1 << 16);
  if (!data.ok()) return -1;
  for (const auto& line : Split(*data, '\n')) {
    if (StartsWith(line, key + ":")) return std::atoll(line.c_str() + key.size() + 1);
  }
  return -1;
}

// The monitor process of container `id` (its command line holds "--id\0<id>\0").
std::string MonitorPid(const std::string& id) {
  auto pids = ListDir("/proc");
  if (!pids.ok()) return "";
  std::string needle = std::string("--id") + '\0' + id + '\0';
  for (const auto& p : *pids) {
    if (p.empty() || p[0] < '0' || p[0] > '9') continue;
    auto cmd = ReadFile("/proc/" + p + "/cmdline", 4096);
    if (cmd.ok() && cmd->find("nanolet-monitor") != std::string::npos &&
        cmd->find(needle) != std::string::npos) {
      return p;
    }
  }
  return "";
}

}  // namespace runtime_bench_detail

int RunRuntimeBench(const RuntimeBenchOptions& opts, std::ostream& out, std::ostream& err) {
  using namespace runtime_bench_detail;
  auto rt = OciRuntime::Create(opts.runtime);
  if (!rt.ok()) {
    err << "runtime-bench: " << rt.error().message() << "\n";
    return 1;
  }
  if (auto img = (*rt)->ImageStatus(opts.image); !img.ok()) {
    err << "runtime-bench: image " << opts.image << ": " << img.error().message() << "\n";
    return 1;
  }
  for (int i = -opts.warmup; i < opts.runs; i++) {
    std::string n = "rtbench-" + std::to_string(i + opts.warmup);
    SandboxConfig sc;
    sc.pod_uid = "rtbench-" + std::to_string(::getpid()) + "-" + std::to_string(i + opts.warmup);
    sc.pod_name = n;
    sc.pod_namespace = "bench";
    sc.hostname = n;
    if (!opts.log_dir.empty()) sc.log_directory = opts.log_dir + "/bench_" + n + "_" + sc.pod_uid;
    ContainerConfig cc;
    cc.name = "app";
    cc.image = opts.image;
    cc.command = {"sleep", "3600"};
    cc.log_path = "app/0.log";

    auto t0 = BenchClock::now();
    auto sid = (*rt)->RunPodSandbox(sc);
    if (!sid.ok()) {
      err << "runtime-bench: run pod sandbox: " << sid.error().message() << "\n";
      return 1;
    }
    double sandbox_ms = MsSince(t0);
    auto t1 = BenchClock::now();
    auto cid = (*rt)->CreateContainer(*sid, cc, sc);
    if (!cid.ok()) {
      err << "runtime-bench: create container: " << cid.error().message() << "\n";
      (void)(*rt)->RemovePodSandbox(*sid);
      return 1;
    }
    double create_ms = MsSince(t1);
    auto t2 = BenchClock::now();
    if (auto s = (*rt)->StartContainer(*cid); !s.ok()) {
      err << "runtime-bench: start container: " << s.error().message() << "\n";
      (void)(*rt)->RemovePodSandbox(*sid);
      return 1;
    }
    double start_ms = MsSince(t2);
    double total_ms = MsSince(t0);

    nlohmann::json rss = nlohmann::json::array(), pss = nlohmann::json::array();
    for (const auto& id : {*sid, *cid}) {
      std::string pid = MonitorPid(id);
      if (pid.empty()) continue;
      rss.push_back(ProcKb("/proc/" + pid + "/status", "VmRSS"));
      pss.push_back(ProcKb("/proc/" + pid + "/smaps_rollup", "Pss"));
    }
    auto t3 = BenchClock::now();
    auto stop = (*rt)->StopPodSandbox(*sid);
    auto rm = (*rt)->RemovePodSandbox(*sid);
    double remove_ms = MsSince(t3);
    if (!stop.ok() || !rm.ok()) {
      err << "runtime-bench: remove: "
          << (stop.ok() ? rm.error().message() : stop.error().message()) << "\n";
      return 1;
    }
    if (!sc.log_directory.empty()) (void)RemoveAll(sc.log_directory);
    if (i < 0) continue;
    out << nlohmann::json{{"run", i},
                          {"sandbox_ms", sandbox_ms},
                          {"create_ms", create_ms},
                          {"start_ms", start_ms},
                          {"total_ms", total_ms},
                          {"remove_ms", remove_ms},
                          {"monitor_rss_kb", rss},
                          {"monitor_pss_kb", pss}}
               .dump()
        << "\n";
  }
  return 0;
}

}  // namespace nanolet::runtime::oci
