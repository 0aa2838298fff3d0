#include "kubelet/apiserver_objects.h"

#include "api/decode.h"

namespace nanolet::kubelet {

ApiserverObjectProvider::ApiserverObjectProvider(client::RestClient& client,
                                                 const volume::ObjectProvider* fallback,
                                                 const Clock& clock, Duration ttl)
    : client_(client), fallback_(fallback), clock_(clock), ttl_(ttl) {}

Result<std::optional<nlohmann::json>> ApiserverObjectProvider::Fetch(
    const std::string& resource, const std::string& ns, const std::string& name) const {
  std::string key = resource + "/" + ns + "/" + name;
  TimePoint now = clock_.Now();
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = cache_.find(key);
    if (it != cache_.end() && now - it->second.fetched < ttl_) return it->second.object;
  }
  auto r = client_.Get("/api/v1/namespaces/" + ns + "/" + resource + "/" + name);
  std::lock_guard<std::mutex> l(mu_);
  if (r.ok()) {
    cache_[key] = Cached{now, std::move(*r)};
    return cache_[key].object;
  }
  // 404, and 403 (the Node authorizer's answer for an object no pod of ours references): not found.
  if (r.error().is(ErrorCode::kNotFound) || r.error().is(ErrorCode::kPermission)) {
    cache_[key] = Cached{now, std::nullopt};
    return std::optional<nlohmann::json>();
  }
  auto it = cache_.find(key);
  if (it != cache_.end()) return it->second.object;  // stale, but the apiserver is away
  return std::move(r).error();
}

Result<api::ConfigMap> ApiserverObjectProvider::GetConfigMap(const std::string& ns,
                                                             const std::string& name) const {
  auto j = Fetch("configmaps", ns, name);
  if (!j.ok()) return std::move(j).error().Wrap("configmap \"" + name + "\"");
  if (!*j) {
    if (fallback_) return fallback_->GetConfigMap(ns, name);
    return NotFound("configmap \"" + name + "\" not found");
  }
  return api::DecodeConfigMap(**j);
}

Result<api::Secret> ApiserverObjectProvider::GetSecret(const std::string& ns,
                                                       const std::string& name) const {
  auto j = Fetch("secrets", ns, name);
  if (!j.ok()) return std::move(j).error().Wrap("secret \"" + name + "\"");
  if (!*j) {
    if (fallback_) return fallback_->GetSecret(ns, name);
    return NotFound("secret \"" + name + "\" not found");
  }
  return api::DecodeSecret(**j);
}

}  // namespace nanolet::kubelet
