// The CRI log reader behind `kubectl logs`: query parameters (PodLogOptions) and the log file are
// both untrusted (the file is whatever the container printed, as the monitor framed it, possibly
// cut by a crash or rotation). Input: a query string (k=v&k=v, no decoding), a newline, the file.
// Checks: nothing crashes; a resolved log path stays inside the logs directory; limitBytes holds.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>

#include "server/container_logs.h"
#include "util/fs.h"
#include "util/strings.h"
#include "util/timefmt.h"

namespace {

struct LogsFuzzEnv {
  std::string dir;
  std::string file;
  nanolet::api::Pod pod;
  ~LogsFuzzEnv() { (void)nanolet::RemoveAll(dir); }  // at exit (not after a crash)
  LogsFuzzEnv() {
    char t[] = "/tmp/nanolet-fuzz-logs-XXXXXX";
    dir = ::mkdtemp(t);
    pod.metadata.name = "web";
    pod.metadata.namespace_ = "default";
    pod.metadata.uid = "uid-1";
    nanolet::api::Container c;
    c.name = "app";
    pod.spec.containers.push_back(c);
    nanolet::api::ContainerStatus cs;
    cs.name = "app";
    cs.restart_count = 1;
    pod.status.container_statuses.push_back(cs);
    std::string cdir = dir + "/default_web_uid-1/app";
    (void)nanolet::MkdirAll(cdir);
    file = cdir + "/1.log";
    (void)nanolet::WriteFile(cdir + "/0.log", "2026-11-27T18:00:00.000000001Z stdout F old\n");
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static LogsFuzzEnv env;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t nl = in.find('\n');
  std::string_view query = in.substr(0, nl);
  std::string_view content = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);

  std::multimap<std::string, std::string> params;
  for (const auto& kv : nanolet::Split(query, '&')) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos) {
      params.emplace(kv, "");
    } else {
      params.emplace(kv.substr(0, eq), kv.substr(eq + 1));
    }
  }
  nanolet::TimePoint now = *nanolet::ParseRFC3339("2026-11-27T18:20:00Z");
  auto opts = nanolet::server::ParseLogOptions(params, now);

  for (const auto& line : nanolet::Split(content, '\n')) {
    nanolet::server::CriLine l;
    if (nanolet::server::ParseCriLine(line, &l)) {
      if (l.content.size() > line.size()) std::abort();
    }
  }
  if (!opts.ok()) return 0;

  for (bool previous : {false, true}) {
    auto path = nanolet::server::ResolveLogPath(env.dir, env.pod, opts->container, previous);
    if (path.ok() && !nanolet::IsWithin(env.dir, nanolet::CleanPath(*path))) {
      std::fprintf(stderr, "log path escapes the logs dir: %s\n", path->c_str());
      std::abort();
    }
  }
  if (!nanolet::WriteFile(env.file, content).ok()) return 0;
  nanolet::server::LogOptions o = *opts;
  o.follow = false;  // a follow waits for more records; the reading itself is the same code
  size_t written = 0;
  auto r = nanolet::server::StreamLog(
      env.file, o,
      [&](std::string_view chunk) {
        written += chunk.size();
        return true;
      },
      [] { return false; });
  if (r.ok() && o.limit_bytes && written > static_cast<size_t>(*o.limit_bytes)) {
    std::fprintf(stderr, "limitBytes=%lld but %zu bytes written\n",
                 static_cast<long long>(*o.limit_bytes), written);
    std::abort();
  }
  return 0;
}
