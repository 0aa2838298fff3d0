#pragma once
// An in-memory Runtime for unit tests: sandboxes and containers are records, nothing runs. Scriptable:
// images present/absent/failing to pull, a container "exits" when the test says so, any method can be made
// to fail, and every call is recorded. Times come from the Clock given at construction, so tests run on
// FakeClock in milliseconds. Thread-safe; the event handler runs synchronously on the caller's thread
// (ExitContainer, StartContainer), outside the lock.
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "runtime/runtime.h"

namespace nanolet::runtime {

class FakeRuntime final : public Runtime {
 public:
  explicit FakeRuntime(const Clock& clock);
  ~FakeRuntime() override;

  // ---- scripting ----
  // The image `ref` is present (ImageStatus finds it; containers may use it). id "" gets a made-up one.
  void AddImage(const std::string& ref, const std::string& id = "");
  void RemoveImageNow(const std::string& ref);
  // PullImage(ref) fails with `err` (until cleared); otherwise a pull makes the image present.
  void SetPullError(const std::string& ref, Error err);
  void ClearPullError(const std::string& ref);
  // The next `times` calls of `method` (e.g. "StartContainer") fail with `err`.
  void InjectError(const std::string& method, Error err, int times = 1);
  // The running container `id` exits now with `exit_code` (reason "Completed"/"Error" unless given);
  // sends a kExited event. False when no such running container.
  bool ExitContainer(const std::string& id, int32_t exit_code, std::string reason = "",
                     std::string message = "");
  // Marks a sandbox not ready (its pause process died, or with `network_error` its network failed after
  // RunPodSandbox returned) without touching its containers.
  bool KillSandbox(const std::string& sandbox_id, const std::string& network_error = "");
  // Exit code StopContainer gives a running container (default 137: SIGKILL).
  void SetStopExitCode(int32_t code);

  // ---- inspection ----
  // "Method arg" per call, in order (arg: sandbox/container id, image ref, or container name for Create).
  std::vector<std::string> Calls() const;
  void ClearCalls();
  // The newest container of pod `pod_uid` named `name` (by the io.kubernetes.* labels, else name).
  std::optional<ContainerStatus> FindContainer(const std::string& pod_uid, const std::string& name) const;
  size_t RunningContainerCount() const;

  // ---- Runtime ----
  Result<VersionInfo> Version() override;
  Result<std::string> RunPodSandbox(const SandboxConfig& config) override;
  Result<void> StopPodSandbox(const std::string& sandbox_id) override;
  Result<void> RemovePodSandbox(const std::string& sandbox_id) override;
  Result<SandboxStatus> PodSandboxStatus(const std::string& sandbox_id) override;
  Result<std::vector<SandboxStatus>> ListPodSandboxes() override;
  Result<std::string> CreateContainer(const std::string& sandbox_id, const ContainerConfig& config,
                                      const SandboxConfig& sandbox_config) override;
  Result<void> StartContainer(const std::string& container_id) override;
  Result<void> StopContainer(const std::string& container_id, std::chrono::milliseconds grace) override;
  Result<void> RemoveContainer(const std::string& container_id) override;
  Result<ContainerStatus> GetContainerStatus(const std::string& container_id) override;
  Result<std::vector<ContainerStatus>> ListContainers() override;
  uint64_t StateGeneration() override;
  Result<ExecResult> ExecSync(const std::string& container_id, const std::vector<std::string>& cmd,
                              std::chrono::milliseconds timeout) override;
  Result<ImageInfo> ImageStatus(const std::string& ref) override;
  Result<ImageInfo> PullImage(const std::string& ref, const PullAuth& auth) override;
  Result<std::vector<ImageInfo>> ListImages() override;
  Result<void> RemoveImage(const std::string& ref) override;
  void SetEventHandler(std::function<void(const ContainerEvent&)> handler) override;

 private:
  // Records the call and returns the injected error, if any. Requires mu_.
  std::optional<Error> Enter(const std::string& method, const std::string& arg);
  void Emit(const ContainerEvent& ev);

  const Clock& clock_;
  mutable std::mutex mu_;  // guards everything below
  std::map<std::string, SandboxStatus> sandboxes_;
  std::map<std::string, ContainerStatus> containers_;
  uint64_t generation_ = 1;
  std::map<std::string, ImageInfo> images_;
  std::map<std::string, Error> pull_errors_;
  std::map<std::string, std::deque<Error>> injected_;
  std::vector<std::string> calls_;
  std::function<void(const ContainerEvent&)> handler_;
  int32_t stop_exit_code_ = 137;
  uint64_t next_id_ = 1;
  uint32_t next_ip_ = 2;
};

}  // namespace nanolet::runtime
