#pragma once
// A Runtime decorator that counts every call as upstream's instrumentedRuntimeService does
// (pkg/kubelet/kuberuntime/instrumented_services.go): kubelet_runtime_operations_total,
// kubelet_runtime_operations_errors_total and kubelet_runtime_operations_duration_seconds, each by
// operation_type (upstream's names: run_podsandbox, create_container, pull_image, ...).
// ImageStatus answering NotFound is not an error (CRI reports an absent image as an empty answer).
// Lives in kubelet/ because the server may not depend on the runtime; cmd/main.cc wraps the OCI
// runtime with it before handing it to the Kubelet.
#include "runtime/runtime.h"
#include "util/metrics.h"

namespace nanolet::kubelet {

class InstrumentedRuntime final : public runtime::Runtime {
 public:
  // `inner` must outlive this; `registry` null: metrics::Registry::Default().
  explicit InstrumentedRuntime(runtime::Runtime& inner, metrics::Registry* registry = nullptr);

  Result<runtime::VersionInfo> Version() override;
  Result<std::string> RunPodSandbox(const runtime::SandboxConfig& config) override;
  Result<void> StopPodSandbox(const std::string& sandbox_id) override;
  Result<void> RemovePodSandbox(const std::string& sandbox_id) override;
  Result<runtime::SandboxStatus> PodSandboxStatus(const std::string& sandbox_id) override;
  Result<std::vector<runtime::SandboxStatus>> ListPodSandboxes() override;
  Result<std::string> CreateContainer(const std::string& sandbox_id,
                                      const runtime::ContainerConfig& config,
                                      const runtime::SandboxConfig& sandbox_config) override;
  Result<void> StartContainer(const std::string& container_id) override;
  Result<void> StopContainer(const std::string& container_id,
                             std::chrono::milliseconds grace) override;
  Result<void> RemoveContainer(const std::string& container_id) override;
  Result<runtime::ContainerStatus> GetContainerStatus(const std::string& container_id) override;
  Result<std::vector<runtime::ContainerStatus>> ListContainers() override;
  Result<std::vector<runtime::SandboxStatus>> ListPodSandboxesOf(const std::string& pod_uid) override;
  Result<std::vector<runtime::ContainerStatus>> ListContainersOf(const std::string& pod_uid) override;
  uint64_t StateGeneration() override { return inner_.StateGeneration(); }
  Result<runtime::ExecResult> ExecSync(const std::string& container_id,
                                       const std::vector<std::string>& cmd,
                                       std::chrono::milliseconds timeout) override;
  Result<runtime::ImageInfo> ImageStatus(const std::string& ref) override;
  Result<runtime::ImageInfo> PullImage(const std::string& ref,
                                       const runtime::PullAuth& auth) override;
  Result<std::vector<runtime::ImageInfo>> ListImages() override;
  Result<void> RemoveImage(const std::string& ref) override;
  void SetEventHandler(std::function<void(const runtime::ContainerEvent&)> handler) override;

 private:
  template <class F>
  auto Record(const char* op, F&& call, bool not_found_ok = false) -> decltype(call());

  runtime::Runtime& inner_;
  metrics::CounterFamily& total_;
  metrics::CounterFamily& errors_;
  metrics::HistogramFamily& duration_;
};

}  // namespace nanolet::kubelet
