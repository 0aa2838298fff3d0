#pragma once
// Helpers shared by the network tests: temporary directories, fake CNI plugins, shell commands.
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "util/fs.h"
#include "util/subprocess.h"

namespace nanolet::network::testing {

// A temporary directory removed (recursively) on destruction.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/nanolet-net-XXXXXX";
    path_ = ::mkdtemp(tmpl) ? tmpl : "";
  }
  ~TempDir() {
    if (!path_.empty()) (void)nanolet::Run({"rm", "-rf", "--one-file-system", path_});
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return JoinPath(path_, name); }

 private:
  std::string path_;
};

// Writes an executable shell script.
inline void WriteScript(const std::string& path, const std::string& body) {
  (void)WriteFile(path, "#!/bin/sh\n" + body, 0755);
  ::chmod(path.c_str(), 0755);
}

// Runs a shell command line; returns stdout, or "ERROR: ..." on failure.
inline std::string Sh(const std::string& cmd) {
  auto r = nanolet::Run({"/bin/sh", "-c", cmd}, {.timeout = std::chrono::seconds(20)});
  if (!r.ok()) return "ERROR: " + r.error().message();
  if (!r->success()) return "ERROR: " + r->Describe();
  return r->out;
}

inline int CountOccurrences(const std::string& s, const std::string& needle) {
  int n = 0;
  size_t pos = 0;
  while ((pos = s.find(needle, pos)) != std::string::npos) {
    ++n;
    pos += needle.size();
  }
  return n;
}

}  // namespace nanolet::network::testing
