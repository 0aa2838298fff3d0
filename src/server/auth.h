#pragma once
// Authentication and authorization of the authenticated port (--port, 10250).
//
// Authentication: a bearer token (`Authorization: Bearer <token>`) is looked up by an
// Authenticator. On a standalone node that is the --token-auth-file (the apiserver's static token
// file format: `token,user,uid,"group1,group2"`); a TokenReview client against the apiserver
// (issue 7) is another implementation of the same interface. No token: anonymous
// (system:anonymous, group system:unauthenticated) when --anonymous-auth is on, else 401. An
// unknown token is always 401.
//
// Authorization, kept simple for a standalone node (documented in README): a user may use the API
// when one of its groups is system:masters (cluster admins, as upstream RBAC's cluster-admin
// binding) or system:kubelet-api-admin (the group counterpart of upstream's
// system:kubelet-api-admin ClusterRole, which is what an apiserver's kubelet client is bound to).
// Everything else is 403. Upstream's request attributes are computed anyway (verb, resource
// "nodes", subresource proxy/stats/metrics/log) for the 403 message and a future
// SubjectAccessReview authorizer.
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/clock.h"
#include "util/result.h"

namespace nanolet::server {

struct UserInfo {
  std::string name;
  std::string uid;
  std::vector<std::string> groups;
};

class Authenticator {
 public:
  virtual ~Authenticator() = default;
  // The user owning `token`; nullopt for a token this authenticator does not know. An error
  // (e.g. the apiserver did not answer) is answered 401 as well, and logged.
  virtual Result<std::optional<UserInfo>> AuthenticateToken(const std::string& token) = 0;
};

// --token-auth-file. Lines: token,user,uid[,"g1,g2,..."] (CSV: quotes for fields with commas);
// empty lines are skipped; fewer than 3 columns is an error naming the line.
class TokenFileAuthenticator final : public Authenticator {
 public:
  static Result<std::unique_ptr<TokenFileAuthenticator>> Load(const std::string& path);
  static Result<std::unique_ptr<TokenFileAuthenticator>> Parse(std::string_view csv,
                                                               const std::string& name);
  Result<std::optional<UserInfo>> AuthenticateToken(const std::string& token) override;
  size_t size() const { return users_.size(); }

 private:
  std::unordered_map<std::string, UserInfo> users_;  // constant after Load
};

// POST of a JSON body to an apiserver path, answering the decoded response (a non-2xx answer is an
// Error). main wires it to the kubeconfig's client; the server module knows no client.
using ApiPostFn =
    std::function<Result<nlohmann::json>(const std::string& path, const nlohmann::json& body)>;

// --authentication-token-webhook: tokens checked with the apiserver's TokenReview
// (authentication.k8s.io/v1), as upstream's webhook token authenticator behind its cache: answers
// (authenticated or not) are kept `ttl` (--authentication-token-webhook-cache-ttl, 2m), keyed by a
// hash of the token; an apiserver that does not answer is an Error (401, logged), not cached.
// Thread-safe.
class WebhookTokenAuthenticator final : public Authenticator {
 public:
  WebhookTokenAuthenticator(ApiPostFn post, Duration ttl, const Clock& clock);
  Result<std::optional<UserInfo>> AuthenticateToken(const std::string& token) override;
  uint64_t reviews() const { return reviews_; }

 private:
  struct Cached {
    TimePoint expires;
    std::optional<UserInfo> user;
  };
  const ApiPostFn post_;
  const Duration ttl_;
  const Clock& clock_;
  std::mutex mu_;
  std::map<std::string, Cached> cache_;  // by token hash, guarded by mu_
  std::atomic<uint64_t> reviews_{0};
};

// Several authenticators in turn (--token-auth-file, then the webhook), as upstream's union
// authenticator: the first that knows the token wins; errors are returned only if none knew it.
class UnionAuthenticator final : public Authenticator {
 public:
  explicit UnionAuthenticator(std::vector<Authenticator*> parts) : parts_(std::move(parts)) {}
  Result<std::optional<UserInfo>> AuthenticateToken(const std::string& token) override;

 private:
  const std::vector<Authenticator*> parts_;
};

// What a request asks for, as upstream's kubelet names it (pkg/kubelet/server/auth.go).
struct RequestAttributes {
  std::string verb;  // get, create, update, patch, delete
  std::string resource = "nodes";
  std::string subresource;  // stats, metrics, log, spec, proxy
  std::string path;
};
RequestAttributes AttributesFor(const std::string& method, const std::string& path);

class Authorizer {
 public:
  virtual ~Authorizer() = default;
  virtual bool Authorize(const UserInfo& user, const RequestAttributes& attrs) = 0;
};

// Allowed: a user in one of `groups`.
class GroupAuthorizer final : public Authorizer {
 public:
  GroupAuthorizer() : GroupAuthorizer({"system:masters", "system:kubelet-api-admin"}) {}
  explicit GroupAuthorizer(std::set<std::string> groups) : groups_(std::move(groups)) {}
  bool Authorize(const UserInfo& user, const RequestAttributes& attrs) override;

 private:
  const std::set<std::string> groups_;
};

// --authorization-mode Webhook: each request asked of the apiserver's SubjectAccessReview
// (authorization.k8s.io/v1) with upstream kubelet's attributes (verb, resource "nodes", the
// subresource, name = this node), cached as upstream (allowed 5 min, denied 30 s). An apiserver
// that does not answer denies (logged), uncached. Thread-safe.
class WebhookAuthorizer final : public Authorizer {
 public:
  WebhookAuthorizer(ApiPostFn post, std::string node_name, const Clock& clock,
                    Duration allowed_ttl = std::chrono::minutes(5),
                    Duration denied_ttl = std::chrono::seconds(30));
  bool Authorize(const UserInfo& user, const RequestAttributes& attrs) override;
  uint64_t reviews() const { return reviews_; }

 private:
  const ApiPostFn post_;
  const std::string node_name_;
  const Clock& clock_;
  const Duration allowed_ttl_, denied_ttl_;
  std::mutex mu_;
  std::map<std::string, std::pair<TimePoint, bool>> cache_;  // guarded by mu_
  std::atomic<uint64_t> reviews_{0};
};

enum class AuthOutcome { kAllowed, kUnauthorized, kForbidden };
struct AuthDecision {
  AuthOutcome outcome = AuthOutcome::kUnauthorized;
  UserInfo user;
  RequestAttributes attrs;
  std::string message;  // the body of a 401/403 (upstream's wording)
};

// The whole check for one request. `authorization` is the Authorization header's value.
AuthDecision AuthenticateAndAuthorize(const std::string& method, const std::string& path,
                                      const std::string& authorization, bool anonymous,
                                      Authenticator* authn, Authorizer& authz);

}  // namespace nanolet::server
