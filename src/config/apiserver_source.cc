#include "config/apiserver_source.h"

#include "api/decode.h"
#include "config/static_pod.h"
#include "util/log.h"

namespace nanolet::config {

ApiserverSource::ApiserverSource(client::RestClient& client, Options opts, PostFn post,
                                 SourceCallback on_pods, MirrorCallback on_mirrors)
    : opts_(std::move(opts)),
      post_(std::move(post)),
      on_pods_(std::move(on_pods)),
      on_mirrors_(std::move(on_mirrors)) {
  client::Reflector::Options ro;
  ro.path = "/api/v1/pods";
  ro.field_selector = "spec.nodeName=" + opts_.node_name;
  ro.name = "pods";
  reflector_ = std::make_unique<client::Reflector>(client, ro, *this);
}

ApiserverSource::~ApiserverSource() { Stop(); }

void ApiserverSource::Start() { reflector_->Start(); }

void ApiserverSource::Stop() {
  reflector_->Stop();
  std::lock_guard<std::mutex> l(shared_->mu);
  shared_->alive = false;
}

namespace apiserver_source_detail {
// Watch events carry the object's kind ("Pod"); list items may not. Anything else in a pod watch (a
// broken or hostile stream) is skipped, never taken for a pod.
bool WrongKind(const nlohmann::json& obj) {
  if (!obj.contains("kind")) return false;
  if (!obj["kind"].is_string() || obj["kind"].get<std::string>() != "Pod") return true;
  return obj.contains("apiVersion") && obj["apiVersion"] != "v1";
}
std::string ObjectName(const nlohmann::json& obj) {
  if (!obj.contains("metadata") || !obj["metadata"].is_object()) return "";
  const auto& m = obj["metadata"];
  auto str = [&](const char* k) {
    return m.contains(k) && m[k].is_string() ? m[k].get<std::string>() : std::string();
  };
  return str("namespace") + "/" + str("name");
}
}  // namespace apiserver_source_detail

std::optional<api::Pod> ApiserverSource::Decode(const nlohmann::json& obj) const {
  std::string name = apiserver_source_detail::ObjectName(obj);
  if (apiserver_source_detail::WrongKind(obj)) {
    log::Warn("apiserver object skipped: not a v1 Pod",
              {{"object", name},
               {"kind", obj["kind"].dump()},
               {"apiVersion", obj.value("apiVersion", nlohmann::json()).dump()}});
    return std::nullopt;
  }
  auto pod = api::DecodePod(obj);
  if (!pod.ok()) {
    log::Warn("apiserver pod skipped: does not decode",
              {{"pod", name}, {"error", pod.error().message()}});
    return std::nullopt;
  }
  if (pod->metadata.uid.empty() || pod->metadata.name.empty()) {
    log::Warn("apiserver pod skipped: no name or uid", {{"pod", name}});
    return std::nullopt;
  }
  if (pod->spec.node_name != opts_.node_name)
    return std::nullopt;  // not ours (a lax field selector)
  pod->status = api::PodStatus{};
  return std::move(*pod);
}

void ApiserverSource::OnReplace(std::vector<nlohmann::json> items) {
  std::map<std::string, api::Pod> next;
  for (const auto& it : items) {
    if (auto p = Decode(it)) {
      std::string uid = p->metadata.uid;
      next.emplace(std::move(uid), std::move(*p));
    }
  }
  {
    std::lock_guard<std::mutex> l(shared_->mu);
    shared_->pods = std::move(next);
  }
  Schedule();
}

void ApiserverSource::OnEvent(client::EventType type, nlohmann::json object) {
  std::string uid;
  if (object.contains("metadata") && object["metadata"].is_object() &&
      object["metadata"].contains("uid") && object["metadata"]["uid"].is_string())
    uid = object["metadata"]["uid"].get<std::string>();
  if (type == client::EventType::kDeleted) {
    if (apiserver_source_detail::WrongKind(object)) {
      log::Warn("apiserver object skipped: not a v1 Pod",
                {{"object", apiserver_source_detail::ObjectName(object)}});
      return;
    }
    std::lock_guard<std::mutex> l(shared_->mu);
    if (shared_->pods.erase(uid) == 0) return;
  } else {
    auto p = Decode(object);
    std::lock_guard<std::mutex> l(shared_->mu);
    if (!p) {
      // A pod that no longer decodes: keep what we had (other pods are untouched).
      return;
    }
    shared_->pods[uid] = std::move(*p);
  }
  Schedule();
}

void ApiserverSource::Schedule() {
  {
    std::lock_guard<std::mutex> l(shared_->mu);
    if (shared_->queued || !shared_->alive) return;
    shared_->queued = true;
  }
  std::weak_ptr<Shared> weak = shared_;
  post_([this, weak] {
    auto s = weak.lock();
    if (!s) return;
    {
      std::lock_guard<std::mutex> l(s->mu);
      if (!s->alive) return;
    }
    Deliver();
  });
}

void ApiserverSource::Deliver() {
  std::vector<api::Pod> pods, mirrors;
  {
    std::lock_guard<std::mutex> l(shared_->mu);
    shared_->queued = false;
    for (const auto& [uid, p] : shared_->pods) {
      if (p.metadata.annotations.count(kConfigMirrorAnnotation)) {
        mirrors.push_back(p);
      } else {
        pods.push_back(p);
      }
    }
  }
  if (on_mirrors_) on_mirrors_(mirrors);
  on_pods_(kSourceApi, std::move(pods));
}

}  // namespace nanolet::config
