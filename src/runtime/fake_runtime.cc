#include "runtime/fake_runtime.h"

#include <algorithm>
#include <chrono>
#include <iterator>

#include "util/strings.h"

namespace nanolet::runtime {
namespace {

constexpr const char* kPodUIDLabel = "io.kubernetes.pod.uid";
constexpr const char* kContainerNameLabel = "io.kubernetes.container.name";

std::string Label(const Labels& l, const char* key) {
  auto it = l.find(key);
  return it == l.end() ? std::string() : it->second;
}

}  // namespace

FakeRuntime::FakeRuntime(const Clock& clock) : clock_(clock) {}
FakeRuntime::~FakeRuntime() = default;

void FakeRuntime::AddImage(const std::string& ref, const std::string& id) {
  std::lock_guard<std::mutex> l(mu_);
  ImageInfo info;
  info.id = id.empty() ? "sha256:" + Sha256Hex(ref) : id;
  info.repo_tags = {ref};
  images_[ref] = info;
}

void FakeRuntime::RemoveImageNow(const std::string& ref) {
  std::lock_guard<std::mutex> l(mu_);
  images_.erase(ref);
}

void FakeRuntime::SetPullError(const std::string& ref, Error err) {
  std::lock_guard<std::mutex> l(mu_);
  pull_errors_.insert_or_assign(ref, std::move(err));
}

void FakeRuntime::ClearPullError(const std::string& ref) {
  std::lock_guard<std::mutex> l(mu_);
  pull_errors_.erase(ref);
}

void FakeRuntime::InjectError(const std::string& method, Error err, int times) {
  std::lock_guard<std::mutex> l(mu_);
  for (int i = 0; i < times; ++i) injected_[method].push_back(err);
}

void FakeRuntime::SetStopExitCode(int32_t code) {
  std::lock_guard<std::mutex> l(mu_);
  stop_exit_code_ = code;
}

std::optional<Error> FakeRuntime::Enter(const std::string& method, const std::string& arg) {
  calls_.push_back(arg.empty() ? method : method + " " + arg);
  // Conservative: every call that may change state is a change (StateGeneration).
  static const char* const kReads[] = {"Version",        "PodSandboxStatus", "ListPodSandboxes", "GetContainerStatus",
                                       "ListContainers", "ExecSync",         "ImageStatus",      "ListImages"};
  if (std::none_of(std::begin(kReads), std::end(kReads), [&](const char* r) { return method == r; })) ++generation_;
  auto it = injected_.find(method);
  if (it == injected_.end() || it->second.empty()) return std::nullopt;
  Error e = it->second.front();
  it->second.pop_front();
  return e;
}

void FakeRuntime::Emit(const ContainerEvent& ev) {
  std::function<void(const ContainerEvent&)> h;
  {
    std::lock_guard<std::mutex> l(mu_);
    h = handler_;
  }
  if (h) h(ev);
}

bool FakeRuntime::ExitContainer(const std::string& id, int32_t exit_code, std::string reason,
                                std::string message) {
  ContainerEvent ev;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = containers_.find(id);
    if (it == containers_.end() || it->second.state != ContainerState::kRunning) return false;
    ContainerStatus& c = it->second;
    ++generation_;
    c.state = ContainerState::kExited;
    c.exit_code = exit_code;
    c.finished_at = clock_.Now();
    c.reason = !reason.empty() ? std::move(reason) : (exit_code == 0 ? "Completed" : "Error");
    c.message = std::move(message);
    c.pid = 0;
    ev = {ContainerEvent::Type::kExited, c.id, c.sandbox_id, Label(c.labels, kPodUIDLabel), c.finished_at};
  }
  Emit(ev);
  return true;
}

bool FakeRuntime::KillSandbox(const std::string& sandbox_id, const std::string& network_error) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = sandboxes_.find(sandbox_id);
  if (it == sandboxes_.end()) return false;
  ++generation_;
  it->second.state = SandboxState::kNotReady;
  it->second.network_error = network_error;
  return true;
}

std::vector<std::string> FakeRuntime::Calls() const {
  std::lock_guard<std::mutex> l(mu_);
  return calls_;
}

void FakeRuntime::ClearCalls() {
  std::lock_guard<std::mutex> l(mu_);
  calls_.clear();
}

std::optional<ContainerStatus> FakeRuntime::FindContainer(const std::string& pod_uid,
                                                          const std::string& name) const {
  std::lock_guard<std::mutex> l(mu_);
  const ContainerStatus* best = nullptr;
  for (const auto& [id, c] : containers_) {
    if (Label(c.labels, kPodUIDLabel) != pod_uid) continue;
    std::string n = Label(c.labels, kContainerNameLabel);
    if ((n.empty() ? c.name : n) != name) continue;
    if (best == nullptr || c.created_at > best->created_at ||
        (c.created_at == best->created_at && c.attempt > best->attempt)) {
      best = &c;
    }
  }
  if (best == nullptr) return std::nullopt;
  return *best;
}

size_t FakeRuntime::RunningContainerCount() const {
  std::lock_guard<std::mutex> l(mu_);
  size_t n = 0;
  for (const auto& [id, c] : containers_) n += c.state == ContainerState::kRunning;
  return n;
}

Result<VersionInfo> FakeRuntime::Version() {
  std::lock_guard<std::mutex> l(mu_);
  if (auto e = Enter("Version", "")) return *e;
  return VersionInfo{"fake", "0.0.1"};
}

Result<std::string> FakeRuntime::RunPodSandbox(const SandboxConfig& config) {
  std::lock_guard<std::mutex> l(mu_);
  if (auto e = Enter("RunPodSandbox", config.pod_uid)) return *e;
  SandboxStatus s;
  s.id = "sb" + std::to_string(next_id_++);
  s.state = SandboxState::kReady;
  s.pod_uid = config.pod_uid;
  s.pod_name = config.pod_name;
  s.pod_namespace = config.pod_namespace;
  s.attempt = config.attempt;
  if (!config.host_network) {
    s.ip = "10.88.0." + std::to_string(next_ip_++);
    s.ips = {s.ip};
    s.network_namespace_path = "/run/netns/" + s.id;
  }
  s.created_at = clock_.Now();
  s.labels = config.labels;
  s.annotations = config.annotations;
  sandboxes_[s.id] = s;
  return s.id;
}

Result<void> FakeRuntime::StopPodSandbox(const std::string& sandbox_id) {
  std::vector<ContainerEvent> events;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (auto e = Enter("StopPodSandbox", sandbox_id)) return *e;
    auto it = sandboxes_.find(sandbox_id);
    if (it == sandboxes_.end()) return Ok();  // idempotent
    for (auto& [id, c] : containers_) {
      if (c.sandbox_id != sandbox_id || c.state != ContainerState::kRunning) continue;
      c.state = ContainerState::kExited;
      c.exit_code = stop_exit_code_;
      c.reason = stop_exit_code_ == 0 ? "Completed" : "Error";
      c.finished_at = clock_.Now();
      events.push_back({ContainerEvent::Type::kExited, c.id, c.sandbox_id, Label(c.labels, kPodUIDLabel),
                        c.finished_at});
    }
    it->second.state = SandboxState::kNotReady;
  }
  for (const auto& ev : events) Emit(ev);
  return Ok();
}

Result<void> FakeRuntime::RemovePodSandbox(const std::string& sandbox_id) {
  std::lock_guard<std::mutex> l(mu_);
  if (auto e = Enter("RemovePodSandbox", sandbox_id)) return *e;
  std::erase_if(containers_, [&](const auto& kv) { return kv.second.sandbox_id == sandbox_id; });
  sandboxes_.erase(sandbox_id);
  return Ok();
}

Result<SandboxStatus> FakeRuntime::PodSandboxStatus(const std::string& sandbox_id) {
  std::lock_guard<std::mutex> l(mu_);
  if (auto e = Enter("PodSandboxStatus", sandbox_id)) return *e;
  auto it = sandboxes_.find(sandbox_id);
  if (it == sandboxes_.end()) return NotFound("sandbox " + sandbox_id + " not found");
  return it->second;
}

Result<std::vector<SandboxStatus>> FakeRuntime::ListPodSandboxes() {
  std::lock_guard<std::mutex> l(mu_);
  if (auto e = Enter("ListPodSandboxes", "")) return *e;
  std::vector<SandboxStatus> out;
  for (const auto& [id, s] : sandboxes_) out.push_back(s);
  return out;
}

Result<std::string> FakeRuntime::CreateContainer(const std::string& sandbox_id, const ContainerConfig& config,
                                                 const SandboxConfig& sandbox_config) {
  std::lock_guard<std::mutex> l(mu_);
  if (auto e = Enter("CreateContainer", config.name)) return *e;
  auto sb = sandboxes_.find(sandbox_id);
  if (sb == sandboxes_.end()) return NotFound("sandbox " + sandbox_id + " not found");
  if (sb->second.state != SandboxState::kReady) return Error("sandbox " + sandbox_id + " is not ready");
  auto img = images_.find(config.image);
  if (img == images_.end()) return NotFound("image \"" + config.image + "\" not found");
  ContainerStatus c;
  c.id = "c" + std::to_string(next_id_++);
  c.sandbox_id = sandbox_id;
  c.name = config.name;
  c.attempt = config.attempt;
  c.state = ContainerState::kCreated;
  c.created_at = clock_.Now();
  c.image = config.image;
  c.image_id = img->second.id;
  c.log_path = sandbox_config.log_directory + "/" + config.log_path;
  c.labels = config.labels;
  c.annotations = config.annotations;
  containers_[c.id] = c;
  return c.id;
}

Result<void> FakeRuntime::StartContainer(const std::string& container_id) {
  ContainerEvent ev;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (auto e = Enter("StartContainer", container_id)) return *e;
    auto it = containers_.find(container_id);
    if (it == containers_.end()) return NotFound("container " + container_id + " not found");
    ContainerStatus& c = it->second;
    if (c.state != ContainerState::kCreated) return Error("container " + container_id + " is not created");
    c.state = ContainerState::kRunning;
    c.started_at = clock_.Now();
    c.pid = 1000 + static_cast<int64_t>(next_id_++);
    ev = {ContainerEvent::Type::kStarted, c.id, c.sandbox_id, Label(c.labels, kPodUIDLabel), c.started_at};
  }
  Emit(ev);
  return Ok();
}

Result<void> FakeRuntime::StopContainer(const std::string& container_id, std::chrono::milliseconds grace) {
  ContainerEvent ev;
  bool emit = false;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (auto e = Enter("StopContainer", container_id)) return *e;
    auto it = containers_.find(container_id);
    if (it == containers_.end()) return NotFound("container " + container_id + " not found");
    ContainerStatus& c = it->second;
    if (c.state == ContainerState::kRunning) {
      c.state = ContainerState::kExited;
      c.exit_code = stop_exit_code_;
      c.reason = stop_exit_code_ == 0 ? "Completed" : "Error";
      c.finished_at = clock_.Now();
      ev = {ContainerEvent::Type::kExited, c.id, c.sandbox_id, Label(c.labels, kPodUIDLabel), c.finished_at};
      emit = true;
    } else if (c.state == ContainerState::kCreated) {
      c.state = ContainerState::kExited;
      c.finished_at = clock_.Now();
    }
  }
  if (emit) Emit(ev);
  return Ok();
}

Result<void> FakeRuntime::RemoveContainer(const std::string& container_id) {
  std::lock_guard<std::mutex> l(mu_);
  if (auto e = Enter("RemoveContainer", container_id)) return *e;
  containers_.erase(container_id);
  return Ok();
}

Result<ContainerStatus> FakeRuntime::GetContainerStatus(const std::string& container_id) {
  std::lock_guard<std::mutex> l(mu_);
  if (auto e = Enter("GetContainerStatus", container_id)) return *e;
  auto it = containers_.find(container_id);
  if (it == containers_.end()) return NotFound("container " + container_id + " not found");
  return it->second;
}

Result<std::vector<ContainerStatus>> FakeRuntime::ListContainers() {
  std::lock_guard<std::mutex> l(mu_);
  if (auto e = Enter("ListContainers", "")) return *e;
  std::vector<ContainerStatus> out;
  for (const auto& [id, c] : containers_) out.push_back(c);
  return out;
}

uint64_t FakeRuntime::StateGeneration() {
  std::lock_guard<std::mutex> l(mu_);
  return generation_;
}

Result<ExecResult> FakeRuntime::ExecSync(const std::string& container_id, const std::vector<std::string>& cmd,
                                         std::chrono::milliseconds timeout) {
  std::lock_guard<std::mutex> l(mu_);
  if (auto e = Enter("ExecSync", container_id)) return *e;
  auto it = containers_.find(container_id);
  if (it == containers_.end()) return NotFound("container " + container_id + " not found");
  if (it->second.state != ContainerState::kRunning) return Error("container " + container_id + " is not running");
  ExecResult r;
  r.exit_code = 0;
  return r;
}

Result<ImageInfo> FakeRuntime::ImageStatus(const std::string& ref) {
  std::lock_guard<std::mutex> l(mu_);
  if (auto e = Enter("ImageStatus", ref)) return *e;
  auto it = images_.find(ref);
  if (it == images_.end()) return NotFound("image \"" + ref + "\" not found");
  return it->second;
}

Result<ImageInfo> FakeRuntime::PullImage(const std::string& ref, const PullAuth& auth) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (auto e = Enter("PullImage", ref)) return *e;
    if (auto it = pull_errors_.find(ref); it != pull_errors_.end()) return it->second;
  }
  AddImage(ref);
  std::lock_guard<std::mutex> l(mu_);
  return images_[ref];
}

Result<std::vector<ImageInfo>> FakeRuntime::ListImages() {
  std::lock_guard<std::mutex> l(mu_);
  if (auto e = Enter("ListImages", "")) return *e;
  std::vector<ImageInfo> out;
  for (const auto& [ref, i] : images_) out.push_back(i);
  return out;
}

Result<void> FakeRuntime::RemoveImage(const std::string& ref) {
  std::lock_guard<std::mutex> l(mu_);
  if (auto e = Enter("RemoveImage", ref)) return *e;
  images_.erase(ref);
  return Ok();
}

void FakeRuntime::SetEventHandler(std::function<void(const ContainerEvent&)> handler) {
  std::lock_guard<std::mutex> l(mu_);
  handler_ = std::move(handler);
}

}  // namespace nanolet::runtime
