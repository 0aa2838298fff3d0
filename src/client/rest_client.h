#pragma once
// RestClient: a kube-apiserver REST client on libcurl (HTTPS with the kubeconfig's CA, client
// certificate or bearer token), as client-go's rest.RESTClient for what a kubelet needs: GET, POST,
// PUT, PATCH (merge and strategic merge), DELETE with options, and streaming GETs for watches.
//
// Every request first takes a token from the client-side rate limiter (qps/burst). Requests that
// get no HTTP answer (connection refused/reset, TLS failure, timeout) or a 429/5xx answer are
// retried up to `max_retries` times with exponential backoff (200 ms doubling, jittered;
// Retry-After honoured up to 10 s); 4xx answers are returned at once. Thread-safe: any thread may
// call any method; connections are reused through a small pool of curl handles.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "client/kubeconfig.h"
#include "client/rate_limiter.h"
#include "util/result.h"

namespace nanolet::client {

inline constexpr const char* kJson = "application/json";
inline constexpr const char* kMergePatch = "application/merge-patch+json";
inline constexpr const char* kStrategicMergePatch = "application/strategic-merge-patch+json";

struct Response {
  long status = 0;  // HTTP status
  std::string body;
};

// Error for a non-2xx answer: the apiserver Status message when the body is one. Codes: 404
// kNotFound, 409 kAlreadyExists (AlreadyExists and Conflict alike), 401/403 kPermission, 410
// kTimeout (Gone/Expired: the resourceVersion is too old), 422/400 kInvalid, 429/5xx kUnavailable.
Error StatusError(const Response& r, std::string_view what);

class RestClient {
 public:
  struct Stats {
    std::atomic<uint64_t> requests{0};  // HTTP requests sent (retries included, watches included)
    std::atomic<uint64_t> failures{0};  // requests with no answer or a 5xx answer
  };

  static Result<std::unique_ptr<RestClient>> Create(RestConfig cfg, const Clock* clock = nullptr);
  ~RestClient();
  RestClient(const RestClient&) = delete;
  RestClient& operator=(const RestClient&) = delete;

  // One request (path starts with "/api" or "/apis", query included), rate-limited and retried as
  // above. An Error means no HTTP answer even after the retries.
  Result<Response> Do(std::string_view method, const std::string& path,
                      const std::string& body = "", const char* content_type = kJson);

  // JSON helpers: a non-2xx answer becomes StatusError.
  Result<nlohmann::json> Get(const std::string& path);
  Result<nlohmann::json> Post(const std::string& path, const nlohmann::json& body);
  Result<nlohmann::json> Put(const std::string& path, const nlohmann::json& body);
  Result<nlohmann::json> Patch(const std::string& path, const nlohmann::json& body,
                               const char* patch_type = kStrategicMergePatch);
  Result<nlohmann::json> Delete(const std::string& path, const nlohmann::json& options = nullptr);

  // A streaming GET (watch): each complete line of the body is handed to `on_line` as it arrives,
  // on the calling thread. Lines longer than `max_line` are dropped (logged) without ending the
  // stream. Returns the HTTP status when the server ends the stream (a non-200 status: the body is
  // in `error_body`), an Error when the connection breaks or `cancel` becomes true. Rate-limited;
  // not retried (the caller re-watches).
  Result<long> Stream(const std::string& path, const std::function<void(std::string_view)>& on_line,
                      const std::atomic<bool>& cancel, std::string* error_body = nullptr,
                      size_t max_line = 16 << 20);

  const RestConfig& config() const { return cfg_; }
  const Stats& stats() const { return stats_; }
  int max_retries = 3;

  struct Handle;

 private:
  RestClient(RestConfig cfg, const Clock& clock);
  Result<Response> Once(std::string_view method, const std::string& path, const std::string& body,
                        const char* content_type, std::string* retry_after);
  Result<nlohmann::json> Json(std::string_view method, const std::string& path,
                              const nlohmann::json* body, const char* content_type);
  std::unique_ptr<Handle> Acquire();
  void Release(std::unique_ptr<Handle> h);
  Result<void> Configure(Handle& h, const std::string& url);

  const RestConfig cfg_;
  TokenBucket limiter_;
  Stats stats_;
  std::mutex pool_mu_;
  std::vector<std::unique_ptr<Handle>> pool_;  // guarded by pool_mu_
};

// URL path pieces: "/api/v1/namespaces/<ns>/pods/<name>" etc. Names are DNS labels/subdomains (no
// escaping needed); query values are escaped.
std::string QueryEscape(std::string_view s);

}  // namespace nanolet::client
