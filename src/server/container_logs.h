#pragma once
// Container logs as `kubectl logs` reads them from a kubelet: the CRI log files
// `<pod-logs-dir>/<namespace>_<name>_<uid>/<container>/<restartCount>.log`, lines
// `<RFC3339Nano> stdout|stderr F|P <text>` (P: a partial line continued by the next record).
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "api/types.h"
#include "util/clock.h"
#include "util/result.h"

namespace nanolet::server {

// PodLogOptions (core/v1) as query parameters.
struct LogOptions {
  std::string container;
  bool follow = false;
  bool timestamps = false;
  bool previous = false;
  std::optional<int64_t> tail_lines;   // tailLines
  std::optional<int64_t> limit_bytes;  // limitBytes
  std::optional<TimePoint> since;      // sinceSeconds (relative to now) or sinceTime
};

// kInvalid for a non-boolean follow/timestamps/previous, negative or non-numeric numbers, both
// since forms, an unparsable sinceTime.
Result<LogOptions> ParseLogOptions(const std::multimap<std::string, std::string>& params,
                                   TimePoint now);

// One parsed record.
struct CriLine {
  std::string_view timestamp;
  std::string_view stream;
  bool partial = false;
  std::string_view content;  // without the newline
};
// False for a malformed record.
bool ParseCriLine(std::string_view line, CriLine* out);

// The file to read for `container` of `pod` (the container's restartCount, or restartCount-1 with
// previous; the highest-numbered file when that one is absent). kInvalid when a name is empty or
// contains
// '/', "..", or NUL (the result is always inside `logs_dir`); kNotFound for an unknown container or
// a missing file; previous without a restart is kInvalid ("previous terminated container ... not
// found").
Result<std::string> ResolveLogPath(const std::string& logs_dir, const api::Pod& pod,
                                   const std::string& container, bool previous);

// Writes the log to `write` (false: the client went away, stop). With follow, keeps reading
// appended records, reopening the path when it is rotated (a new inode) and moving to a newer
// <n>.log of the same container, until `keep_going` returns false (checked at least every `poll`).
Result<void> StreamLog(const std::string& path, const LogOptions& opts,
                       const std::function<bool(std::string_view)>& write,
                       const std::function<bool()>& keep_going,
                       std::chrono::milliseconds poll = std::chrono::milliseconds(200));

}  // namespace nanolet::server
