#include "kubelet/instrumented_runtime.h"

#include <chrono>

namespace nanolet::kubelet {

InstrumentedRuntime::InstrumentedRuntime(runtime::Runtime& inner, metrics::Registry* registry)
    : inner_(inner),
      total_((registry ? *registry : metrics::Registry::Default())
                 .Counter("kubelet_runtime_operations_total",
                          "Cumulative number of runtime operations by operation type.",
                          {"operation_type"})),
      errors_((registry ? *registry : metrics::Registry::Default())
                  .Counter("kubelet_runtime_operations_errors_total",
                           "Cumulative number of runtime operation errors by operation type.",
                           {"operation_type"})),
      duration_((registry ? *registry : metrics::Registry::Default())
                    .Histogram("kubelet_runtime_operations_duration_seconds",
                               "Duration in seconds of runtime operations. Broken down by "
                               "operation type.",
                               {"operation_type"}, metrics::ExponentialBuckets(0.005, 2.5, 14))) {}

template <class F>
auto InstrumentedRuntime::Record(const char* op, F&& call, bool not_found_ok) -> decltype(call()) {
  auto start = std::chrono::steady_clock::now();
  total_.With({op}).Inc();
  auto r = call();
  duration_.With({op}).Observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  if (!r.ok() && !(not_found_ok && r.error().is(ErrorCode::kNotFound))) errors_.With({op}).Inc();
  return r;
}

Result<runtime::VersionInfo> InstrumentedRuntime::Version() {
  return Record("version", [&] { return inner_.Version(); });
}
Result<std::string> InstrumentedRuntime::RunPodSandbox(const runtime::SandboxConfig& c) {
  return Record("run_podsandbox", [&] { return inner_.RunPodSandbox(c); });
}
Result<void> InstrumentedRuntime::StopPodSandbox(const std::string& id) {
  return Record("stop_podsandbox", [&] { return inner_.StopPodSandbox(id); });
}
Result<void> InstrumentedRuntime::RemovePodSandbox(const std::string& id) {
  return Record("remove_podsandbox", [&] { return inner_.RemovePodSandbox(id); });
}
Result<runtime::SandboxStatus> InstrumentedRuntime::PodSandboxStatus(const std::string& id) {
  return Record("podsandbox_status", [&] { return inner_.PodSandboxStatus(id); });
}
Result<std::vector<runtime::SandboxStatus>> InstrumentedRuntime::ListPodSandboxes() {
  return Record("list_podsandbox", [&] { return inner_.ListPodSandboxes(); });
}
Result<std::string> InstrumentedRuntime::CreateContainer(const std::string& sandbox_id,
                                                         const runtime::ContainerConfig& config,
                                                         const runtime::SandboxConfig& sc) {
  return Record("create_container", [&] { return inner_.CreateContainer(sandbox_id, config, sc); });
}
Result<void> InstrumentedRuntime::StartContainer(const std::string& id) {
  return Record("start_container", [&] { return inner_.StartContainer(id); });
}
Result<void> InstrumentedRuntime::StopContainer(const std::string& id,
                                                std::chrono::milliseconds grace) {
  return Record("stop_container", [&] { return inner_.StopContainer(id, grace); });
}
Result<void> InstrumentedRuntime::RemoveContainer(const std::string& id) {
  return Record("remove_container", [&] { return inner_.RemoveContainer(id); });
}
Result<runtime::ContainerStatus> InstrumentedRuntime::GetContainerStatus(const std::string& id) {
  return Record("container_status", [&] { return inner_.GetContainerStatus(id); });
}
Result<std::vector<runtime::ContainerStatus>> InstrumentedRuntime::ListContainers() {
  return Record("list_containers", [&] { return inner_.ListContainers(); });
}
Result<std::vector<runtime::SandboxStatus>> InstrumentedRuntime::ListPodSandboxesOf(const std::string& uid) {
  return Record("list_podsandbox", [&] { return inner_.ListPodSandboxesOf(uid); });
}
Result<std::vector<runtime::ContainerStatus>> InstrumentedRuntime::ListContainersOf(const std::string& uid) {
  return Record("list_containers", [&] { return inner_.ListContainersOf(uid); });
}
Result<runtime::ExecResult> InstrumentedRuntime::ExecSync(const std::string& id,
                                                          const std::vector<std::string>& cmd,
                                                          std::chrono::milliseconds timeout) {
  return Record("exec_sync", [&] { return inner_.ExecSync(id, cmd, timeout); });
}
Result<runtime::ImageInfo> InstrumentedRuntime::ImageStatus(const std::string& ref) {
  return Record(
      "image_status", [&] { return inner_.ImageStatus(ref); }, true);
}
Result<runtime::ImageInfo> InstrumentedRuntime::PullImage(const std::string& ref,
                                                          const runtime::PullAuth& auth) {
  return Record("pull_image", [&] { return inner_.PullImage(ref, auth); });
}
Result<std::vector<runtime::ImageInfo>> InstrumentedRuntime::ListImages() {
  return Record("list_images", [&] { return inner_.ListImages(); });
}
Result<void> InstrumentedRuntime::RemoveImage(const std::string& ref) {
  return Record("remove_image", [&] { return inner_.RemoveImage(ref); });
}
void InstrumentedRuntime::SetEventHandler(
    std::function<void(const runtime::ContainerEvent&)> handler) {
  inner_.SetEventHandler(std::move(handler));
}

}  // namespace nanolet::kubelet
