#include "server/auth.h"

#include <strings.h>

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
    d.user.groups.push_back("system:authenticated");
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
