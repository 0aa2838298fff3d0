#include "kubelet/pod_worker.h"

#include <sys/stat.h>

#include <algorithm>
#include <thread>

#include "kubelet/container_config.h"
#include "kubelet/image_pull.h"
#include "kubelet/labels.h"
#include "kubelet/lifecycle.h"
#include "kubelet/phase.h"
#include "kubelet/pod_actions.h"
#include "kubelet/pod_status.h"
#include "kubelet/restart_backoff.h"
#include "kubelet/runtime_pod.h"
#include "kubelet/termination_message.h"
#include "runtime/runtime.h"
#include "runtime/volume/volume_manager.h"
#include "util/fs.h"
#include "util/log.h"

namespace nanolet::kubelet {
namespace {

std::string PodRef(const api::Pod& pod) { return pod.metadata.namespace_ + "/" + pod.metadata.name; }

Result<RuntimePodStatus> ListPod(runtime::Runtime& rt, const std::string& uid) {
  ASSIGN_OR_RETURN(auto sandboxes, rt.ListPodSandboxesOf(uid));
  ASSIGN_OR_RETURN(auto containers, rt.ListContainersOf(uid));
  RuntimePodStatus rps = RuntimePodStatus::Build(uid, sandboxes, containers);
  for (auto& c : rps.containers) FillTerminationMessage(c);
  return rps;
}

const api::Container* FindSpec(const api::Pod& pod, const std::string& name) {
  for (const auto& c : pod.spec.init_containers) {
    if (c.name == name) return &c;
  }
  for (const auto& c : pod.spec.containers) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

bool IsTerminalPhase(const std::string& phase) { return phase == "Succeeded" || phase == "Failed"; }

std::string ContainerEventPath(const api::Pod& pod, const std::string& name) {
  bool init = false;
  for (const auto& c : pod.spec.init_containers) init = init || c.name == name;
  return api::ContainerFieldPath(name, init);
}

// Upstream's events (pkg/kubelet/events) on the pod, or on one of its containers when `container` is set.
void RecordPodEvent(api::EventSink* sink, const api::Pod& pod, const char* type, const char* reason,
                    const std::string& message, const std::string& container = "") {
  if (sink) sink->Record(pod, type, reason, message, container.empty() ? "" : ContainerEventPath(pod, container));
}

}  // namespace

PodSyncer::PodSyncer(const PodSyncOptions& opts, runtime::Runtime& rt, const Clock& clock)
    : opts_(opts),
      rt_(rt),
      clock_(clock),
      crash_backoff_(clock, kCrashLoopBackOffInitial, kCrashLoopBackOffMax),
      pull_backoff_(clock, kImagePullBackOffInitial, kImagePullBackOffMax),
      sandbox_backoff_(clock, std::chrono::seconds(1), std::chrono::seconds(60)) {}

ReasonCache PodSyncer::Reasons(const std::string& uid) {
  std::lock_guard<std::mutex> l(mu_);
  return reasons_[uid];
}

void PodSyncer::SetReasons(const std::string& uid, ReasonCache reasons) {
  std::lock_guard<std::mutex> l(mu_);
  reasons_[uid] = std::move(reasons);
}

void PodSyncer::Forget(const std::string& uid) {
  std::lock_guard<std::mutex> l(mu_);
  reasons_.erase(uid);
  counted_sandbox_failure_.erase(uid);
}

api::PodStatus PodSyncer::Status(const api::Pod& pod, const SyncRequest& req, const ReasonCache& reasons,
                                 bool terminal) {
  RuntimePodStatus rps;
  if (auto r = ListPod(rt_, pod.metadata.uid); r.ok()) rps = std::move(*r);
  PodStatusContext ctx;
  ctx.previous = &req.previous_status;
  ctx.reasons = &reasons;
  ctx.probes = &req.probes;
  ctx.host_ips = opts_.host_ips;
  ctx.pod_is_terminal = terminal;
  ctx.now = clock_.Now();
  ctx.first_seen = req.first_seen;
  return GeneratePodStatus(pod, rps, ctx);
}

SyncResult PodSyncer::Sync(const SyncRequest& req) {
  const api::Pod& pod = req.pod;
  const std::string& uid = pod.metadata.uid;
  SyncResult res;
  ReasonCache reasons = Reasons(uid);
  auto finish = [&](bool terminal) {
    SetReasons(uid, reasons);
    res.status = Status(pod, req, reasons, terminal);
    // activeDeadlineSeconds: sync again when the deadline passes (upstream's activeDeadlineHandler
    // makes the pod worker resync it then), not only at the next resync.
    if (!terminal && pod.spec.active_deadline_seconds && req.first_seen != TimePoint{}) {
      TimePoint deadline = req.first_seen + std::chrono::seconds(*pod.spec.active_deadline_seconds);
      Duration left = deadline - clock_.Now();
      if (left < std::chrono::milliseconds(1)) left = std::chrono::milliseconds(1);
      if (!res.requeue_after || left < *res.requeue_after) res.requeue_after = left;
    }
    return res;
  };

  // activeDeadlineSeconds: the pod fails with DeadlineExceeded and its containers are killed.
  if (PastActiveDeadline(pod, req.first_seen, clock_.Now()) || IsTerminalPhase(req.previous_status.phase)) {
    KillPod(pod, std::nullopt, false);
    res.finished = true;
    return finish(true);
  }

  auto listed = ListPod(rt_, uid);
  if (!listed.ok()) {
    res.error = listed.error().message();
    res.requeue_after = std::chrono::seconds(1);
    return finish(false);
  }
  RuntimePodStatus rps = std::move(*listed);
  PodActions actions = ComputePodActions(pod, rps, req.probes);
  log::V(4, "sync pod", {{"pod", PodRef(pod)}, {"actions", actions.String()}});

  if (actions.kill_pod) {
    bool done = !actions.create_sandbox && actions.containers_to_start.empty() &&
                actions.init_containers_to_start.empty();
    if (done && req.early_status) {
      // Every container has ended: report it now; stopping the sandbox (CNI DEL) takes tens of ms.
      req.early_status(Status(pod, req, reasons, true));
    }
    KillPod(pod, std::nullopt, false);
    if (done) {
      // Every container is done under the restart policy: the pod is terminal.
      res.finished = true;
      return finish(true);
    }
  }

  std::string sandbox_id = actions.sandbox_id;
  PodContext ctx;
  ctx.node_name = opts_.node_name;
  ctx.pod_logs_dir = opts_.pod_logs_dir;
  ctx.host_ip = opts_.host_ips.empty() ? "" : opts_.host_ips[0];
  if (const volume::ObjectProvider* objects = opts_.objects) {
    // env from ConfigMap `data` (not binaryData) and Secret data, as upstream.
    ctx.config_map = [objects](const std::string& ns, const std::string& name)
        -> Result<std::map<std::string, std::string>> {
      ASSIGN_OR_RETURN(api::ConfigMap cm, objects->GetConfigMap(ns, name));
      return std::map<std::string, std::string>(cm.data.begin(), cm.data.end());
    };
    ctx.secret = [objects](const std::string& ns, const std::string& name)
        -> Result<std::map<std::string, std::string>> {
      ASSIGN_OR_RETURN(api::Secret s, objects->GetSecret(ns, name));
      return s.data;
    };
  }
  runtime::SandboxConfig sandbox_config = MakeSandboxConfig(pod, actions.sandbox_attempt, ctx);
  const std::string sandbox_key = uid + "/sandbox";
  // A sandbox that could not be created, or whose network failed after it was (the fast path): back off
  // and say why on every container waiting for it (upstream: a FailedCreatePodSandBox event while the
  // containers wait in ContainerCreating).
  auto sandbox_failed = [&](const std::string& message, const std::string& failed_sandbox_id = "") {
    if (!failed_sandbox_id.empty()) {
      std::lock_guard<std::mutex> l(mu_);
      counted_sandbox_failure_[uid] = failed_sandbox_id;
    }
    sandbox_backoff_.Next(sandbox_key, clock_.Now());
    res.error = "create pod sandbox: " + message;
    log::Error("failed to create pod sandbox", {{"pod", PodRef(pod)}, {"error", message}});
    RecordPodEvent(opts_.events, pod, api::kEventWarning, "FailedCreatePodSandBox", "Failed to create pod sandbox: " + message);
    const std::string_view waiting =
        pod.spec.init_containers.empty() ? kReasonContainerCreating : kReasonPodInitializing;
    for (const auto* list : {&actions.init_containers_to_start, &actions.containers_to_start}) {
      for (const auto& s : *list) reasons[s.name] = {std::string(waiting), "Failed to create pod sandbox: " + message};
    }
    res.requeue_after = sandbox_backoff_.Get(sandbox_key);
  };
  if (actions.create_sandbox && !actions.sandbox_id.empty()) {
    // The sandbox to replace lost its network after RunPodSandbox returned (the fast path) and no container
    // start saw it (e.g. every container was in backoff): a sandbox failure all the same, counted once per
    // sandbox, or the pod would replace sandboxes as fast as CNI fails.
    for (const auto& s : rps.sandboxes) {
      if (s.id != actions.sandbox_id || s.network_error.empty()) continue;
      bool counted;
      {
        std::lock_guard<std::mutex> l(mu_);
        auto it = counted_sandbox_failure_.find(uid);
        counted = it != counted_sandbox_failure_.end() && it->second == s.id;
      }
      if (!counted) {
        sandbox_failed("set up pod network: " + s.network_error, s.id);
        return finish(false);
      }
    }
  }
  if (actions.create_sandbox) {
    const std::string& key = sandbox_key;
    if (sandbox_backoff_.IsInBackOffSinceUpdate(key, clock_.Now())) {
      res.requeue_after = sandbox_backoff_.Get(key);
      return finish(false);
    }
    if (!actions.sandbox_id.empty()) RecordPodEvent(opts_.events, pod, api::kEventNormal, "SandboxChanged", "Pod sandbox changed, it will be killed and re-created.");
    auto sid = rt_.RunPodSandbox(sandbox_config);
    if (!sid.ok()) {
      sandbox_failed(sid.error().message());
      return finish(false);
    }
    sandbox_id = *sid;
    if (auto relisted = ListPod(rt_, uid); relisted.ok()) rps = std::move(*relisted);
  }
  if (auto sb = rt_.PodSandboxStatus(sandbox_id); sb.ok()) {
    ctx.pod_ip = sb->ip;
    ctx.pod_ips = sb->ips;
  }
  if (pod.spec.host_network) {
    ctx.pod_ip = ctx.host_ip;
    ctx.pod_ips = opts_.host_ips;
  }

  for (const auto& k : actions.containers_to_kill) {
    const api::Container* spec = FindSpec(pod, k.name);
    int64_t grace = pod.spec.termination_grace_period_seconds.value_or(30);
    if (spec && k.reason == kKillReasonLivenessProbe && spec->liveness_probe &&
        spec->liveness_probe->termination_grace_period_seconds) {
      grace = *spec->liveness_probe->termination_grace_period_seconds;
    }
    if (spec && k.reason == kKillReasonStartupProbe && spec->startup_probe &&
        spec->startup_probe->termination_grace_period_seconds) {
      grace = *spec->startup_probe->termination_grace_period_seconds;
    }
    log::Info("killing container", {{"pod", PodRef(pod)}, {"container", k.name}, {"reason", k.message}});
    RecordPodEvent(opts_.events, pod, api::kEventNormal, "Killing", k.message.empty() ? "Stopping container " + k.name : k.message, k.name);
    auto r = rt_.StopContainer(k.container_id, std::chrono::seconds(grace));
    if (!r.ok()) res.error = r.error().message();
  }

  auto volumes = volume::SetUpPodVolumes(opts_.root_dir, pod, opts_.objects);
  if (!volumes.ok()) {
    res.error = volumes.error().message();
    log::Error("failed to set up volumes", {{"pod", PodRef(pod)}, {"error", res.error}});
    RecordPodEvent(opts_.events, pod, api::kEventWarning, "FailedMount", res.error);
    // Upstream reports this as a FailedMount event while the containers wait in ContainerCreating;
    // without events, the message goes on the waiting containers.
    for (const auto* list : {&actions.init_containers_to_start, &actions.containers_to_start}) {
      for (const auto& s : *list) reasons[s.name] = {std::string(kReasonContainerCreating), res.error};
    }
    res.requeue_after = std::chrono::seconds(2);
    return finish(false);
  }

  bool sandbox_broken = false;
  auto start = [&](const ContainerToStart& s, const api::Container& c) -> bool {
    if (auto wait = CheckRestartBackOff(crash_backoff_, pod, c, rps)) {
      RecordPodEvent(opts_.events, pod, api::kEventWarning, "BackOff", "Back-off restarting failed container " + c.name + " in pod " + pod.metadata.name + "_" + pod.metadata.namespace_ + "(" + uid + ")", c.name);
      reasons[c.name] = *wait;
      // Requeue when the backoff window since the last exit ends.
      Duration window = crash_backoff_.Get(RestartBackOffKey(pod, c));
      TimePoint finished{};
      if (const auto* prev = rps.FindContainer(c.name)) finished = prev->finished_at;
      Duration left = finished + window - clock_.Now();
      if (left < std::chrono::milliseconds(10)) left = std::chrono::milliseconds(10);
      if (!res.requeue_after || left < *res.requeue_after) res.requeue_after = left;
      return false;
    }
    ImageResult img = EnsureImageExists(rt_, pull_backoff_, pod, c, runtime::PullAuth{}, opts_.events,
                                        ContainerEventPath(pod, c.name));
    if (!img.ok()) {
      RecordPodEvent(opts_.events, pod, api::kEventWarning, "Failed", "Error: " + img.failure->reason, c.name);
      reasons[c.name] = *img.failure;
      // Come back when the window since the last pull ends (not a whole window from now).
      Duration window = pull_backoff_.RemainingSinceUpdate(ImagePullBackOffKey(pod, c), clock_.Now()) +
                        std::chrono::milliseconds(1);
      if (window < std::chrono::milliseconds(10)) window = std::chrono::milliseconds(10);
      if (!res.requeue_after || window < *res.requeue_after) res.requeue_after = window;
      log::Warn("image not ready", {{"pod", PodRef(pod)}, {"container", c.name},
                                    {"reason", img.failure->reason}, {"message", img.failure->message}});
      return false;
    }
    // subPathExpr expands from the container's resolved environment (an error there is reported
    // by MakeContainerConfig below).
    auto env = MakeEnvironment(pod, c, ctx);
    auto mounts = volume::ContainerMounts(opts_.root_dir, pod, c, *volumes, env.ok() ? &*env : nullptr);
    // The termination message file, mounted at terminationMessagePath (upstream: pods/<uid>/containers/
    // <name>/<random>); the kubelet reads it when the container ends.
    std::string tm_dir = volume::PodDir(opts_.root_dir, uid) + "/containers/" + c.name;
    std::string tm_file = tm_dir + "/" + std::to_string(s.attempt);
    if (mounts.ok() && !c.termination_message_path.empty()) {
      if (MkdirAll(tm_dir).ok() && WriteFile(tm_file, "", 0666).ok()) {
        ::chmod(tm_file.c_str(), 0666);
        mounts->push_back({c.termination_message_path, tm_file, false, "private"});
      }
    }
    Result<runtime::ContainerConfig> cfg =
        mounts.ok() ? MakeContainerConfig(pod, c, s.attempt, ctx, std::move(*mounts))
                    : Result<runtime::ContainerConfig>(mounts.error());
    if (!cfg.ok()) {
      reasons[c.name] = {std::string(kReasonCreateContainerConfigError), cfg.error().message()};
      RecordPodEvent(opts_.events, pod, api::kEventWarning, "Failed", "Error: " + cfg.error().message(), c.name);
      res.requeue_after = std::chrono::seconds(2);
      return false;
    }
    if (!img.image_ref.empty()) cfg->image = img.image_ref;
    cfg->annotations[std::string(kTerminationMessageFileAnnotation)] = tm_file;
    auto cid = rt_.CreateContainer(sandbox_id, *cfg, sandbox_config);
    if (!cid.ok()) {
      reasons[c.name] = {std::string(kReasonCreateContainerError), cid.error().message()};
      RecordPodEvent(opts_.events, pod, api::kEventWarning, "Failed", "Error: " + cid.error().message(), c.name);
      log::Error("failed to create container", {{"pod", PodRef(pod)}, {"container", c.name},
                                                {"error", cid.error().message()}});
      res.requeue_after = std::chrono::seconds(2);
      return false;
    }
    RecordPodEvent(opts_.events, pod, api::kEventNormal, "Created", "Created container: " + c.name, c.name);
    auto st = rt_.StartContainer(*cid);
    if (!st.ok() && st.error().is(ErrorCode::kUnavailable)) {
      // The sandbox's network failed (the fast path): not this container's fault. The sandbox is NotReady
      // now; the next sync replaces it after the sandbox backoff.
      (void)rt_.RemoveContainer(*cid);
      sandbox_failed(st.error().message(), sandbox_id);
      sandbox_broken = true;
      return false;
    }
    if (!st.ok()) {
      reasons[c.name] = {std::string(kReasonRunContainerError), st.error().message()};
      RecordPodEvent(opts_.events, pod, api::kEventWarning, "Failed", "Error: " + st.error().message(), c.name);
      log::Error("failed to start container", {{"pod", PodRef(pod)}, {"container", c.name},
                                               {"error", st.error().message()}});
      (void)rt_.RemoveContainer(*cid);
      res.requeue_after = std::chrono::seconds(2);
      return false;
    }
    reasons.erase(c.name);
    sandbox_backoff_.Reset(sandbox_key);  // the sandbox works, network included
    log::V(2, "started container", {{"pod", PodRef(pod)}, {"container", c.name}, {"id", *cid}});
    RecordPodEvent(opts_.events, pod, api::kEventNormal, "Started", "Started container " + c.name, c.name);
    if (ctx.pod_ip.empty() && !pod.spec.host_network) {
      // Started means the network is up: the pod IP is known now (postStart hooks default to it).
      if (auto sb = rt_.PodSandboxStatus(sandbox_id); sb.ok()) {
        ctx.pod_ip = sb->ip;
        ctx.pod_ips = sb->ips;
      }
    }
    if (c.lifecycle && c.lifecycle->post_start) {
      auto hook = RunLifecycleHook(rt_, pod, c, *cid, ctx.pod_ip, *c.lifecycle->post_start,
                                   std::chrono::seconds(pod.spec.termination_grace_period_seconds.value_or(30)));
      if (!hook.ok()) {
        RecordPodEvent(opts_.events, pod, api::kEventWarning, "FailedPostStartHook", "PostStartHook failed", c.name);
        RecordPodEvent(opts_.events, pod, api::kEventNormal, "Killing", "FailedPostStartHook", c.name);
        log::Warn("postStart hook failed", {{"pod", PodRef(pod)}, {"container", c.name},
                                            {"error", hook.error().message()}});
        (void)rt_.StopContainer(*cid, std::chrono::seconds(pod.spec.termination_grace_period_seconds.value_or(30)));
        reasons[c.name] = {"PostStartHookError", hook.error().message()};
      }
    }
    return true;
  };
  for (const auto& s : actions.init_containers_to_start) {
    if (sandbox_broken) break;
    if (s.index < pod.spec.init_containers.size()) start(s, pod.spec.init_containers[s.index]);
  }
  for (const auto& s : actions.containers_to_start) {
    if (sandbox_broken) break;
    if (s.index < pod.spec.containers.size()) start(s, pod.spec.containers[s.index]);
  }
  return finish(false);
}

void PodSyncer::KillPod(const api::Pod& pod, std::optional<int64_t> grace_override, bool remove) {
  const std::string& uid = pod.metadata.uid;
  auto listed = ListPod(rt_, uid);
  if (!listed.ok()) return;
  int64_t grace_s = grace_override ? *grace_override : pod.spec.termination_grace_period_seconds.value_or(30);
  if (grace_s < 0) grace_s = 0;
  // As upstream killContainer: the grace counts from the start of preStop; a container gets at least 2 s
  // between SIGTERM and SIGKILL (minimumGracePeriodInSeconds) even when preStop used up the grace — unless
  // the grace is 0 (a forced deletion).
  auto deadline = clock_.Now() + std::chrono::seconds(grace_s);
  std::string pod_ip;
  if (!listed->PodIPs().empty()) pod_ip = listed->PodIPs()[0];
  std::vector<std::thread> threads;
  for (const auto* c : listed->ActiveContainers()) {
    if (c->state != runtime::ContainerState::kRunning && c->state != runtime::ContainerState::kCreated) continue;
    threads.emplace_back([&, c] {
      std::string name = ContainerName(*c);
      const api::Container* spec = FindSpec(pod, name);
      RecordPodEvent(opts_.events, pod, api::kEventNormal, "Killing", "Stopping container " + name, name);
      if (spec && spec->lifecycle && spec->lifecycle->pre_stop && grace_s > 0 &&
          c->state == runtime::ContainerState::kRunning) {
        auto budget = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_.Now());
        auto hook = RunLifecycleHook(rt_, pod, *spec, c->id, pod_ip, *spec->lifecycle->pre_stop, budget);
        if (!hook.ok()) {
          RecordPodEvent(opts_.events, pod, api::kEventWarning, "FailedPreStopHook", "PreStopHook failed", name);
          log::Warn("preStop hook failed", {{"pod", PodRef(pod)}, {"container", name},
                                            {"error", hook.error().message()}});
        }
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_.Now());
      if (grace_s > 0 && left < std::chrono::seconds(2)) left = std::chrono::seconds(2);
      if (grace_s == 0) left = std::chrono::milliseconds(0);
      log::Info("killing container", {{"pod", PodRef(pod)}, {"container", name},
                                      {"gracePeriod", std::to_string(left.count()) + "ms"}});
      auto r = rt_.StopContainer(c->id, left);
      if (!r.ok()) {
        log::Error("failed to stop container", {{"pod", PodRef(pod)}, {"container", name},
                                                {"error", r.error().message()}});
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& sb : listed->sandboxes) {
    if (remove) {
      auto r = rt_.RemovePodSandbox(sb.id);
      if (!r.ok()) {
        log::Error("failed to remove pod sandbox", {{"pod", PodRef(pod)}, {"error", r.error().message()}});
      }
    } else {
      // NotReady ones too: a sandbox whose network failed still has its pause container (the runtime
      // returns at once for one stopped before).
      auto r = rt_.StopPodSandbox(sb.id);
      if (!r.ok()) log::Error("failed to stop pod sandbox", {{"pod", PodRef(pod)}, {"error", r.error().message()}});
    }
  }
}

SyncResult PodSyncer::Terminate(const SyncRequest& req) {
  const api::Pod& pod = req.pod;
  SyncResult res;
  std::optional<int64_t> grace = req.grace_period_override;
  if (!grace && pod.metadata.deletion_grace_period_seconds) grace = pod.metadata.deletion_grace_period_seconds;
  // Report the final container states before the containers are removed.
  KillPod(pod, grace, false);
  ReasonCache reasons = Reasons(pod.metadata.uid);
  res.status = Status(pod, req, reasons, true);
  KillPod(pod, 0, true);
  auto listed = ListPod(rt_, pod.metadata.uid);
  // Containers of the pod outside any known sandbox (e.g. a sandbox removed by hand).
  bool gone = listed.ok();
  if (listed.ok()) {
    for (const auto& c : listed->containers) {
      (void)rt_.StopContainer(c.id, std::chrono::milliseconds(0));
      (void)rt_.RemoveContainer(c.id);
    }
  }
  auto v = volume::TearDownPodVolumes(opts_.root_dir, pod.metadata.uid);
  if (!v.ok()) {
    res.error = v.error().message();
    gone = false;
  }
  res.finished = gone;
  if (!gone) res.requeue_after = std::chrono::seconds(2);
  return res;
}

}  // namespace nanolet::kubelet
