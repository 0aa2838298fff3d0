#pragma once
// Go-style durations ("500ms", "1m30s") and Kubernetes timestamps (RFC 3339, UTC).
#include <string>
#include <string_view>

#include "util/clock.h"
#include "util/result.h"

namespace nanolet {

// Parses a Go time.ParseDuration string: [-+]?([0-9]*(\.[0-9]*)?(ns|us|µs|ms|s|m|h))+ or "0".
Result<Duration> ParseDuration(std::string_view s);
// Formats as Go's Duration.String() ("1m30s", "500ms", "0s").
std::string FormatDuration(Duration d);

// "2026-11-27T18:40:01Z" (metav1.Time: second precision).
std::string FormatRFC3339(TimePoint t);
// "2026-11-27T18:40:01.123456789Z" (CRI log lines, metav1.MicroTime uses 6 digits: see FormatRFC3339Micro).
std::string FormatRFC3339Nano(TimePoint t);
std::string FormatRFC3339Micro(TimePoint t);
// Parses RFC 3339 with optional fraction and a Z or ±hh:mm offset.
Result<TimePoint> ParseRFC3339(std::string_view s);

}  // namespace nanolet
