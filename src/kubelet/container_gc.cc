#include "kubelet/container_gc.h"

#include <algorithm>
#include <map>
#include <set>

#include "kubelet/runtime_pod.h"
#include "runtime/runtime.h"
#include "util/log.h"

namespace nanolet::kubelet {

PodGarbage FindPodGarbage(const RuntimePodStatus& status) {
  PodGarbage g;
  std::set<std::string> removed;
  // Per container name, newest first (status.containers is sorted newest first).
  std::map<std::string, std::vector<const runtime::ContainerStatus*>> by_name;
  for (const auto& c : status.containers) by_name[c.name].push_back(&c);
  for (const auto& [name, runs] : by_name) {
    bool kept_dead = false;
    for (size_t i = 0; i < runs.size(); ++i) {
      const runtime::ContainerStatus& c = *runs[i];
      bool dead = c.state == runtime::ContainerState::kExited ||
                  c.state == runtime::ContainerState::kCreated;
      if (i == 0) {
        kept_dead = dead && !NeverStarted(c);
        continue;
      }
      if (!dead) continue;  // running or unknown: the pod worker kills it first
      if (!kept_dead && !NeverStarted(c)) {
        kept_dead = true;
        continue;
      }
      g.containers.push_back(c.id);
      removed.insert(c.id);
    }
  }
  for (size_t i = 1; i < status.sandboxes.size(); ++i) {
    const runtime::SandboxStatus& sb = status.sandboxes[i];
    if (sb.state == runtime::SandboxState::kReady) continue;
    bool all_garbage = std::all_of(status.containers.begin(), status.containers.end(),
                                   [&](const runtime::ContainerStatus& c) {
                                     return c.sandbox_id != sb.id || removed.count(c.id) > 0;
                                   });
    if (all_garbage) g.sandboxes.push_back(sb.id);
  }
  return g;
}

int RemovePodGarbage(runtime::Runtime& rt, const PodGarbage& garbage) {
  int failed = 0;
  for (const auto& id : garbage.containers) {
    if (auto r = rt.RemoveContainer(id); !r.ok()) {
      ++failed;
      log::Warn("garbage collection: remove container",
                {{"container", id}, {"error", r.error().message()}});
    }
  }
  for (const auto& id : garbage.sandboxes) {
    if (auto r = rt.RemovePodSandbox(id); !r.ok()) {
      ++failed;
      log::Warn("garbage collection: remove pod sandbox",
                {{"sandbox", id}, {"error", r.error().message()}});
    }
  }
  return failed;
}

}  // namespace nanolet::kubelet
