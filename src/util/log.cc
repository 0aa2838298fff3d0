#include "util/log.h"

#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <ctime>

namespace nanolet::log {
namespace {
std::atomic<int> g_verbosity{0};

void AppendQuoted(std::string& out, std::string_view v) {
  out.push_back('"');
  for (char c : v) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(c));
          out += buf;
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}
}  // namespace

void SetVerbosity(int v) { g_verbosity.store(v, std::memory_order_relaxed); }
int Verbosity() { return g_verbosity.load(std::memory_order_relaxed); }
bool Enabled(int v) { return Verbosity() >= v; }

void Write(Level level, std::string_view msg, std::initializer_list<KV> kvs) {
  struct timeval tv;
  gettimeofday(&tv, nullptr);
  struct tm tm;
  localtime_r(&tv.tv_sec, &tm);
  char head[64];
  char letter = level == Level::kError ? 'E' : level == Level::kWarning ? 'W' : 'I';
  std::snprintf(head, sizeof head, "%c%02d%02d %02d:%02d:%02d.%06ld ", letter, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long>(tv.tv_usec));
  std::string line(head);
  AppendQuoted(line, msg);
  for (const auto& [k, v] : kvs) {
    line.push_back(' ');
    line.append(k);
    line.push_back('=');
    AppendQuoted(line, v);
  }
  line.push_back('\n');
  // One write(2) per line keeps lines from interleaving across threads.
  ssize_t off = 0;
  while (off < static_cast<ssize_t>(line.size())) {
    ssize_t n = ::write(STDERR_FILENO, line.data() + off, line.size() - off);
    if (n <= 0) break;
    off += n;
  }
}

}  // namespace nanolet::log
