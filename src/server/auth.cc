#include "server/auth.h"

#include <strings.h>

#include <algorithm>

#include "util/fs.h"
#include "util/log.h"
#include "util/strings.h"

namespace nanolet::server {
namespace auth_detail {

// One CSV record (RFC 4180 quoting, leading spaces trimmed as Go's csv.Reader TrimLeadingSpace).
std::vector<std::string> CsvFields(std::string_view line) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false, at_start = true;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cur += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cur += c;
      }
      continue;
    }
    if (at_start && (c == ' ' || c == '\t')) continue;
    if (at_start && c == '"') {
      quoted = true;
      at_start = false;
      continue;
    }
    if (c == ',') {
      out.push_back(std::move(cur));
      cur.clear();
      at_start = true;
      continue;
    }
    at_start = false;
    cur += c;
  }
  out.push_back(std::move(cur));
  return out;
}

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return std::string(s);
}

}  // namespace auth_detail

Result<std::unique_ptr<TokenFileAuthenticator>> TokenFileAuthenticator::Load(
    const std::string& path) {
  auto text = ReadFile(path, 16 << 20);
  if (!text.ok()) return Error("token auth file: " + text.error().message());
  return Parse(*text, path);
}

Result<std::unique_ptr<TokenFileAuthenticator>> TokenFileAuthenticator::Parse(
    std::string_view csv, const std::string& name) {
  auto a = std::unique_ptr<TokenFileAuthenticator>(new TokenFileAuthenticator());
  int line_no = 0;
  for (const auto& raw : Split(csv, '\n')) {
    ++line_no;
    std::string line = auth_detail::Trim(raw);
    if (line.empty()) continue;
    auto f = auth_detail::CsvFields(line);
    if (f.size() < 3) {
      return Invalid("token file '" + name + "' line " + std::to_string(line_no) +
                     ": must have at least 3 columns (token, user name, user uid), found " +
                     std::to_string(f.size()));
    }
    if (f[0].empty()) {
      log::Warn("empty token in token file", {{"file", name}, {"line", std::to_string(line_no)}});
      continue;
    }
    UserInfo u{f[1], f[2], {}};
    if (f.size() >= 4) {
      for (const auto& g : Split(f[3], ',')) {
        std::string t = auth_detail::Trim(g);
        if (!t.empty()) u.groups.push_back(t);
      }
    }
    if (a->users_.count(f[0])) {
      log::Warn("duplicate token in token file",
                {{"file", name}, {"line", std::to_string(line_no)}});
    }
    a->users_[f[0]] = std::move(u);
  }
  return a;
}

Result<std::optional<UserInfo>> TokenFileAuthenticator::AuthenticateToken(
    const std::string& token) {
  auto it = users_.find(token);
  if (it == users_.end()) return std::optional<UserInfo>();
  return std::optional<UserInfo>(it->second);
}

namespace auth_detail {
constexpr size_t kMaxCached = 4096;

std::vector<std::string> Strings(const nlohmann::json& j) {
  std::vector<std::string> out;
  if (!j.is_array()) return out;
  for (const auto& v : j) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

std::string Str(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}
}  // namespace auth_detail

WebhookTokenAuthenticator::WebhookTokenAuthenticator(ApiPostFn post, Duration ttl,
                                                     const Clock& clock)
    : post_(std::move(post)), ttl_(ttl), clock_(clock) {}

Result<std::optional<UserInfo>> WebhookTokenAuthenticator::AuthenticateToken(
    const std::string& token) {
  std::string key = Sha256Hex(token);
  TimePoint now = clock_.Now();
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = cache_.find(key);
    if (it != cache_.end() && it->second.expires > now) return it->second.user;
  }
  nlohmann::json review = {{"apiVersion", "authentication.k8s.io/v1"},
                           {"kind", "TokenReview"},
                           {"spec", {{"token", token}}}};
  reviews_++;
  auto r = post_("/apis/authentication.k8s.io/v1/tokenreviews", review);
  if (!r.ok()) return std::move(r).error().Wrap("TokenReview");
  std::optional<UserInfo> user;
  if (r->is_object() && r->contains("status") && (*r)["status"].is_object()) {
    const auto& st = (*r)["status"];
    if (st.value("authenticated", false) == true && st.contains("user") && st["user"].is_object()) {
      const auto& u = st["user"];
      user = UserInfo{auth_detail::Str(u, "username"), auth_detail::Str(u, "uid"),
                      auth_detail::Strings(u.value("groups", nlohmann::json::array()))};
    } else if (!auth_detail::Str(st, "error").empty()) {
      log::V(2, "token rejected by TokenReview", {{"error", auth_detail::Str(st, "error")}});
    }
  }
  std::lock_guard<std::mutex> l(mu_);
  if (cache_.size() >= auth_detail::kMaxCached) {
    for (auto it = cache_.begin(); it != cache_.end();) {
      it = it->second.expires <= now ? cache_.erase(it) : std::next(it);
    }
    if (cache_.size() >= auth_detail::kMaxCached) cache_.erase(cache_.begin());
  }
  cache_[key] = Cached{now + ttl_, user};
  return user;
}

Result<std::optional<UserInfo>> UnionAuthenticator::AuthenticateToken(const std::string& token) {
  std::optional<Error> err;
  for (Authenticator* a : parts_) {
    auto r = a->AuthenticateToken(token);
    if (!r.ok()) {
      err = r.error();
      continue;
    }
    if (r->has_value()) return r;
  }
  if (err) return *err;
  return std::optional<UserInfo>();
}

WebhookAuthorizer::WebhookAuthorizer(ApiPostFn post, std::string node_name, const Clock& clock,
                                     Duration allowed_ttl, Duration denied_ttl)
    : post_(std::move(post)),
      node_name_(std::move(node_name)),
      clock_(clock),
      allowed_ttl_(allowed_ttl),
      denied_ttl_(denied_ttl) {}

bool WebhookAuthorizer::Authorize(const UserInfo& user, const RequestAttributes& attrs) {
  nlohmann::json groups = user.groups;
  nlohmann::json spec = {{"user", user.name},
                         {"groups", groups},
                         {"resourceAttributes",
                          {{"verb", attrs.verb},
                           {"group", ""},
                           {"version", "v1"},
                           {"resource", attrs.resource},
                           {"subresource", attrs.subresource},
                           {"name", node_name_}}}};
  if (!user.uid.empty()) spec["uid"] = user.uid;
  std::string key = Sha256Hex(spec.dump());
  TimePoint now = clock_.Now();
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = cache_.find(key);
    if (it != cache_.end() && it->second.first > now) return it->second.second;
  }
  nlohmann::json review = {
      {"apiVersion", "authorization.k8s.io/v1"}, {"kind", "SubjectAccessReview"}, {"spec", spec}};
  reviews_++;
  auto r = post_("/apis/authorization.k8s.io/v1/subjectaccessreviews", review);
  if (!r.ok()) {
    log::Warn("SubjectAccessReview failed: request denied",
              {{"user", user.name}, {"error", r.error().message()}});
    return false;
  }
  bool allowed = r->is_object() && r->contains("status") && (*r)["status"].is_object() &&
                 (*r)["status"].value("allowed", false) == true;
  std::lock_guard<std::mutex> l(mu_);
  if (cache_.size() >= auth_detail::kMaxCached) {
    for (auto it = cache_.begin(); it != cache_.end();) {
      it = it->second.first <= now ? cache_.erase(it) : std::next(it);
    }
    if (cache_.size() >= auth_detail::kMaxCached) cache_.erase(cache_.begin());
  }
  cache_[key] = {now + (allowed ? allowed_ttl_ : denied_ttl_), allowed};
  return allowed;
}

RequestAttributes AttributesFor(const std::string& method, const std::string& path) {
  RequestAttributes a;
  a.path = path;
  if (method == "POST") {
    a.verb = "create";
  } else if (method == "PUT") {
    a.verb = "update";
  } else if (method == "PATCH") {
    a.verb = "patch";
  } else if (method == "DELETE") {
    a.verb = "delete";
  } else {
    a.verb = "get";
  }
  auto under = [&](const char* p) { return path == p || StartsWith(path, std::string(p) + "/"); };
  // As upstream's GetRequestAttributes: a few paths have their own subresource, the rest is proxy.
  if (under("/stats")) {
    a.subresource = "stats";
  } else if (under("/metrics")) {
    a.subresource = "metrics";
  } else if (under("/logs")) {
    a.subresource = "log";
  } else if (under("/spec")) {
    a.subresource = "spec";
  } else {
    a.subresource = "proxy";
  }
  return a;
}

bool GroupAuthorizer::Authorize(const UserInfo& user, const RequestAttributes&) {
  for (const auto& g : user.groups) {
    if (groups_.count(g)) return true;
  }
  return false;
}

AuthDecision AuthenticateAndAuthorize(const std::string& method, const std::string& path,
                                      const std::string& authorization, bool anonymous,
                                      Authenticator* authn, Authorizer& authz) {
  AuthDecision d;
  d.attrs = AttributesFor(method, path);
  d.message = "Unauthorized";
  std::string_view h = authorization;
  while (!h.empty() && h.front() == ' ') h.remove_prefix(1);
  if (h.empty()) {
    if (!anonymous) return d;
    d.user = {"system:anonymous", "", {"system:unauthenticated"}};
  } else {
    if (h.size() < 7 || ::strncasecmp(h.data(), "bearer ", 7) != 0) return d;
    std::string token = auth_detail::Trim(h.substr(7));
    if (token.empty() || !authn) return d;
    auto u = authn->AuthenticateToken(token);
    if (!u.ok()) {
      log::Warn("token authentication failed", {{"err", u.error().message()}});
      return d;
    }
    if (!u->has_value()) return d;
    d.user = std::move(**u);
    if (std::find(d.user.groups.begin(), d.user.groups.end(), "system:authenticated") ==
        d.user.groups.end()) {
      d.user.groups.push_back("system:authenticated");
    }
  }
  if (!authz.Authorize(d.user, d.attrs)) {
    d.outcome = AuthOutcome::kForbidden;
    d.message = "Forbidden (user=" + d.user.name + ", verb=" + d.attrs.verb +
                ", resource=" + d.attrs.resource + ", subresource(s)=[" + d.attrs.subresource +
                "])";
    return d;
  }
  d.outcome = AuthOutcome::kAllowed;
  d.message.clear();
  return d;
}

}  // namespace nanolet::server
