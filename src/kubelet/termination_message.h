#pragma once
// The message a finished container leaves in its status, as upstream kuberuntime
// getContainerStatuses (getTerminationMessage, readLastStringFromContainerLogs):
// - the file mounted at terminationMessagePath (its host path is the container's
//   kTerminationMessageFileAnnotation): its last 4096 bytes;
// - with terminationMessagePolicy FallbackToLogsOnError, when that file is empty or missing and the
// container
//   exited non-zero: the last 80 lines of its log, at most their last 2048 bytes;
// - the text is appended to the runtime's own message ("<runtime message>: <text>").
// Reads files only; never fails (an unreadable file gives upstream's "Error on reading ..." text).
#include <cstddef>
#include <string>
#include <string_view>

namespace nanolet::runtime {
struct ContainerStatus;
}

namespace nanolet::kubelet {

inline constexpr std::string_view kTerminationMessageFileAnnotation =
    "io.kubernetes.container.terminationMessageFile";
inline constexpr std::string_view kTerminationMessagePolicyAnnotation =
    "io.kubernetes.container.terminationMessagePolicy";
inline constexpr size_t kMaxTerminationMessageLength =
    4096;  // MaxContainerTerminationMessageLength
inline constexpr size_t kMaxTerminationMessageLogLength = 2048;
inline constexpr size_t kMaxTerminationMessageLogLines = 80;

// The termination message text of an exited container (without the runtime's message), "" if none.
std::string ReadTerminationMessage(const runtime::ContainerStatus& c);
// Sets c.message as upstream for an exited container; leaves other containers alone.
void FillTerminationMessage(runtime::ContainerStatus& c);
// The content of the last `max_lines` lines of a CRI-format log ("<time> <stream> <F|P> <text>"),
// partial lines joined, newline after each full line, cut to its last `max_bytes` bytes.
std::string TailCriLog(std::string_view log, size_t max_lines, size_t max_bytes);

}  // namespace nanolet::kubelet
