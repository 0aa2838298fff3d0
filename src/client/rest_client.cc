#include "client/rest_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <random>
#include <thread>

#include "util/fs.h"
#include "util/log.h"
#include "util/strings.h"

namespace nanolet::client {
namespace rest_detail {

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Body {
  std::string data;
  size_t limit = 64 << 20;
  bool too_large = false;
};

size_t WriteBody(char* ptr, size_t size, size_t nmemb, void* userdata) {
  auto* b = static_cast<Body*>(userdata);
  size_t n = size * nmemb;
  if (b->data.size() + n > b->limit) {
    b->too_large = true;
    return 0;
  }
  b->data.append(ptr, n);
  return n;
}

size_t HeaderCb(char* ptr, size_t size, size_t nmemb, void* userdata) {
  size_t n = size * nmemb;
  std::string_view line(ptr, n);
  constexpr std::string_view kRetry = "retry-after:";
  if (line.size() > kRetry.size()) {
    std::string lower(line.substr(0, kRetry.size()));
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == kRetry)
      *static_cast<std::string*>(userdata) = std::string(Trim(line.substr(kRetry.size())));
  }
  return n;
}

struct StreamState {
  const std::function<void(std::string_view)>* on_line;
  const std::atomic<bool>* cancel;
  std::string buf;
  size_t max_line;
  bool skipping = false;  // inside an oversized line: drop until its newline
  long status = 0;
  CURL* curl = nullptr;
  std::string error_body;
};

size_t StreamWrite(char* ptr, size_t size, size_t nmemb, void* userdata) {
  auto* s = static_cast<StreamState*>(userdata);
  size_t n = size * nmemb;
  if (s->status == 0) curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &s->status);
  if (s->status != 200) {
    if (s->error_body.size() < (1 << 20)) s->error_body.append(ptr, n);
    return n;
  }
  std::string_view in(ptr, n);
  while (!in.empty()) {
    size_t nl = in.find('\n');
    std::string_view part = in.substr(0, nl);
    if (!s->skipping) {
      if (s->buf.size() + part.size() > s->max_line) {
        log::Warn("watch: oversized event dropped",
                  {{"bytes", std::to_string(s->buf.size() + part.size())}});
        s->buf.clear();
        s->skipping = true;
      } else {
        s->buf.append(part);
      }
    }
    if (nl == std::string_view::npos) break;
    if (!s->skipping && !s->buf.empty()) (*s->on_line)(s->buf);
    s->buf.clear();
    s->skipping = false;
    in.remove_prefix(nl + 1);
  }
  return n;
}

int StreamProgress(void* userdata, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* s = static_cast<StreamState*>(userdata);
  return s->cancel->load() ? 1 : 0;
}

std::string StatusMessage(const Response& r) {
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_object() && j.contains("message") && j["message"].is_string())
    return j["message"].get<std::string>();
  std::string b = r.body.substr(0, 200);
  return b;
}

// A transfer that got no HTTP answer, named by its cause. A certificate the kubeconfig's CA does
// not trust is no outage: kPermission (not retried here; the callers retry with their backoff).
Error TransferError(const std::string& what, CURLcode rc, const char* errbuf) {
  std::string msg = errbuf[0] ? errbuf : curl_easy_strerror(rc);
  if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
      rc == CURLE_SSL_ISSUER_ERROR) {
    return Error(what + ": x509: certificate verify failed: " + msg +
                     " (is certificate-authority in the kubeconfig the apiserver's CA?)",
                 ErrorCode::kPermission);
  }
  if (rc == CURLE_SSL_CERTPROBLEM) {
    return Error(what + ": client certificate or key unusable: " + msg, ErrorCode::kPermission);
  }
  return Error(what + ": " + msg, ErrorCode::kUnavailable);
}

}  // namespace rest_detail

using namespace rest_detail;

struct RestClient::Handle {
  CURL* curl = nullptr;
  ~Handle() {
    if (curl) curl_easy_cleanup(curl);
  }
};

Error StatusError(const Response& r, std::string_view what) {
  std::string msg = std::string(what) + ": " + std::to_string(r.status) + ": " + StatusMessage(r);
  if (r.status == 401) {
    msg = std::string(what) +
          ": 401 Unauthorized: the apiserver rejected the credentials (bearer " +
          "token expired or invalid, or client certificate not trusted): " + StatusMessage(r);
  }
  ErrorCode code = ErrorCode::kUnknown;
  switch (r.status) {
    case 404:
      code = ErrorCode::kNotFound;
      break;
    case 409:
      code = ErrorCode::kAlreadyExists;
      break;
    case 401:
    case 403:
      code = ErrorCode::kPermission;
      break;
    case 410:
      code = ErrorCode::kTimeout;
      break;
    case 400:
    case 422:
      code = ErrorCode::kInvalid;
      break;
    default:
      if (r.status == 429 || r.status >= 500) code = ErrorCode::kUnavailable;
  }
  return Error(msg, code);
}

std::string QueryEscape(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

Result<std::unique_ptr<RestClient>> RestClient::Create(RestConfig cfg, const Clock* clock) {
  GlobalInit();
  if (cfg.server.empty()) return Invalid("apiserver client: no server URL");
  for (const auto& f : {cfg.ca_file, cfg.cert_file, cfg.key_file, cfg.token_file}) {
    if (!f.empty() && !PathExists(f)) return NotFound("apiserver client: " + f + ": no such file");
  }
  return std::unique_ptr<RestClient>(
      new RestClient(std::move(cfg), clock ? *clock : RealClock::Instance()));
}

RestClient::RestClient(RestConfig cfg, const Clock& clock)
    : cfg_(std::move(cfg)), limiter_(cfg_.qps, cfg_.burst, clock) {}

RestClient::~RestClient() = default;

std::unique_ptr<RestClient::Handle> RestClient::Acquire() {
  {
    std::lock_guard<std::mutex> l(pool_mu_);
    if (!pool_.empty()) {
      auto h = std::move(pool_.back());
      pool_.pop_back();
      curl_easy_reset(h->curl);  // keeps the connection cache
      return h;
    }
  }
  auto h = std::make_unique<Handle>();
  h->curl = curl_easy_init();
  return h;
}

void RestClient::Release(std::unique_ptr<Handle> h) {
  std::lock_guard<std::mutex> l(pool_mu_);
  if (pool_.size() < 8) pool_.push_back(std::move(h));
}

Result<void> RestClient::Configure(Handle& h, const std::string& url) {
  CURL* c = h.curl;
  if (!c) return Error("curl_easy_init failed");
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, cfg_.user_agent.c_str());
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
  curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(c, CURLOPT_TCP_KEEPIDLE, 15L);
  curl_easy_setopt(c, CURLOPT_TCP_KEEPINTVL, 5L);
  if (cfg_.insecure_skip_tls_verify) {
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  } else if (!cfg_.ca_data.empty()) {
    curl_blob blob{const_cast<char*>(cfg_.ca_data.data()), cfg_.ca_data.size(), CURL_BLOB_COPY};
    curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
  } else if (!cfg_.ca_file.empty()) {
    curl_easy_setopt(c, CURLOPT_CAINFO, cfg_.ca_file.c_str());
  }
  if (!cfg_.cert_data.empty()) {
    curl_blob cert{const_cast<char*>(cfg_.cert_data.data()), cfg_.cert_data.size(), CURL_BLOB_COPY};
    curl_easy_setopt(c, CURLOPT_SSLCERT_BLOB, &cert);
    curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
  } else if (!cfg_.cert_file.empty()) {
    curl_easy_setopt(c, CURLOPT_SSLCERT, cfg_.cert_file.c_str());
  }
  if (!cfg_.key_data.empty()) {
    curl_blob key{const_cast<char*>(cfg_.key_data.data()), cfg_.key_data.size(), CURL_BLOB_COPY};
    curl_easy_setopt(c, CURLOPT_SSLKEY_BLOB, &key);
    curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
  } else if (!cfg_.key_file.empty()) {
    curl_easy_setopt(c, CURLOPT_SSLKEY, cfg_.key_file.c_str());
  }
  return Ok();
}

namespace rest_detail {
struct Slist {
  curl_slist* l = nullptr;
  ~Slist() {
    if (l) curl_slist_free_all(l);
  }
  void Add(const std::string& s) { l = curl_slist_append(l, s.c_str()); }
};

std::string BearerToken(const RestConfig& cfg) {
  if (!cfg.token_file.empty()) {
    auto t = ReadFile(cfg.token_file, 1 << 20);
    if (t.ok()) return std::string(Trim(*t));
  }
  return cfg.token;
}
}  // namespace rest_detail

Result<Response> RestClient::Once(std::string_view method, const std::string& path,
                                  const std::string& body, const char* content_type,
                                  std::string* retry_after) {
  limiter_.Accept();
  auto h = Acquire();
  if (auto r = Configure(*h, cfg_.server + path); !r.ok()) return r.error();
  CURL* c = h->curl;
  Slist headers;
  headers.Add("Accept: application/json");
  std::string token = BearerToken(cfg_);
  if (!token.empty()) headers.Add("Authorization: Bearer " + token);
  std::string m(method);
  if (m == "GET") {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, m.c_str());
    if (!body.empty() || m == "POST" || m == "PUT" || m == "PATCH") {
      headers.Add(std::string("Content-Type: ") + content_type);
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    }
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.l);
  curl_easy_setopt(
      c, CURLOPT_TIMEOUT_MS,
      static_cast<long>(
          std::chrono::duration_cast<std::chrono::milliseconds>(cfg_.timeout).count()));
  Body out;
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, WriteBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, HeaderCb);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, retry_after);
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  stats_.requests++;
  CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    stats_.failures++;
    // A handle whose connection failed is dropped rather than pooled.
    if (out.too_large) {
      return Error(m + " " + cfg_.server + path + ": response body too large",
                   ErrorCode::kUnavailable);
    }
    return TransferError(m + " " + cfg_.server + path, rc, errbuf);
  }
  Response resp;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
  resp.body = std::move(out.data);
  if (resp.status >= 500) stats_.failures++;
  Release(std::move(h));
  return resp;
}

Result<Response> RestClient::Do(std::string_view method, const std::string& path,
                                const std::string& body, const char* content_type) {
  thread_local std::mt19937 rng{std::random_device{}()};
  auto backoff = std::chrono::milliseconds(200);
  for (int attempt = 0;; ++attempt) {
    std::string retry_after;
    auto r = Once(method, path, body, content_type, &retry_after);
    bool retry = (!r.ok() && !r.error().is(ErrorCode::kPermission)) ||
                 (r.ok() && (r->status == 429 || r->status >= 500));
    if (!retry || attempt >= max_retries) return r;
    auto wait =
        backoff + std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 100)(rng));
    if (!retry_after.empty() && r.ok()) {
      int secs = std::atoi(retry_after.c_str());
      if (secs > 0) wait = std::chrono::seconds(std::min(secs, 10));
    }
    log::V(2, "apiserver request retried",
           {{"method", method},
            {"path", path},
            {"error", r.ok() ? std::to_string(r->status) : r.error().message()}});
    std::this_thread::sleep_for(wait);
    backoff *= 2;
  }
}

Result<nlohmann::json> RestClient::Json(std::string_view method, const std::string& path,
                                        const nlohmann::json* body, const char* content_type) {
  std::string data = body && !body->is_null() ? body->dump() : "";
  auto r = Do(method, path, data, content_type);
  if (!r.ok()) return std::move(r).error();
  if (r->status < 200 || r->status > 299) return StatusError(*r, std::string(method) + " " + path);
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (j.is_discarded()) return Invalid(std::string(method) + " " + path + ": response is not JSON");
  return j;
}

Result<nlohmann::json> RestClient::Get(const std::string& path) {
  return Json("GET", path, nullptr, kJson);
}
Result<nlohmann::json> RestClient::Post(const std::string& path, const nlohmann::json& body) {
  return Json("POST", path, &body, kJson);
}
Result<nlohmann::json> RestClient::Put(const std::string& path, const nlohmann::json& body) {
  return Json("PUT", path, &body, kJson);
}
Result<nlohmann::json> RestClient::Patch(const std::string& path, const nlohmann::json& body,
                                         const char* patch_type) {
  return Json("PATCH", path, &body, patch_type);
}
Result<nlohmann::json> RestClient::Delete(const std::string& path, const nlohmann::json& options) {
  return Json("DELETE", path, &options, kJson);
}

Result<long> RestClient::Stream(const std::string& path,
                                const std::function<void(std::string_view)>& on_line,
                                const std::atomic<bool>& cancel, std::string* error_body,
                                size_t max_line) {
  limiter_.Accept();
  Handle h;
  h.curl = curl_easy_init();
  if (auto r = Configure(h, cfg_.server + path); !r.ok()) return r.error();
  CURL* c = h.curl;
  Slist headers;
  headers.Add("Accept: application/json");
  std::string token = BearerToken(cfg_);
  if (!token.empty()) headers.Add("Authorization: Bearer " + token);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.l);
  StreamState st;
  st.on_line = &on_line;
  st.cancel = &cancel;
  st.max_line = max_line;
  st.curl = c;
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, StreamWrite);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &st);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, StreamProgress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &st);
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  stats_.requests++;
  CURLcode rc = curl_easy_perform(c);
  if (cancel.load()) return Error("watch " + path + ": cancelled", ErrorCode::kCancelled);
  if (rc != CURLE_OK) {
    stats_.failures++;
    return TransferError("watch " + path, rc, errbuf);
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (!st.buf.empty() && status == 200) on_line(st.buf);  // a last line without its newline
  if (error_body) *error_body = std::move(st.error_body);
  return status;
}

}  // namespace nanolet::client
