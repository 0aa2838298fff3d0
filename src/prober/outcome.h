#pragma once
// The outcome of one probe run (upstream probe.Result plus its output).
#include <functional>
#include <string>

namespace nanolet::prober {

struct ProbeOutcome {
  // kWarning counts as a success (a redirect to another host); kUnknown is an error that leaves the
  // result unchanged (as upstream: "Prober error, throw away the result"), e.g. a port name that
  // the container does not declare.
  enum class Kind { kSuccess, kWarning, kFailure, kUnknown };
  Kind kind = Kind::kUnknown;
  std::string output;  // the response body / command output / error, at most kMaxOutput bytes

  static ProbeOutcome Success(std::string o = {}) { return {Kind::kSuccess, std::move(o)}; }
  static ProbeOutcome Warning(std::string o) { return {Kind::kWarning, std::move(o)}; }
  static ProbeOutcome Failure(std::string o) { return {Kind::kFailure, std::move(o)}; }
  static ProbeOutcome Unknown(std::string o) { return {Kind::kUnknown, std::move(o)}; }
};

// As upstream maxRespBodyLength / exec output limit.
inline constexpr size_t kMaxProbeOutput = 10 * 1024;

using ProbeDone = std::function<void(ProbeOutcome)>;

}  // namespace nanolet::prober
