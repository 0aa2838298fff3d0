#pragma once
// ApiserverObjectProvider: ConfigMaps and Secrets for volumes and env from the apiserver (GET by
// name, as the Node authorizer allows for objects a pod bound to this node references), cached for
// `ttl` per object as upstream's TTL-based manager (configMapAndSecretChangeDetectionStrategy:
// Cache). A NotFound answer is cached too. When the apiserver cannot be reached, the last value
// fetched is served (stale beats failing a running pod's volume refresh); objects the apiserver
// does not have come from `fallback` (the manifest directory's static objects) when one is given.
// Thread-safe.
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "client/rest_client.h"
#include "runtime/volume/object_provider.h"
#include "util/clock.h"

namespace nanolet::kubelet {

class ApiserverObjectProvider : public volume::ObjectProvider {
 public:
  ApiserverObjectProvider(client::RestClient& client, const volume::ObjectProvider* fallback,
                          const Clock& clock, Duration ttl = std::chrono::seconds(10));
  Result<api::ConfigMap> GetConfigMap(const std::string& ns,
                                      const std::string& name) const override;
  Result<api::Secret> GetSecret(const std::string& ns, const std::string& name) const override;
  // TokenRequest (serviceaccounts/{name}/token) bound to the pod, as upstream's token manager
  // (pkg/kubelet/token): cached per (namespace, service account, audience, expiration, pod UID);
  // refreshed once less than 20% of its lifetime is left or it is older than 24 h; the cached token is
  // served while the apiserver fails and it has not expired. service_account_token.cc.
  Result<std::string> GetServiceAccountToken(const api::Pod& pod,
                                             const api::ServiceAccountTokenProjection& p) const override;

 private:
  struct Token {
    std::string token;
    TimePoint issued{}, expires{};
  };
  mutable std::map<std::string, Token> tokens_;  // guarded by mu_
  struct Cached {
    TimePoint fetched{};
    std::optional<nlohmann::json> object;  // nullopt: NotFound
  };
  Result<std::optional<nlohmann::json>> Fetch(const std::string& resource, const std::string& ns,
                                              const std::string& name) const;
  client::RestClient& client_;
  const volume::ObjectProvider* fallback_;
  const Clock& clock_;
  const Duration ttl_;
  mutable std::mutex mu_;
  mutable std::map<std::string, Cached> cache_;  // "resource/ns/name", guarded by mu_
};

}  // namespace nanolet::kubelet
