#include "cmd/client_commands.h"

#include <curl/curl.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "api/decode.h"
#include "server/pod_table.h"

namespace nanolet::cmd {
namespace {

size_t ToString(char* d, size_t s, size_t n, void* u) {
  static_cast<std::string*>(u)->append(d, s * n);
  return s * n;
}
size_t ToStdout(char* d, size_t s, size_t n, void*) {
  size_t w = std::fwrite(d, s, n, stdout);
  std::fflush(stdout);
  return w * s;
}

// GET url; the body goes to `body` (or stdout when null). Returns the HTTP status, or -1 with `err` set.
long Get(const std::string& url, std::string* body, std::string* err) {
  CURL* c = curl_easy_init();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt(c, CURLOPT_PROXY, "");
  if (body) {
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, ToString);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
  } else {
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, ToStdout);
  }
  CURLcode rc = curl_easy_perform(c);
  long code = -1;
  if (rc == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  else *err = curl_easy_strerror(rc);
  curl_easy_cleanup(c);
  return code;
}

std::string Escape(const std::string& s) {
  char* e = curl_easy_escape(nullptr, s.c_str(), static_cast<int>(s.size()));
  std::string out(e);
  curl_free(e);
  return out;
}

}  // namespace

int GetPods(const ClientFlags& f) {
  std::string body, err;
  long code = Get(f.server + "/pods", &body, &err);
  if (code != 200) {
    std::fprintf(stderr, "nanolet: GET %s/pods: %s\n", f.server.c_str(),
                 code < 0 ? err.c_str() : ("HTTP " + std::to_string(code)).c_str());
    return 1;
  }
  nlohmann::json list = nlohmann::json::parse(body, nullptr, false);
  if (!list.is_object() || !list.contains("items")) {
    std::fprintf(stderr, "nanolet: %s/pods: not a PodList\n", f.server.c_str());
    return 1;
  }
  nlohmann::json items = nlohmann::json::array();
  std::vector<api::Pod> pods;
  for (const auto& it : list["items"]) {
    std::string ns = it.contains("metadata") ? it["metadata"].value("namespace", "default") : "default";
    if (!f.all_namespaces && ns != f.namespace_) continue;
    items.push_back(it);
    auto p = api::DecodePod(it);
    if (p.ok()) pods.push_back(std::move(*p));
  }
  if (f.output == "json") {
    list["items"] = items;
    std::printf("%s\n", list.dump(4).c_str());
    return 0;
  }
  if (pods.empty()) {
    std::fprintf(stderr, "No resources found%s.\n",
                 f.all_namespaces ? "" : (" in " + f.namespace_ + " namespace").c_str());
    return 0;
  }
  auto now = std::chrono::system_clock::now();
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> header = {"NAME", "READY", "STATUS", "RESTARTS", "AGE"};
  if (f.all_namespaces) header.insert(header.begin(), "NAMESPACE");
  if (f.output == "wide") {
    for (const char* h : {"IP", "NODE", "NOMINATED NODE", "READINESS GATES"}) header.push_back(h);
  }
  rows.push_back(header);
  for (const auto& p : pods) {
    auto r = server::PrintPod(p, now);
    std::vector<std::string> row = {r.name, r.ready, r.status, r.restarts, r.age};
    if (f.all_namespaces) row.insert(row.begin(), p.metadata.namespace_);
    if (f.output == "wide") {
      for (const auto& c : {r.ip, r.node, r.nominated_node, r.readiness_gates}) row.push_back(c);
    }
    rows.push_back(row);
  }
  std::vector<size_t> width(header.size(), 0);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 3, ' ');
    }
    std::printf("%s\n", line.c_str());
  }
  return 0;
}

int Logs(const ClientFlags& f) {
  std::string url = f.server + "/api/v1/namespaces/" + Escape(f.namespace_) + "/pods/" + Escape(f.pod) + "/log?";
  if (!f.container.empty()) url += "container=" + Escape(f.container) + "&";
  if (f.follow) url += "follow=true&";
  if (f.tail >= 0) url += "tailLines=" + std::to_string(f.tail) + "&";
  std::string err;
  long code = Get(url, nullptr, &err);
  if (code != 200) {
    std::fprintf(stderr, "nanolet: logs %s: %s\n", f.pod.c_str(),
                 code < 0 ? err.c_str() : ("HTTP " + std::to_string(code)).c_str());
    return 1;
  }
  return 0;
}

}  // namespace nanolet::cmd
