#pragma once
// FileSource: static pods from a manifest directory or a single manifest file (--pod-manifest-path,
// --config DIR), as upstream pkg/kubelet/config/file.go + file_linux.go, on a libuv loop.
//
// What it reads: in a directory, every regular file (symlinks followed) whose name does not start
// with '.' (upstream globs "[^.]*") and is not an editor or atomic-write temporary (ending in '~',
// ".swp", ".swx", ".tmp" or ".tmp<digits>", the last being what util WriteFileAtomic leaves for an
// instant); no recursion into sub-directories. A file may hold several YAML documents or JSON/YAML
// List/PodList objects; see static_pod.h for what becomes of each object. Files over 10 MiB are
// refused.
//
// When: once right after Start() (on the loop), every `check_interval`, and on inotify events: a
// file closed after writing, moved in or out, deleted or chmod'ed is re-read after a ~2 ms
// coalescing delay; a file that is only created or modified (still being written) waits for its
// close, or 100 ms of quiet. Only the named files are re-read on events; the periodic check
// re-reads files whose (device, inode, size, mtime, ctime) changed. A file whose bytes did not
// change is never parsed again. The path (directory or file) may not exist yet: its parent
// directory is watched (when it exists) so it is noticed at once, else the periodic check finds it.
// A path that disappears yields an empty set (upstream does the same).
//
// Errors: a file with any error (YAML, decoding, validation, a pod without a name) contributes what
// it did before the change (its LAST GOOD content: nothing if it never was good); each problem is
// logged once per content version as `invalid manifest file=... error="FILE:LINE: field: message"`.
// Other files are never affected. (Upstream drops the pods of a file that turned invalid; nanolet
// keeps them running.)
//
// Output: after a change, the SourceCallback gets ("file", every pod of every file), ordered by
// file name then position in the file. The first callback always comes (an empty set marks the
// source as seen).
//
// Threading: everything runs on the loop thread; construct, Start, Stop and destroy there too. The
// callback must not destroy the FileSource. Destroy it before the loop is closed (its libuv handles
// are freed by close callbacks, which need one more turn of the loop).
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "api/types.h"
#include "config/pod_source.h"
#include "util/clock.h"
#include "util/result.h"

typedef struct uv_loop_s uv_loop_t;

namespace nanolet::config {

class FileSource {
 public:
  struct Options {
    std::string path;       // manifest directory or file
    std::string node_name;  // static pod names get "-<lowercase node name>"
    Duration check_interval = std::chrono::seconds(20);  // --file-check-frequency
    const Clock* clock = nullptr;                        // stamps config.seen; RealClock when null
    // Called (on the loop, before the pods callback of the same change) when the ConfigMaps or Secrets of
    // the manifests changed; ConfigMaps()/Secrets() already return the new set.
    std::function<void()> on_objects_changed;
  };
  // Counters for tests and /metrics.
  struct Stats {
    uint64_t files_parsed = 0;  // manifests decoded (content changed)
    uint64_t files_read = 0;    // files read from disk
    uint64_t full_scans = 0;    // directory listings
    uint64_t callbacks = 0;     // SourceCallback invocations
  };

  FileSource(uv_loop_t* loop, Options opts, SourceCallback on_pods);
  ~FileSource();  // Stop()
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;

  // Sets up inotify and the timers; the first scan runs on the next loop iteration. Fails when
  // inotify or the loop handles cannot be created (a missing path is not an error).
  Result<void> Start();
  // Stops watching; no callback is invoked after Stop returns. Idempotent.
  void Stop();

  // Static ConfigMaps and Secrets of the current good manifests (for standalone nodes), by file
  // name order.
  std::vector<api::ConfigMap> ConfigMaps() const;
  std::vector<api::Secret> Secrets() const;
  // The pods last handed to the callback.
  std::vector<api::Pod> Pods() const;
  const Stats& stats() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace nanolet::config
