#include "server/container_logs.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>

#include "util/fs.h"
#include "util/strings.h"
#include "util/timefmt.h"

namespace nanolet::server {
namespace {

Result<bool> ParseBool(const std::string& name, const std::string& v) {
  if (v.empty() || v == "true" || v == "1" || v == "True" || v == "TRUE" || v == "t") return true;
  if (v == "false" || v == "0" || v == "False" || v == "FALSE" || v == "f") return false;
  return Invalid(name + ": invalid boolean \"" + v + "\"");
}

Result<int64_t> ParseNonNegative(const std::string& name, const std::string& v) {
  int64_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || p != v.data() + v.size() || n < 0) {
    return Invalid(name + ": must be a non-negative integer, got \"" + v + "\"");
  }
  return n;
}

bool ValidName(const std::string& s) {
  return !s.empty() && s != "." && s != ".." && s.find('/') == std::string::npos &&
         s.find('\0') == std::string::npos && s.find("..") == std::string::npos;
}

// n of "<n>.log", or -1.
int LogNumber(const std::string& name) {
  if (!EndsWith(name, ".log") || name.size() < 5) return -1;
  int n = 0;
  auto [p, ec] = std::from_chars(name.data(), name.data() + name.size() - 4, n);
  if (ec != std::errc() || p != name.data() + name.size() - 4 || n < 0) return -1;
  return n;
}

// Log numbers present in `dir`, ascending.
std::vector<int> LogNumbers(const std::string& dir) {
  std::vector<int> out;
  auto names = ListDir(dir);
  if (!names.ok()) return out;
  for (const auto& n : *names) {
    int k = LogNumber(n);
    if (k >= 0) out.push_back(k);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Offset of the start of the last `n` lines of fd (whose size is `size`).
off_t TailOffset(int fd, off_t size, int64_t n) {
  if (n <= 0) return size;
  char buf[65536];
  off_t end = size;
  int64_t newlines = 0;
  // A final newline ends the last line; it does not start a new one.
  bool skip_last = false;
  if (size > 0) {
    char c;
    skip_last = ::pread(fd, &c, 1, size - 1) == 1 && c == '\n';
  }
  while (end > 0) {
    off_t start = std::max<off_t>(0, end - static_cast<off_t>(sizeof buf));
    ssize_t got = ::pread(fd, buf, end - start, start);
    if (got <= 0) break;
    for (ssize_t i = got - 1; i >= 0; --i) {
      if (buf[i] != '\n') continue;
      if (skip_last && start + i == size - 1) continue;
      if (++newlines == n) return start + i + 1;
    }
    end = start;
  }
  return 0;
}

// Turns CRI records into output text, applying since, timestamps and limitBytes.
class Formatter {
 public:
  Formatter(const LogOptions& o, const std::function<bool(std::string_view)>& w)
      : opts_(o), write_(w) {}

  // Feeds raw bytes; complete lines are processed, a trailing fragment waits for more. False: stop.
  bool Feed(std::string_view data) {
    pending_.append(data);
    size_t start = 0;
    for (;;) {
      size_t nl = pending_.find('\n', start);
      if (nl == std::string::npos) break;
      if (!Line(std::string_view(pending_).substr(start, nl - start))) return false;
      start = nl + 1;
    }
    pending_.erase(0, start);
    if (pending_.size() > (1 << 20)) pending_.clear();  // a runaway record without newline: drop it
    return Flush(false);
  }
  // Drops an unfinished fragment (the file was rotated under it) and flushes.
  bool Finish() {
    pending_.clear();
    return Flush(true);
  }
  // Writes what is formatted so far (a follow's records as they come).
  bool FlushOut() { return Flush(true); }

 private:
  bool Line(std::string_view raw) {
    CriLine l;
    if (!ParseCriLine(raw, &l)) return true;  // as upstream: skip what does not parse
    if (opts_.since) {
      auto t = ParseRFC3339(l.timestamp);
      if (t.ok() && *t < *opts_.since) return true;
    }
    if (opts_.timestamps && at_line_start_) {
      out_.append(l.timestamp);
      out_ += ' ';
    }
    out_.append(l.content);
    if (!l.partial) out_ += '\n';
    at_line_start_ = !l.partial;
    return Flush(false);
  }
  bool Flush(bool force) {
    if (out_.empty() || (!force && out_.size() < 32768)) return true;
    if (opts_.limit_bytes) {
      int64_t left = *opts_.limit_bytes - written_;
      if (left <= 0) {
        limit_reached_ = true;
        return false;
      }
      if (static_cast<int64_t>(out_.size()) >= left) {
        out_.resize(left);
        limit_reached_ = true;
      }
    }
    written_ += out_.size();
    bool ok = write_(out_);
    out_.clear();
    return ok && !limit_reached_;
  }

  const LogOptions& opts_;
  const std::function<bool(std::string_view)>& write_;
  std::string pending_, out_;
  bool at_line_start_ = true;
  bool limit_reached_ = false;
  int64_t written_ = 0;
};

}  // namespace

Result<LogOptions> ParseLogOptions(const std::multimap<std::string, std::string>& params,
                                   TimePoint now) {
  LogOptions o;
  auto get = [&](const char* k) -> const std::string* {
    auto it = params.find(k);
    return it == params.end() ? nullptr : &it->second;
  };
  if (auto v = get("container")) o.container = *v;
  if (auto v = get("follow")) {
    ASSIGN_OR_RETURN(o.follow, ParseBool("follow", *v));
  }
  if (auto v = get("timestamps")) {
    ASSIGN_OR_RETURN(o.timestamps, ParseBool("timestamps", *v));
  }
  if (auto v = get("previous")) {
    ASSIGN_OR_RETURN(o.previous, ParseBool("previous", *v));
  }
  if (auto v = get("tailLines")) {
    ASSIGN_OR_RETURN(o.tail_lines, ParseNonNegative("tailLines", *v));
  }
  if (auto v = get("limitBytes")) {
    ASSIGN_OR_RETURN(int64_t n, ParseNonNegative("limitBytes", *v));
    if (n < 1) return Invalid("limitBytes: must be greater than 0");
    o.limit_bytes = n;
  }
  auto since_s = get("sinceSeconds");
  auto since_t = get("sinceTime");
  if (since_s && since_t)
    return Invalid("at most one of sinceTime or sinceSeconds may be specified");
  if (since_s) {
    ASSIGN_OR_RETURN(int64_t n, ParseNonNegative("sinceSeconds", *since_s));
    if (n < 1) return Invalid("sinceSeconds: must be greater than 0");
    // Beyond ~136 years every record qualifies anyway; larger values would overflow the nanosecond
    // TimePoint (found by fuzz/fuzz_logs).
    o.since = now - std::chrono::seconds(std::min<int64_t>(n, int64_t{1} << 32));
  }
  if (since_t) {
    ASSIGN_OR_RETURN(TimePoint t, ParseRFC3339(*since_t));
    o.since = t;
  }
  return o;
}

bool ParseCriLine(std::string_view line, CriLine* out) {
  size_t a = line.find(' ');
  if (a == std::string_view::npos || a == 0) return false;
  size_t b = line.find(' ', a + 1);
  if (b == std::string_view::npos) return false;
  out->timestamp = line.substr(0, a);
  out->stream = line.substr(a + 1, b - a - 1);
  if (out->stream != "stdout" && out->stream != "stderr") return false;
  size_t c = line.find(' ', b + 1);
  std::string_view tag =
      line.substr(b + 1, c == std::string_view::npos ? std::string_view::npos : c - b - 1);
  // Tags are ':'-separated; the first says partial (P) or full (F).
  std::string_view first = tag.substr(0, tag.find(':'));
  if (first != "P" && first != "F") return false;
  out->partial = first == "P";
  out->content = c == std::string_view::npos ? std::string_view() : line.substr(c + 1);
  return true;
}

Result<std::string> ResolveLogPath(const std::string& logs_dir, const api::Pod& pod,
                                   const std::string& container, bool previous) {
  const auto& m = pod.metadata;
  if (!ValidName(container)) return Invalid("invalid container name \"" + container + "\"");
  if (!ValidName(m.namespace_) || !ValidName(m.name) || !ValidName(m.uid)) {
    return Invalid("invalid pod name " + m.namespace_ + "/" + m.name);
  }
  const api::ContainerStatus* status = nullptr;
  bool known = false;
  for (const auto* list : {&pod.spec.containers, &pod.spec.init_containers}) {
    for (const auto& c : *list) known |= c.name == container;
  }
  for (const auto* list : {&pod.status.container_statuses, &pod.status.init_container_statuses}) {
    for (const auto& s : *list) {
      if (s.name == container) status = &s;
    }
  }
  if (!known && !status) {
    return NotFound("container \"" + container + "\" in pod \"" + m.name + "\" is not available");
  }
  std::string dir =
      JoinPath(JoinPath(logs_dir, m.namespace_ + "_" + m.name + "_" + m.uid), container);
  if (!IsWithin(CleanPath(logs_dir), CleanPath(dir))) return Invalid("invalid log path");
  int restarts = status ? status->restart_count : 0;
  auto nums = LogNumbers(dir);
  int want = previous ? restarts - 1 : restarts;
  if (previous && want < 0) {
    return Invalid("previous terminated container \"" + container + "\" in pod \"" + m.name +
                   "\" not found");
  }
  if (std::find(nums.begin(), nums.end(), want) == nums.end()) {
    // Fall back to what is on disk: the newest file, or the one before it for previous.
    if (nums.empty() || (previous && nums.size() < 2)) {
      return NotFound(previous ? "previous terminated container \"" + container + "\" in pod \"" +
                                     m.name + "\" not found"
                               : "container \"" + container + "\" in pod \"" + m.name +
                                     "\" has no logs yet");
    }
    want = previous ? nums[nums.size() - 2] : nums.back();
  }
  return JoinPath(dir, std::to_string(want) + ".log");
}

Result<void> StreamLog(const std::string& path, const LogOptions& opts,
                       const std::function<bool(std::string_view)>& write,
                       const std::function<bool()>& keep_going,
                       std::chrono::milliseconds poll_every) {
  std::string cur = path;
  UniqueFd fd(::open(cur.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoError("open " + cur);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoError("stat " + cur);
  off_t off = opts.tail_lines ? TailOffset(fd.get(), st.st_size, *opts.tail_lines) : 0;
  if (::lseek(fd.get(), off, SEEK_SET) < 0) return ErrnoError("seek " + cur);
  Formatter f(opts, write);
  char buf[65536];
  auto drain = [&]() -> bool {  // reads to EOF; false: stop streaming
    for (;;) {
      ssize_t n = ::read(fd.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return true;
      if (!f.Feed(std::string_view(buf, n))) return false;
    }
  };
  if (!drain()) return Ok();
  if (!opts.follow) {
    (void)f.Finish();
    return Ok();
  }
  if (!f.FlushOut()) return Ok();

  std::string dir = cur.substr(0, cur.rfind('/'));
  int cur_num = LogNumber(cur.substr(cur.rfind('/') + 1));
  UniqueFd ino(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  if (ino.valid()) {
    ::inotify_add_watch(ino.get(), dir.c_str(),
                        IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE);
  }
  while (keep_going()) {
    if (ino.valid()) {
      struct pollfd p = {ino.get(), POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(poll_every.count())) > 0) {
        char evbuf[4096];
        while (::read(ino.get(), evbuf, sizeof evbuf) > 0) {
        }
      }
    } else {
      struct pollfd p = {-1, 0, 0};
      ::poll(&p, 0, static_cast<int>(poll_every.count()));  // no inotify: plain polling
    }
    if (!drain() || !f.FlushOut()) return Ok();
    // Rotation: the path now names another file (or none yet); a restart: a newer <n>.log.
    std::string next;
    struct stat ps;
    if (::stat(cur.c_str(), &ps) == 0) {
      if (ps.st_ino != st.st_ino || ps.st_dev != st.st_dev) next = cur;
    }
    if (next.empty() && cur_num >= 0) {
      auto nums = LogNumbers(dir);
      if (!nums.empty() && nums.back() > cur_num) {
        next = JoinPath(dir, std::to_string(nums.back()) + ".log");
        cur_num = nums.back();
      }
    }
    if (next.empty()) continue;
    if (!drain() || !f.Finish()) return Ok();
    UniqueFd nfd(::open(next.c_str(), O_RDONLY | O_CLOEXEC));
    if (!nfd.valid() || ::fstat(nfd.get(), &st) != 0) continue;
    fd = std::move(nfd);
    cur = next;
    if (!drain() || !f.Finish()) return Ok();
  }
  return Ok();
}

}  // namespace nanolet::server
