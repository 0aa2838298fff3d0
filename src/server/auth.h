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
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

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
