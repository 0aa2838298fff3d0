// ApiserverObjectProvider::GetServiceAccountToken: projected service account tokens from the TokenRequest
// API, with upstream's refresh rules (pkg/kubelet/token/token_manager.go).
#include <nlohmann/json.hpp>

#include "kubelet/apiserver_objects.h"
#include "util/timefmt.h"

namespace nanolet::kubelet {
namespace {

constexpr int64_t kDefaultExpirationSeconds = 3600;  // the projection's API default
constexpr auto kMaxTokenAge = std::chrono::hours(24);

}  // namespace

Result<std::string> ApiserverObjectProvider::GetServiceAccountToken(
    const api::Pod& pod, const api::ServiceAccountTokenProjection& p) const {
  const std::string ns = pod.metadata.namespace_.empty() ? std::string("default") : pod.metadata.namespace_;
  const std::string sa = pod.spec.service_account_name.empty() ? std::string("default")
                                                               : pod.spec.service_account_name;
  const int64_t expiration = p.expiration_seconds.value_or(kDefaultExpirationSeconds);
  const std::string key =
      ns + "/" + sa + "/" + p.audience + "/" + std::to_string(expiration) + "/" + pod.metadata.uid;
  const TimePoint now = clock_.Now();
  std::optional<Token> cached;
  {
    std::lock_guard<std::mutex> l(mu_);
    // Tokens of pods that are gone expire here instead of piling up.
    for (auto it = tokens_.begin(); it != tokens_.end();) {
      it = it->second.expires <= now ? tokens_.erase(it) : std::next(it);
    }
    if (auto it = tokens_.find(key); it != tokens_.end()) cached = it->second;
  }
  if (cached) {
    // Upstream requiresRefresh: older than 24 h, or less than 20% of its lifetime left.
    Duration lifetime = cached->expires - cached->issued;
    bool refresh = now - cached->issued > kMaxTokenAge || now > cached->expires - lifetime / 5;
    if (!refresh) return cached->token;
  }
  nlohmann::json spec = {{"expirationSeconds", expiration},
                         {"boundObjectRef",
                          {{"apiVersion", "v1"}, {"kind", "Pod"}, {"name", pod.metadata.name},
                           {"uid", pod.metadata.uid}}}};
  spec["audiences"] = p.audience.empty() ? nlohmann::json::array() : nlohmann::json::array({p.audience});
  nlohmann::json body = {{"apiVersion", "authentication.k8s.io/v1"}, {"kind", "TokenRequest"}, {"spec", spec}};
  auto r = client_.Post("/api/v1/namespaces/" + ns + "/serviceaccounts/" + sa + "/token", body);
  std::string ctx = "request a token for service account \"" + ns + "/" + sa + "\"";
  if (!r.ok()) {
    if (cached) return cached->token;  // not expired (pruned above): keep serving it
    return std::move(r).error().Wrap(ctx);
  }
  Token t;
  t.issued = now;
  try {
    t.token = r->at("status").at("token").get<std::string>();
    auto exp = ParseRFC3339(r->at("status").value("expirationTimestamp", ""));
    t.expires = exp.ok() ? *exp : now + std::chrono::seconds(expiration);
  } catch (const nlohmann::json::exception& e) {
    if (cached) return cached->token;
    return Error(ctx + ": malformed TokenRequest: " + e.what());
  }
  if (t.token.empty()) return Error(ctx + ": empty token in the TokenRequest status");
  std::lock_guard<std::mutex> l(mu_);
  tokens_[key] = t;
  return t.token;
}

}  // namespace nanolet::kubelet
