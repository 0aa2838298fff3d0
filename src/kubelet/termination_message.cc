#include "kubelet/termination_message.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "runtime/runtime.h"
#include "util/fs.h"

namespace nanolet::kubelet {
namespace termination_message_detail {

// The last `max` bytes of a file (upstream tail.ReadAtMost). ENOENT is reported as nullopt-like via
// `missing`.
std::string ReadTail(const std::string& path, size_t max, bool& missing, std::string& error) {
  missing = false;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) {
    if (errno == ENOENT) {
      missing = true;
    } else {
      error = std::strerror(errno);
    }
    return "";
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    error = std::strerror(errno);
    return "";
  }
  if (!S_ISREG(st.st_mode)) {
    error = "not a regular file";
    return "";
  }
  off_t size = st.st_size;
  off_t from = size > static_cast<off_t>(max) ? size - static_cast<off_t>(max) : 0;
  std::string out(static_cast<size_t>(size - from), '\0');
  size_t got = 0;
  while (got < out.size()) {
    ssize_t n =
        ::pread(fd.get(), out.data() + got, out.size() - got, from + static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = std::strerror(errno);
      return "";
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  out.resize(got);
  return out;
}

}  // namespace termination_message_detail

std::string TailCriLog(std::string_view log, size_t max_lines, size_t max_bytes) {
  std::vector<std::string_view> lines;
  size_t pos = 0;
  while (pos < log.size()) {
    size_t nl = log.find('\n', pos);
    size_t end = nl == std::string_view::npos ? log.size() : nl;
    if (end > pos) lines.push_back(log.substr(pos, end - pos));
    pos = end + 1;
  }
  size_t first = lines.size() > max_lines ? lines.size() - max_lines : 0;
  std::string out;
  for (size_t i = first; i < lines.size(); ++i) {
    std::string_view l = lines[i];
    // <time> <stream> <tag> <content>; a malformed line is skipped as upstream's parser does.
    size_t s1 = l.find(' ');
    if (s1 == std::string_view::npos) continue;
    size_t s2 = l.find(' ', s1 + 1);
    if (s2 == std::string_view::npos) continue;
    size_t s3 = l.find(' ', s2 + 1);
    std::string_view tag =
        l.substr(s2 + 1, s3 == std::string_view::npos ? std::string_view::npos : s3 - s2 - 1);
    std::string_view content = s3 == std::string_view::npos ? std::string_view() : l.substr(s3 + 1);
    out.append(content);
    if (tag != "P") out.push_back('\n');
  }
  if (out.size() > max_bytes) out.erase(0, out.size() - max_bytes);
  return out;
}

std::string ReadTerminationMessage(const runtime::ContainerStatus& c) {
  if (c.state != runtime::ContainerState::kExited) return "";
  auto get = [&](std::string_view k) {
    auto it = c.annotations.find(std::string(k));
    return it == c.annotations.end() ? std::string() : it->second;
  };
  // A container that could not even be started has no logs (upstream: reason ContainerCannotRun).
  bool fallback = get(kTerminationMessagePolicyAnnotation) == "FallbackToLogsOnError" &&
                  c.exit_code != 0 && c.reason != "ContainerCannotRun";
  bool check_logs = fallback;
  std::string msg;
  std::string file = get(kTerminationMessageFileAnnotation);
  if (!file.empty()) {
    bool missing = false;
    std::string error;
    msg = termination_message_detail::ReadTail(file, kMaxTerminationMessageLength, missing, error);
    if (!error.empty()) return "Error on reading termination log " + file + ": " + error;
    check_logs = fallback && msg.empty();
  }
  if (check_logs && !c.log_path.empty()) {
    // Enough of the file for 80 lines of up to 2048 bytes of content, with their prefixes.
    bool missing = false;
    std::string error;
    std::string log = termination_message_detail::ReadTail(c.log_path, 256 * 1024, missing, error);
    if (!error.empty()) return "Error on reading termination message from logs: " + error;
    // Drop a first line the tail cut in the middle.
    struct stat st {};
    if (::stat(c.log_path.c_str(), &st) == 0 && static_cast<size_t>(st.st_size) > log.size()) {
      size_t nl = log.find('\n');
      log = nl == std::string::npos ? std::string() : log.substr(nl + 1);
    }
    msg = TailCriLog(log, kMaxTerminationMessageLogLines, kMaxTerminationMessageLogLength);
  }
  return msg;
}

void FillTerminationMessage(runtime::ContainerStatus& c) {
  if (c.state != runtime::ContainerState::kExited) return;
  std::string t = ReadTerminationMessage(c);
  if (t.empty()) return;
  if (!c.message.empty()) c.message += ": ";
  c.message += t;
}

}  // namespace nanolet::kubelet
