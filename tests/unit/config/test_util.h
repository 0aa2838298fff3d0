#pragma once
// Helpers for the config tests: a temporary directory, a libuv loop run with a deadline (never a
// sleep), a stderr capture for log assertions, and manifest text.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <uv.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <string>

#include "util/fs.h"

namespace nanolet::config::testing {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/nanolet-config-test-XXXXXX";
    char* p = mkdtemp(tmpl);
    path_ = p != nullptr ? p : "";
  }
  ~TempDir() {
    if (!path_.empty()) (void)RemoveAll(path_);
  }
  const std::string& path() const { return path_; }
  std::string Join(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A private libuv loop. RunUntil turns the loop until `done()` holds or `timeout` passes.
class Loop {
 public:
  Loop() { uv_loop_init(&loop_); }
  ~Loop() {
    // Close whatever is left (sources close their own handles; this is the safety net), then let
    // the close callbacks run so the handles' memory is freed.
    uv_walk(
        &loop_,
        [](uv_handle_t* h, void*) {
          if (!uv_is_closing(h)) uv_close(h, nullptr);
        },
        nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
  }
  uv_loop_t* get() { return &loop_; }

  bool RunUntil(const std::function<bool()>& done,
                std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
    if (done()) return true;
    // The deadline wakes the loop; the prepare handle checks `done` right before the loop would
    // block in poll and stops it (uv_stop makes that poll non-blocking), so a timer callback that
    // satisfied `done` does not leave the loop sleeping until the next event.
    uv_timer_t deadline;
    uv_prepare_t check;
    bool expired = false;
    uv_timer_init(&loop_, &deadline);
    deadline.data = &expired;
    uv_timer_start(
        &deadline, [](uv_timer_t* t) { *static_cast<bool*>(t->data) = true; },
        static_cast<uint64_t>(timeout.count()), 0);
    uv_prepare_init(&loop_, &check);
    check.data = const_cast<std::function<bool()>*>(&done);
    uv_prepare_start(&check, [](uv_prepare_t* p) {
      if ((*static_cast<std::function<bool()>*>(p->data))()) uv_stop(p->loop);
    });
    bool ok = false;
    while (!(ok = done()) && !expired) uv_run(&loop_, UV_RUN_ONCE);
    uv_timer_stop(&deadline);
    uv_prepare_stop(&check);
    uv_close(reinterpret_cast<uv_handle_t*>(&deadline), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&check), nullptr);
    uv_run(&loop_, UV_RUN_NOWAIT);  // runs the close callbacks before the handles go out of scope
    return ok;
  }
  // Processes the loop until nothing happens for `quiet` (to observe that NO further callback
  // comes).
  void RunFor(std::chrono::milliseconds d) {
    RunUntil([] { return false; }, d);
  }

 private:
  uv_loop_t loop_;
};

// Captures what is written to fd 2 while alive.
class StderrCapture {
 public:
  StderrCapture() {
    std::fflush(stderr);
    char tmpl[] = "/tmp/nanolet-stderr-XXXXXX";
    fd_ = mkstemp(tmpl);
    path_ = tmpl;
    saved_ = dup(2);
    dup2(fd_, 2);
  }
  ~StderrCapture() { Restore(); }
  std::string Text() {
    auto r = ReadFile(path_);
    return r.ok() ? *r : "";
  }
  void Restore() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    dup2(saved_, 2);
    close(saved_);
    saved_ = -1;
    std::string text = Text();
    close(fd_);
    unlink(path_.c_str());
    text_ = text;
  }
  const std::string& Final() const { return text_; }

 private:
  int fd_ = -1;
  int saved_ = -1;
  std::string path_;
  std::string text_;
};

inline std::string PodYaml(const std::string& name, const std::string& image = "busybox:1.36",
                           const std::string& extra_metadata = "") {
  return "apiVersion: v1\n"
         "kind: Pod\n"
         "metadata:\n"
         "  name: " +
         name + "\n" + extra_metadata +
         "spec:\n"
         "  containers:\n"
         "  - name: app\n"
         "    image: " +
         image +
         "\n"
         "    command: [\"sleep\", \"3600\"]\n";
}

// A pod whose container has no image: invalid (spec.containers[0].image: Required value).
inline std::string InvalidPodYaml(const std::string& name) {
  return "apiVersion: v1\n"
         "kind: Pod\n"
         "metadata:\n"
         "  name: " +
         name +
         "\n"
         "spec:\n"
         "  containers:\n"
         "  - name: app\n";
}

// Writes through a dotfile and rename(2), as careful tools do: the source sees one complete file.
inline void WriteViaRename(const std::string& dir, const std::string& name,
                           const std::string& data) {
  std::string tmp = dir + "/." + name + ".partial";
  (void)WriteFile(tmp, data);
  ::rename(tmp.c_str(), (dir + "/" + name).c_str());
}

}  // namespace nanolet::config::testing
