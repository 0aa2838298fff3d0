#include "kubelet/lifecycle.h"

#include <curl/curl.h>
#include <strings.h>

#include <thread>

#include "runtime/runtime.h"

namespace nanolet::kubelet {

int ResolvePort(const api::IntOrString& port, const api::Container& c) {
  if (!port.is_string) return port.int_val;
  for (const auto& p : c.ports) {
    if (p.name == port.str_val) return p.container_port;
  }
  // A numeric string is a port too.
  if (!port.str_val.empty() && port.str_val.find_first_not_of("0123456789") == std::string::npos &&
      port.str_val.size() < 6) {
    return std::atoi(port.str_val.c_str());
  }
  return 0;
}

namespace {
size_t Collect(char* data, size_t size, size_t n, void* user) {
  auto* out = static_cast<std::string*>(user);
  if (out && out->size() < 10240) out->append(data, std::min<size_t>(size * n, 10240 - out->size()));
  return size * n;
}
}  // namespace

Result<int> HttpGet(const std::string& url, const std::vector<api::HTTPHeader>& headers,
                    std::chrono::milliseconds timeout, std::string* body_prefix) {
  CURL* curl = curl_easy_init();
  if (!curl) return Error("curl_easy_init failed");
  curl_slist* hdrs = nullptr;
  bool has_ua = false;
  for (const auto& h : headers) {
    hdrs = curl_slist_append(hdrs, (h.name + ": " + h.value).c_str());
    if (strcasecmp(h.name.c_str(), "User-Agent") == 0) has_ua = true;
  }
  if (!has_ua) hdrs = curl_slist_append(hdrs, "User-Agent: kube-probe/1.30");
  std::string body;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(std::max<int64_t>(timeout.count(), 1)));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);  // upstream probes skip TLS verification
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl, CURLOPT_PROXY, "");
  CURLcode rc = curl_easy_perform(curl);
  long code = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
  curl_slist_free_all(hdrs);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) return Error(std::string("Get \"") + url + "\": " + curl_easy_strerror(rc));
  if (body_prefix) *body_prefix = std::move(body);
  return static_cast<int>(code);
}

Result<void> RunLifecycleHook(runtime::Runtime& rt, const api::Pod& pod, const api::Container& c,
                              const std::string& container_id, const std::string& pod_ip,
                              const api::LifecycleHandler& handler, std::chrono::milliseconds timeout) {
  if (timeout.count() <= 0) timeout = std::chrono::milliseconds(1);
  if (handler.exec) {
    auto r = rt.ExecSync(container_id, handler.exec->command, timeout);
    if (!r.ok()) return r.error();
    if (r->timed_out) return Error("exec hook timed out");
    if (r->exit_code != 0) {
      return Error("command '" + (handler.exec->command.empty() ? "" : handler.exec->command[0]) +
                   "' exited with " + std::to_string(r->exit_code) + ": " + r->err + r->out);
    }
    return Ok();
  }
  if (handler.http_get) {
    const auto& g = *handler.http_get;
    int port = ResolvePort(g.port, c);
    if (port <= 0) return Invalid("hook port " + (g.port.is_string ? g.port.str_val : "") + " not found");
    std::string host = !g.host.empty() ? g.host : !pod_ip.empty() ? pod_ip : "127.0.0.1";
    std::string scheme = g.scheme == "HTTPS" ? "https" : "http";
    std::string path = g.path.empty() || g.path[0] != '/' ? "/" + g.path : g.path;
    ASSIGN_OR_RETURN(int code, HttpGet(scheme + "://" + host + ":" + std::to_string(port) + path,
                                       g.http_headers, timeout));
    if (code < 200 || code >= 400) return Error("HTTP hook returned status " + std::to_string(code));
    return Ok();
  }
  if (handler.sleep) {
    // The sleep action is a sleep by definition, bounded by the grace left.
    auto d = std::min<std::chrono::milliseconds>(std::chrono::seconds(handler.sleep->seconds), timeout);
    std::this_thread::sleep_for(d);
    return Ok();
  }
  if (handler.tcp_socket) return Ok();  // deprecated: upstream does nothing for tcpSocket hooks
  return Invalid("hook has no handler");
}

}  // namespace nanolet::kubelet
