#include "config/file_source.h"

#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

#include "config/static_pod.h"
#include "config/uv_handle.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strings.h"

namespace nanolet::config {
namespace {

using internal::UvHandle;

// Coalescing delay after an event that ends a write (close, rename, delete): a burst of files
// dropped at once is read in one pass and reported in one callback.
constexpr uint64_t kCoalesceMs = 2;
// A file only created or modified is probably still being written: wait for its close, or this much
// quiet.
constexpr uint64_t kQuietMs = 100;

constexpr uint32_t kDirMask = IN_CREATE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM |
                              IN_DELETE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;

struct FileStamp {
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  bool operator==(const FileStamp&) const = default;
};

FileStamp StampOf(const struct stat& st) {
  FileStamp s;
  s.dev = st.st_dev;
  s.ino = st.st_ino;
  s.size = st.st_size;
  s.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  s.ctime_ns = static_cast<int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec;
  return s;
}

// One manifest file as last seen. pods/config_maps/secrets hold the LAST GOOD content.
struct FileEntry {
  FileStamp stamp;
  std::string content_md5;
  bool good = false;  // did the current content load without errors?
  std::vector<api::Pod> pods;
  std::vector<api::ConfigMap> config_maps;
  std::vector<api::Secret> secrets;
  bool contributes() const { return !pods.empty() || !config_maps.empty() || !secrets.empty(); }
};

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Names in a manifest directory that are not manifests: dotfiles (upstream globs "[^.]*"), editor
// backups and swap files, atomic-write temporaries.
bool IsIgnoredName(std::string_view name) {
  if (name.empty() || name[0] == '.') return true;
  if (EndsWith(name, "~") || EndsWith(name, ".swp") || EndsWith(name, ".swx") ||
      EndsWith(name, ".tmp")) {
    return true;
  }
  size_t dot = name.rfind(".tmp");
  return dot != std::string_view::npos && AllDigits(name.substr(dot + 4));
}

}  // namespace

struct FileSource::Impl {
  enum class Mode { kUnknown, kMissing, kDir, kFile };

  // Constant after construction.
  uv_loop_t* loop;
  Options opts;
  SourceCallback on_pods;
  const Clock* clock;
  std::string path;    // cleaned
  std::string parent;  // directory holding `path`
  std::string base;    // last element of `path`

  // Owned by the loop thread.
  Stats stats;
  bool running = false;
  UniqueFd inotify;
  UvHandle<uv_poll_t> poll;
  UvHandle<uv_timer_t> tick;
  UvHandle<uv_timer_t> flush;
  int dir_wd = -1;
  FileStamp dir_stamp;
  int parent_wd = -1;
  Mode mode = Mode::kUnknown;
  std::map<std::string, FileEntry> files;  // full path -> entry; ordered, so output is by file name
  std::map<std::string, uint64_t> pending;  // full path -> when to re-read it (uv_now ms)
  uint64_t rescan_due = 0;                  // when to rescan the whole path; 0: not scheduled
  bool changed = false;                     // output differs from what was last reported
  bool emitted = false;                     // the first report went out
  std::vector<api::Pod> last_pods;
  bool objects_emitted = false;  // on_objects_changed was called once
  std::vector<api::ConfigMap> last_config_maps;
  std::vector<api::Secret> last_secrets;

  Impl(uv_loop_t* l, Options o, SourceCallback cb)
      : loop(l),
        opts(std::move(o)),
        on_pods(std::move(cb)),
        clock(opts.clock != nullptr ? opts.clock : &RealClock::Instance()) {
    path = CleanPath(opts.path);
    size_t slash = path.rfind('/');
    if (slash == std::string::npos) {
      parent = ".";
      base = path;
    } else {
      parent = slash == 0 ? "/" : path.substr(0, slash);
      base = path.substr(slash + 1);
    }
  }

  // ---- watches ----

  void RemoveWatch(int& wd) {
    if (wd >= 0 && inotify.valid()) inotify_rm_watch(inotify.get(), wd);
    wd = -1;
  }

  // Returns true when a watch was newly added.
  bool EnsureParentWatch() {
    if (parent_wd >= 0 || !inotify.valid() || base.empty()) return false;
    parent_wd = inotify_add_watch(inotify.get(), parent.c_str(), kDirMask);
    return parent_wd >= 0;
  }

  void EnsureDirWatch(const FileStamp& st) {
    if (dir_wd >= 0 && dir_stamp.dev == st.dev && dir_stamp.ino == st.ino) return;
    RemoveWatch(dir_wd);
    if (!inotify.valid()) return;
    dir_wd = inotify_add_watch(inotify.get(), path.c_str(), kDirMask | IN_EXCL_UNLINK);
    if (dir_wd < 0) {
      log::Error("cannot watch manifest directory, relying on the periodic check",
                 {{"path", path}, {"error", std::strerror(errno)}});
    }
    dir_stamp = st;
  }

  // ---- scheduling ----

  uint64_t DueFor(uint32_t mask) const {
    bool finished = (mask & (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ATTRIB |
                             IN_ISDIR | IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) != 0;
    return uv_now(loop) + (finished ? kCoalesceMs : kQuietMs);
  }

  void ScheduleRescan(uint64_t due) {
    if (rescan_due == 0 || due < rescan_due) rescan_due = due;
  }

  void ArmFlush() {
    if (!running) return;
    uint64_t next = rescan_due;
    for (const auto& [p, due] : pending) {
      if (next == 0 || due < next) next = due;
    }
    if (next == 0) {
      uv_timer_stop(flush.get());
      return;
    }
    uint64_t now = uv_now(loop);
    uv_timer_start(flush.get(), &Impl::OnFlush, next > now ? next - now : 0, 0);
  }

  // ---- inotify ----

  void HandleEvent(const struct inotify_event* ev) {
    if (ev->mask & IN_Q_OVERFLOW) {
      log::Warn("inotify queue overflow, rescanning manifests", {{"path", path}});
      ScheduleRescan(uv_now(loop) + kCoalesceMs);
      return;
    }
    std::string_view name = ev->len > 0 ? std::string_view(ev->name) : std::string_view();
    if (ev->wd == dir_wd && dir_wd >= 0) {
      if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
        if (ev->mask & IN_IGNORED) {
          dir_wd = -1;  // the kernel dropped the watch already
        } else {
          RemoveWatch(dir_wd);
        }
        ScheduleRescan(uv_now(loop) + kCoalesceMs);
        return;
      }
      if (name.empty() || IsIgnoredName(name)) return;
      if (ev->mask & IN_ISDIR) return;  // upstream does not recurse
      std::string full = JoinPath(path, name);
      pending[full] =
          DueFor(ev->mask);  // the latest event decides: a close after writes reads at once
      return;
    }
    if (ev->wd == parent_wd && parent_wd >= 0) {
      if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
        if (ev->mask & IN_IGNORED) {
          parent_wd = -1;
        } else {
          RemoveWatch(parent_wd);
        }
        ScheduleRescan(uv_now(loop) + kCoalesceMs);
        return;
      }
      if (name != base) return;
      // The path itself appeared, went or changed (single-file mode): rescan it.
      uint64_t due = DueFor(ev->mask);
      if ((ev->mask & (IN_CREATE | IN_MODIFY)) && !(ev->mask & IN_ISDIR)) {
        rescan_due =
            due;  // still being written: the latest event decides, as for directory entries
      } else {
        ScheduleRescan(due);
      }
    }
  }

  static void OnReadable(uv_poll_t* h, int status, int /*events*/) {
    auto* self = static_cast<Impl*>(h->data);
    if (status < 0) {
      log::Error("inotify poll failed", {{"path", self->path}, {"error", uv_strerror(status)}});
      return;
    }
    alignas(struct inotify_event) char buf[64 * 1024];
    for (;;) {
      ssize_t n = ::read(self->inotify.get(), buf, sizeof buf);
      if (n <= 0) break;  // EAGAIN: drained
      for (ssize_t off = 0; off < n;) {
        auto* ev = reinterpret_cast<const struct inotify_event*>(buf + off);
        self->HandleEvent(ev);
        off += static_cast<ssize_t>(sizeof(struct inotify_event) + ev->len);
      }
    }
    self->ArmFlush();
  }

  static void OnFlush(uv_timer_t* h) {
    auto* self = static_cast<Impl*>(h->data);
    uint64_t now = uv_now(self->loop);
    std::vector<std::string> due;
    for (auto it = self->pending.begin(); it != self->pending.end();) {
      if (it->second <= now) {
        due.push_back(it->first);
        it = self->pending.erase(it);
      } else {
        ++it;
      }
    }
    for (const auto& full : due) {
      if (self->mode == Mode::kDir) {
        self->ProcessFile(full, /*force=*/true);
      } else {
        self->ScheduleRescan(now);
      }
    }
    if (self->rescan_due != 0 && self->rescan_due <= now) {
      self->rescan_due = 0;
      self->FullScan();
    }
    self->Emit();
    self->ArmFlush();
  }

  static void OnTick(uv_timer_t* h) {
    auto* self = static_cast<Impl*>(h->data);
    self->FullScan();
    self->Emit();
    self->ArmFlush();
  }

  // ---- reading ----

  void Erase(const std::string& full) {
    auto it = files.find(full);
    if (it == files.end()) return;
    if (it->second.contributes()) changed = true;
    files.erase(it);
  }

  // Forgets every file but `keep` ("" forgets all).
  void EraseAllExcept(const std::string& keep) {
    for (auto it = files.begin(); it != files.end();) {
      if (it->first == keep) {
        ++it;
        continue;
      }
      if (it->second.contributes()) changed = true;
      it = files.erase(it);
    }
  }

  // Re-reads `full` when its stamp changed (or always, when `force`), and re-parses it when its
  // bytes did.
  void ProcessFile(const std::string& full, bool force) {
    struct stat st;
    if (::stat(full.c_str(), &st) != 0) {
      Erase(full);
      return;
    }
    if (S_ISDIR(st.st_mode)) {
      log::V(1, "not recursing into manifest sub-directory", {{"path", full}});
      Erase(full);
      return;
    }
    if (!S_ISREG(st.st_mode)) {
      log::V(1, "manifest path is not a regular file, ignoring", {{"path", full}});
      Erase(full);
      return;
    }
    FileStamp stamp = StampOf(st);
    auto it = files.find(full);
    if (!force && it != files.end() && it->second.stamp == stamp) return;

    if (static_cast<uint64_t>(st.st_size) > kMaxManifestBytes) {
      if (it == files.end() || it->second.stamp != stamp) {
        log::Error("invalid manifest",
                   {{"file", full},
                    {"error", full + ": file is larger than " + std::to_string(kMaxManifestBytes) +
                                  " bytes"}});
      }
      FileEntry& e = files[full];
      e.stamp = stamp;
      e.content_md5.clear();
      e.good = false;
      return;
    }
    auto data = ReadFile(full, kMaxManifestBytes + 1);
    if (!data.ok()) {
      if (!PathExists(full)) {
        Erase(full);
      } else {
        log::Error("cannot read manifest", {{"file", full}, {"error", data.error().message()}});
      }
      return;
    }
    ++stats.files_read;
    std::string md5 = Md5Hex(*data);
    if (it != files.end() && it->second.content_md5 == md5) {
      it->second.stamp = stamp;
      return;
    }
    ++stats.files_parsed;
    ManifestContents contents =
        LoadManifest(*data, ManifestOrigin{kSourceFile, full, opts.node_name});
    LogManifestProblems(contents, full);
    FileEntry& e = files[full];
    e.stamp = stamp;
    e.content_md5 = std::move(md5);
    if (!contents.ok()) {
      // Keep the last good content of this file; the error is logged once per content version.
      e.good = false;
      return;
    }
    e.good = true;
    StampSeen(contents.pods, e.pods, clock->Now());
    if (contents.pods != e.pods || contents.config_maps != e.config_maps ||
        contents.secrets != e.secrets) {
      changed = true;
    }
    e.pods = std::move(contents.pods);
    e.config_maps = std::move(contents.config_maps);
    e.secrets = std::move(contents.secrets);
  }

  void FullScan() {
    ++stats.full_scans;
    struct stat st;
    for (int attempt = 0;; ++attempt) {
      if (::stat(path.c_str(), &st) == 0) break;
      int err = errno;
      // Watch the parent first, then look again: a path created in between is not missed.
      if (attempt == 0 && EnsureParentWatch()) continue;
      if (mode != Mode::kMissing) {
        log::Info("manifest path does not exist (yet)",
                  {{"path", path}, {"error", std::strerror(err)}});
      }
      mode = Mode::kMissing;
      RemoveWatch(dir_wd);
      EraseAllExcept("");
      return;
    }
    if (S_ISDIR(st.st_mode)) {
      mode = Mode::kDir;
      RemoveWatch(parent_wd);  // the directory's own watch reports its deletion or move
      EnsureDirWatch(StampOf(st));
      auto names = ListDir(path);
      if (!names.ok()) {
        log::Error("cannot list manifest directory",
                   {{"path", path}, {"error", names.error().message()}});
        return;  // keep what we have
      }
      std::map<std::string, bool> present;
      for (const auto& name : *names) {
        if (IsIgnoredName(name)) continue;
        std::string full = JoinPath(path, name);
        present[full] = true;
        // A file with a pending event is probably being written: its own (later) re-read handles
        // it.
        if (pending.count(full) != 0) continue;
        ProcessFile(full, /*force=*/false);
      }
      for (auto it = files.begin(); it != files.end();) {
        if (present.count(it->first) == 0) {
          if (it->second.contributes()) changed = true;
          it = files.erase(it);
        } else {
          ++it;
        }
      }
      return;
    }
    if (S_ISREG(st.st_mode)) {
      mode = Mode::kFile;
      RemoveWatch(dir_wd);
      EnsureParentWatch();
      EraseAllExcept(path);
      ProcessFile(path, /*force=*/false);
      return;
    }
    log::Error("manifest path is not a directory or file", {{"path", path}});
    mode = Mode::kMissing;
    EraseAllExcept("");
  }

  std::vector<api::Pod> AllPods() const {
    std::vector<api::Pod> out;
    for (const auto& [full, e] : files) out.insert(out.end(), e.pods.begin(), e.pods.end());
    return out;
  }

  void Emit() {
    if (!running || (emitted && !changed)) return;
    changed = false;
    emitted = true;
    if (opts.on_objects_changed) {
      std::vector<api::ConfigMap> cms;
      std::vector<api::Secret> secrets;
      for (const auto& [full, e] : files) {
        cms.insert(cms.end(), e.config_maps.begin(), e.config_maps.end());
        secrets.insert(secrets.end(), e.secrets.begin(), e.secrets.end());
      }
      if (!objects_emitted || cms != last_config_maps || secrets != last_secrets) {
        objects_emitted = true;
        last_config_maps = std::move(cms);
        last_secrets = std::move(secrets);
        opts.on_objects_changed();
      }
    }
    last_pods = AllPods();
    ++stats.callbacks;
    on_pods(kSourceFile, last_pods);
  }
};

FileSource::FileSource(uv_loop_t* loop, Options opts, SourceCallback on_pods)
    : impl_(std::make_unique<Impl>(loop, std::move(opts), std::move(on_pods))) {}

FileSource::~FileSource() { Stop(); }

Result<void> FileSource::Start() {
  Impl& s = *impl_;
  if (s.running) return Ok();
  if (s.path.empty()) return Invalid("manifest path is empty");
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return ErrnoError("inotify_init1");
  s.inotify = UniqueFd(fd);

  int rc = uv_poll_init(s.loop, s.poll.Allocate(), fd);
  if (rc != 0) return Error(std::string("uv_poll_init: ") + uv_strerror(rc));
  s.poll.MarkInitialized();
  s.poll.get()->data = &s;
  rc = uv_timer_init(s.loop, s.tick.Allocate());
  if (rc != 0) return Error(std::string("uv_timer_init: ") + uv_strerror(rc));
  s.tick.MarkInitialized();
  s.tick.get()->data = &s;
  rc = uv_timer_init(s.loop, s.flush.Allocate());
  if (rc != 0) return Error(std::string("uv_timer_init: ") + uv_strerror(rc));
  s.flush.MarkInitialized();
  s.flush.get()->data = &s;

  s.running = true;
  uv_poll_start(s.poll.get(), UV_READABLE, &Impl::OnReadable);
  uint64_t interval = std::max<uint64_t>(
      1, std::chrono::duration_cast<std::chrono::milliseconds>(s.opts.check_interval).count());
  uv_timer_start(s.tick.get(), &Impl::OnTick, interval, interval);
  s.ScheduleRescan(uv_now(s.loop));  // first scan on the next loop iteration
  s.ArmFlush();
  log::Info("watching manifest path", {{"path", s.path}});
  return Ok();
}

void FileSource::Stop() {
  Impl& s = *impl_;
  s.running = false;
  s.poll.Close();
  s.tick.Close();
  s.flush.Close();
  s.dir_wd = -1;
  s.parent_wd = -1;
  s.inotify.reset();
}

std::vector<api::ConfigMap> FileSource::ConfigMaps() const {
  std::vector<api::ConfigMap> out;
  for (const auto& [full, e] : impl_->files)
    out.insert(out.end(), e.config_maps.begin(), e.config_maps.end());
  return out;
}

std::vector<api::Secret> FileSource::Secrets() const {
  std::vector<api::Secret> out;
  for (const auto& [full, e] : impl_->files)
    out.insert(out.end(), e.secrets.begin(), e.secrets.end());
  return out;
}

std::vector<api::Pod> FileSource::Pods() const { return impl_->last_pods; }

const FileSource::Stats& FileSource::stats() const { return impl_->stats; }

}  // namespace nanolet::config
