#include "runtime/image/registry.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>

#include "util/log.h"
#include "util/strings.h"

namespace nanolet::image {

using Sink = std::function<Result<void>(const char*, size_t)>;

struct RegistryClient::Response {
  long status = 0;
  std::map<std::string, std::string>
      headers;  // lower-case names, first value, of the final response
  std::string body;
};

namespace {

constexpr size_t kMaxSmallBody = 8 << 20;

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct CurlFree {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistFree {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

struct Transfer {
  CURL* curl = nullptr;
  const Sink* sink = nullptr;
  long status = 0;
  std::map<std::string, std::string> headers;
  std::string body;
  std::string sink_error;
  bool sink_failed = false;
  bool too_large = false;
  bool resuming = false;  // a Range request: a 206 is the body too
  uint64_t skip = 0;      // bytes of a 200 body the sink already has (a registry ignoring Range)
};

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * n);
  if (StartsWith(line, "HTTP/")) {  // a new response (after a redirect or 100-continue)
    t->headers.clear();
    return size * n;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return size * n;
  std::string name(Trim(line.substr(0, colon)));
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  t->headers.emplace(name, std::string(Trim(line.substr(colon + 1))));
  return size * n;
}

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t len = size * n;
  if (t->status == 0) curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &t->status);
  if (t->sink && (t->status == 200 || (t->status == 206 && t->resuming))) {
    const char* p = data;
    size_t left = len;
    if (t->status == 200 && t->skip > 0) {
      size_t drop = static_cast<size_t>(std::min<uint64_t>(t->skip, left));
      t->skip -= drop;
      p += drop;
      left -= drop;
      if (left == 0) return len;
    }
    auto r = (*t->sink)(p, left);
    if (!r.ok()) {
      t->sink_failed = true;
      t->sink_error = r.error().message();
      return 0;  // aborts the transfer
    }
    return len;
  }
  if (t->body.size() + len > kMaxSmallBody) {
    t->too_large = true;
    return 0;
  }
  t->body.append(data, len);
  return len;
}

std::string UrlEscape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

std::string Base64(const std::string& s) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < s.size(); i += 3) {
    uint32_t v = (uint8_t(s[i]) << 16) | (uint8_t(s[i + 1]) << 8) | uint8_t(s[i + 2]);
    for (int k = 18; k >= 0; k -= 6) out += kAlphabet[(v >> k) & 63];
  }
  if (i + 1 == s.size()) {
    uint32_t v = uint8_t(s[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == s.size()) {
    uint32_t v = (uint8_t(s[i]) << 16) | (uint8_t(s[i + 1]) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

// `Bearer realm="x",service="y"` -> scheme "bearer", params.
struct Challenge {
  std::string scheme;
  std::map<std::string, std::string> params;
};

Challenge ParseChallenge(std::string_view h) {
  Challenge c;
  size_t sp = h.find(' ');
  std::string scheme(h.substr(0, sp));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char ch) { return std::tolower(ch); });
  c.scheme = scheme;
  if (sp == std::string_view::npos) return c;
  std::string_view rest = h.substr(sp + 1);
  while (!rest.empty()) {
    rest = Trim(rest);
    size_t eq = rest.find('=');
    if (eq == std::string_view::npos) break;
    std::string key(Trim(rest.substr(0, eq)));
    std::transform(key.begin(), key.end(), key.begin(),
                   [](unsigned char ch) { return std::tolower(ch); });
    rest = rest.substr(eq + 1);
    std::string value;
    if (!rest.empty() && rest.front() == '"') {
      size_t i = 1;
      for (; i < rest.size() && rest[i] != '"'; ++i) {
        if (rest[i] == '\\' && i + 1 < rest.size()) ++i;
        value += rest[i];
      }
      rest = rest.substr(std::min(rest.size(), i + 1));
    } else {
      size_t comma = rest.find(',');
      value = std::string(Trim(rest.substr(0, comma)));
      rest = rest.substr(comma == std::string_view::npos ? rest.size() : comma);
    }
    c.params[key] = value;
    size_t comma = rest.find(',');
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return c;
}

// "HTTP 404: MANIFEST_UNKNOWN: manifest unknown" from the registry's JSON errors, or a bit of the
// body.
Error HttpError(long status, const std::string& body) {
  std::string msg = "HTTP " + std::to_string(status);
  std::string detail;
  try {
    auto j = nlohmann::json::parse(body);
    if (j.is_object() && j.contains("errors") && j["errors"].is_array()) {
      for (auto& e : j["errors"]) {
        if (!detail.empty()) detail += "; ";
        std::string code = e.value("code", "");
        std::string m = e.value("message", "");
        detail += code.empty() ? m : (m.empty() ? code : code + ": " + m);
      }
    }
  } catch (const std::exception&) {
  }
  if (detail.empty()) {
    std::string t(Trim(body.substr(0, 200)));
    for (char& ch : t) {
      if (ch == '\n' || ch == '\r') ch = ' ';
    }
    detail = t;
  }
  if (!detail.empty()) msg += ": " + detail;
  ErrorCode code = ErrorCode::kUnknown;
  if (status == 404) code = ErrorCode::kNotFound;
  if (status == 401 || status == 403) code = ErrorCode::kPermission;
  if (status == 429 || status >= 500) code = ErrorCode::kUnavailable;
  return Error(msg, code);
}

}  // namespace

RegistryClient::RegistryClient(Reference ref, runtime::PullAuth auth, RegistryOptions opts)
    : ref_(std::move(ref)), auth_(std::move(auth)), opts_(opts) {
  GlobalInit();
  base_ = std::string(opts_.insecure ? "http://" : "https://") + ref_.RegistryHost() + "/v2/" +
          ref_.path;
  if (!auth_.registry_token.empty()) authorization_ = "Bearer " + auth_.registry_token;
}

Result<RegistryClient::Response> RegistryClient::Perform(
    const std::string& url, const std::string& accept, const std::string& authorization,
    const Sink* sink, bool small, const std::string& basic_user, const std::string& basic_password,
    const std::string& post_body, uint64_t offset) {
  std::unique_ptr<CURL, CurlFree> curl(curl_easy_init());
  if (!curl) return Error("curl_easy_init failed");
  Transfer t;
  t.curl = curl.get();
  t.sink = sink;
  t.resuming = offset > 0;
  t.skip = offset;
  char errbuf[CURL_ERROR_SIZE] = {0};
  std::unique_ptr<curl_slist, SlistFree> headers;
  auto add_header = [&](const std::string& h) {
    headers.reset(curl_slist_append(headers.release(), h.c_str()));
  };
  if (!accept.empty()) add_header("Accept: " + accept);
  if (!authorization.empty()) add_header("Authorization: " + authorization);
  if (offset > 0) add_header("Range: bytes=" + std::to_string(offset) + "-");
  add_header("User-Agent: nanolet/" NANOLET_VERSION);
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(opts_.connect_timeout.count()));
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, opts_.low_speed_limit);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, static_cast<long>(opts_.low_speed_time.count()));
  if (small)
    curl_easy_setopt(c, CURLOPT_TIMEOUT, static_cast<long>(opts_.small_request_timeout.count()));
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  if (!basic_user.empty()) {
    curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(c, CURLOPT_USERNAME, basic_user.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, basic_password.c_str());
  }
  if (!post_body.empty()) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, post_body.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(post_body.size()));
  }
  CURLcode rc = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &t.status);
  const std::string what = std::string(post_body.empty() ? "GET " : "POST ") + url;
  if (t.sink_failed) return Error(t.sink_error).Wrap(what);
  if (t.too_large)
    return Invalid(what + ": response larger than " + std::to_string(kMaxSmallBody) + " bytes");
  if (rc != CURLE_OK) {
    std::string detail = errbuf[0] ? std::string(Trim(errbuf)) : curl_easy_strerror(rc);
    long os_errno = 0;
    if (rc == CURLE_COULDNT_CONNECT &&
        curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &os_errno) == CURLE_OK && os_errno != 0) {
      detail += std::string(" (") + std::strerror(static_cast<int>(os_errno)) + ")";
    }
    ErrorCode code = ErrorCode::kUnavailable;
    if (rc == CURLE_OPERATION_TIMEDOUT) code = ErrorCode::kTimeout;
    return Error(what + ": " + detail, code);
  }
  Response resp;
  resp.status = t.status;
  resp.headers = std::move(t.headers);
  resp.body = std::move(t.body);
  return resp;
}

Result<void> RegistryClient::Authenticate(const std::string& header) {
  Challenge ch = ParseChallenge(header);
  if (ch.scheme == "basic") {
    if (auth_.username.empty()) {
      return Error("registry requires basic authentication and no credentials were given",
                   ErrorCode::kPermission);
    }
    authorization_ = "Basic " + Base64(auth_.username + ":" + auth_.password);
    return Ok();
  }
  if (ch.scheme != "bearer")
    return Error("unsupported auth challenge \"" + header + "\"", ErrorCode::kPermission);
  std::string realm = ch.params["realm"];
  if (realm.empty())
    return Error("bearer challenge without a realm: \"" + header + "\"", ErrorCode::kPermission);
  std::string scope =
      ch.params.count("scope") ? ch.params["scope"] : "repository:" + ref_.path + ":pull";
  std::string service = ch.params["service"];
  Result<Response> resp = Error("");
  if (!auth_.identity_token
           .empty()) {  // OAuth2 refresh token, as docker's credential helpers hand out
    std::string form = "grant_type=refresh_token&client_id=nanolet&refresh_token=" +
                       UrlEscape(auth_.identity_token) + "&service=" + UrlEscape(service) +
                       "&scope=" + UrlEscape(scope);
    resp = Perform(realm, "", "", nullptr, true, "", "", form);
  } else {
    std::string url = realm + (realm.find('?') == std::string::npos ? "?" : "&") +
                      "service=" + UrlEscape(service) + "&scope=" + UrlEscape(scope);
    resp = Perform(url, "", "", nullptr, true, auth_.username, auth_.password, "");
  }
  if (!resp.ok()) return std::move(resp).error().Wrap("fetch token");
  if (resp->status != 200)
    return HttpError(resp->status, resp->body).Wrap("fetch token from " + realm);
  std::string token;
  try {
    auto j = nlohmann::json::parse(resp->body);
    token = j.value("token", "");
    if (token.empty()) token = j.value("access_token", "");
  } catch (const std::exception& e) {
    return Invalid("fetch token from " + realm + ": response is not JSON");
  }
  if (token.empty()) return Invalid("fetch token from " + realm + ": no token in the response");
  authorization_ = "Bearer " + token;
  return Ok();
}

Result<RegistryClient::Response> RegistryClient::Request(const std::string& url,
                                                         const std::string& accept,
                                                         const Sink* sink, bool small,
                                                         uint64_t offset) {
  ASSIGN_OR_RETURN(Response resp,
                   Perform(url, accept, authorization_, sink, small, "", "", "", offset));
  if (resp.status == 401 && resp.headers.count("www-authenticate")) {
    RETURN_IF_ERROR_CTX(Authenticate(resp.headers["www-authenticate"]), "GET " + url);
    ASSIGN_OR_RETURN(resp, Perform(url, accept, authorization_, sink, small, "", "", "", offset));
  }
  if (resp.status != 200 && !(offset > 0 && resp.status == 206))
    return HttpError(resp.status, resp.body).Wrap("GET " + url);
  return resp;
}

Result<FetchedManifest> RegistryClient::GetManifest(const std::string& reference) {
  static const std::string kAccept = std::string(kOciIndex) + ", " + kOciManifest + ", " +
                                     kDockerManifestList + ", " + kDockerManifest;
  std::string url = base_ + "/manifests/" + reference;
  ASSIGN_OR_RETURN(Response resp, Request(url, kAccept, nullptr, true));
  FetchedManifest m;
  m.body = std::move(resp.body);
  Sha256 h;
  h.Update(m.body);
  m.digest = h.Digest();
  if (IsValidDigest(reference) && m.digest != reference) {
    return Invalid("GET " + url + ": manifest digest mismatch: expected " + reference + ", got " +
                   m.digest);
  }
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(m.body);
  } catch (const std::exception&) {
    std::string start(Trim(m.body.substr(0, 60)));
    return Invalid("GET " + url + ": manifest is not JSON (starts with \"" + start + "\")");
  }
  if (!j.is_object()) return Invalid("GET " + url + ": manifest is not a JSON object");
  if (j.contains("mediaType") && j["mediaType"].is_string())
    m.media_type = j["mediaType"].get<std::string>();
  if (m.media_type.empty()) {
    std::string ct = resp.headers["content-type"];
    m.media_type = std::string(Trim(ct.substr(0, ct.find(';'))));
  }
  return m;
}

Result<void> RegistryClient::FetchBlob(const std::string& digest, const Sink& sink) {
  std::string url = base_ + "/blobs/" + digest;
  uint64_t delivered = 0;
  bool sink_failed = false;
  Sink counting = [&](const char* p, size_t n) -> Result<void> {
    auto r = sink(p, n);
    if (!r.ok()) {
      sink_failed = true;
      return r;
    }
    delivered += n;
    return Ok();
  };
  for (int resumed = 0;; ++resumed) {
    const uint64_t before = delivered;
    auto r = Request(url, "", &counting, false, delivered);
    if (r.ok()) {
      if (resumed > 0) {
        log::Info("resumed blob download finished",
                  {{"digest", digest}, {"bytes", std::to_string(delivered)},
                   {"resumed", std::to_string(resumed)}});
      }
      return Ok();
    }
    // Only a transfer the network cut short after some progress is resumed: an HTTP error, a
    // refused connection or our own sink's failure is final.
    const Error& e = r.error();
    const bool cut = !sink_failed && delivered > before &&
                     (e.is(ErrorCode::kUnavailable) || e.is(ErrorCode::kTimeout)) &&
                     e.message().find(": HTTP ") == std::string::npos;
    if (!cut || resumed >= opts_.blob_resume_attempts) {
      if (resumed == 0) return std::move(r).error();
      return Error(e.message() + " (after " + std::to_string(resumed) + " resumed download" +
                       (resumed == 1 ? "" : "s") + ", " + std::to_string(delivered) +
                       " bytes received)",
                   e.code());
    }
    log::Warn("blob download cut off; resuming",
              {{"digest", digest}, {"bytes", std::to_string(delivered)}, {"error", e.message()}});
  }
}

}  // namespace nanolet::image
