#include "util/timefmt.h"

#include <cmath>
#include <cstdio>
#include <ctime>

namespace nanolet {

Result<Duration> ParseDuration(std::string_view s) {
  std::string orig(s);
  if (s.empty()) return Invalid("invalid duration \"\"");
  bool neg = false;
  if (s[0] == '-' || s[0] == '+') {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return Duration(0);
  if (s.empty()) return Invalid("invalid duration \"" + orig + "\"");
  long double total = 0;
  while (!s.empty()) {
    size_t i = 0;
    long double v = 0;
    bool digits = false;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      v = v * 10 + (s[i] - '0');
      ++i;
      digits = true;
    }
    if (i < s.size() && s[i] == '.') {
      ++i;
      long double scale = 0.1;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        v += (s[i] - '0') * scale;
        scale /= 10;
        ++i;
        digits = true;
      }
    }
    if (!digits) return Invalid("invalid duration \"" + orig + "\"");
    size_t j = i;
    while (j < s.size() && !(s[j] >= '0' && s[j] <= '9') && s[j] != '.') ++j;
    std::string_view unit = s.substr(i, j - i);
    long double mult;
    if (unit == "ns") mult = 1;
    else if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") mult = 1e3;
    else if (unit == "ms") mult = 1e6;
    else if (unit == "s") mult = 1e9;
    else if (unit == "m") mult = 60e9;
    else if (unit == "h") mult = 3600e9;
    else if (unit.empty()) return Invalid("missing unit in duration \"" + orig + "\"");
    else return Invalid("unknown unit \"" + std::string(unit) + "\" in duration \"" + orig + "\"");
    total += v * mult;
    if (total > 9.2e18) return Invalid("invalid duration \"" + orig + "\"");
    s.remove_prefix(j);
  }
  auto ns = static_cast<int64_t>(std::llround(total));
  return Duration(neg ? -ns : ns);
}

std::string FormatDuration(Duration d) {
  int64_t ns = d.count();
  if (ns == 0) return "0s";
  std::string sign = ns < 0 ? "-" : "";
  uint64_t u = ns < 0 ? -static_cast<uint64_t>(ns) : static_cast<uint64_t>(ns);
  char buf[64];
  if (u < 1000000000ULL) {
    if (u < 1000) {
      std::snprintf(buf, sizeof buf, "%lluns", static_cast<unsigned long long>(u));
    } else if (u < 1000000) {
      std::snprintf(buf, sizeof buf, "%gµs", u / 1e3);
    } else {
      std::snprintf(buf, sizeof buf, "%gms", u / 1e6);
    }
    return sign + buf;
  }
  uint64_t h = u / 3600000000000ULL;
  u %= 3600000000000ULL;
  uint64_t m = u / 60000000000ULL;
  u %= 60000000000ULL;
  std::string out = sign;
  if (h) out += std::to_string(h) + "h";
  if (h || m) out += std::to_string(m) + "m";
  uint64_t sec = u / 1000000000ULL, frac = u % 1000000000ULL;
  out += std::to_string(sec);
  if (frac) {
    std::snprintf(buf, sizeof buf, ".%09llu", static_cast<unsigned long long>(frac));
    std::string f(buf);
    while (f.back() == '0') f.pop_back();
    out += f;
  }
  out += "s";
  return out;
}

namespace {
std::string Format(TimePoint t, int digits) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  time_t secs = static_cast<time_t>(ns / 1000000000);
  long frac = static_cast<long>(ns % 1000000000);
  if (frac < 0) {
    frac += 1000000000;
    --secs;
  }
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[64];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out(buf, n);
  if (digits == 9) {
    std::snprintf(buf, sizeof buf, ".%09ld", frac);
    out += buf;
  } else if (digits == 6) {
    std::snprintf(buf, sizeof buf, ".%06ld", frac / 1000);
    out += buf;
  }
  out += "Z";
  return out;
}
}  // namespace

std::string FormatRFC3339(TimePoint t) { return Format(t, 0); }
std::string FormatRFC3339Nano(TimePoint t) { return Format(t, 9); }
std::string FormatRFC3339Micro(TimePoint t) { return Format(t, 6); }

Result<TimePoint> ParseRFC3339(std::string_view s) {
  std::string str(s);
  int Y, M, D, h, m, sec;
  int consumed = 0;
  if (std::sscanf(str.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &Y, &M, &D, &h, &m, &sec, &consumed) != 6 ||
      consumed != 19) {
    return Invalid("invalid RFC 3339 time \"" + str + "\"");
  }
  size_t i = 19;
  long frac_ns = 0;
  if (i < str.size() && str[i] == '.') {
    ++i;
    long scale = 100000000;
    while (i < str.size() && str[i] >= '0' && str[i] <= '9') {
      frac_ns += (str[i] - '0') * scale;
      scale /= 10;
      ++i;
    }
  }
  long offset = 0;
  if (i < str.size() && (str[i] == 'Z' || str[i] == 'z')) {
    ++i;
  } else if (i < str.size() && (str[i] == '+' || str[i] == '-')) {
    int oh, om;
    if (std::sscanf(str.c_str() + i + 1, "%2d:%2d", &oh, &om) != 2) {
      return Invalid("invalid RFC 3339 time \"" + str + "\"");
    }
    offset = (oh * 3600 + om * 60) * (str[i] == '+' ? 1 : -1);
    i += 6;
  } else {
    return Invalid("invalid RFC 3339 time \"" + str + "\"");
  }
  if (i != str.size()) return Invalid("invalid RFC 3339 time \"" + str + "\"");
  struct tm tm = {};
  tm.tm_year = Y - 1900;
  tm.tm_mon = M - 1;
  tm.tm_mday = D;
  tm.tm_hour = h;
  tm.tm_min = m;
  tm.tm_sec = sec;
  time_t t = timegm(&tm) - offset;
  // A TimePoint counts nanoseconds in 64 bits (years 1678 to 2261); a log line or manifest may carry any
  // year (found by fuzz/fuzz_logs: year 3785 overflowed the conversion).
  constexpr time_t kMaxSeconds = 9223372035;
  if (t < -kMaxSeconds || t > kMaxSeconds) return Invalid("RFC 3339 time out of range \"" + str + "\"");
  return std::chrono::system_clock::from_time_t(t) +
         std::chrono::duration_cast<TimePoint::duration>(std::chrono::nanoseconds(frac_ns));
}

}  // namespace nanolet
