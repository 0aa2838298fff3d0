#pragma once
// ApiserverSource: the pods bound to this node, from the apiserver, as upstream
// pkg/kubelet/config/apiserver.go (NewSourceApiserver): a reflector lists and watches
// /api/v1/pods?fieldSelector=spec.nodeName=<node>, and every change hands the complete set to the
// SourceCallback (kubetypes.SET, source "api").
//
// Mirror pods (annotation kubernetes.io/config.mirror) are never handed over as pods to run: they
// go to the MirrorCallback instead (the mirror pod manager). Pods that do not decode are logged and
// skipped; the others are untouched. The status each pod carries in the apiserver is dropped (the
// kubelet owns status; the echo of its own status writes must not look like a change). The source
// is "seen" (PodConfig) after its first list, so while the apiserver is unreachable static pods run
// and nothing orphaned is removed.
//
// Threading: the reflector thread decodes; changes are coalesced and delivered on the loop thread
// through `post` (at most one delivery queued at a time). Construct, Start, Stop and destroy on the
// loop thread; no callback runs after Stop returns.
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "api/types.h"
#include "client/reflector.h"
#include "config/pod_source.h"

namespace nanolet::config {

using MirrorCallback = std::function<void(std::vector<api::Pod> mirrors)>;
using PostFn = std::function<void(std::function<void()>)>;

class ApiserverSource : public client::ReflectorHandler {
 public:
  struct Options {
    std::string node_name;
  };
  ApiserverSource(client::RestClient& client, Options opts, PostFn post, SourceCallback on_pods,
                  MirrorCallback on_mirrors);
  ~ApiserverSource() override;
  void Start();
  void Stop();
  const client::Reflector& reflector() const { return *reflector_; }

  // ReflectorHandler (reflector thread).
  void OnReplace(std::vector<nlohmann::json> items) override;
  void OnEvent(client::EventType type, nlohmann::json object) override;

 private:
  struct Shared {
    std::mutex mu;
    bool alive = true;
    bool queued = false;
    std::map<std::string, api::Pod> pods;  // by UID, guarded by mu
  };
  void Deliver();  // loop thread
  void Schedule();
  std::optional<api::Pod> Decode(const nlohmann::json& obj) const;

  const Options opts_;
  PostFn post_;
  SourceCallback on_pods_;
  MirrorCallback on_mirrors_;
  std::shared_ptr<Shared> shared_ = std::make_shared<Shared>();
  std::unique_ptr<client::Reflector> reflector_;
};

}  // namespace nanolet::config
