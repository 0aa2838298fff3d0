#pragma once
// FakeApi: a tiny in-process apiserver (cpp-httplib on a free loopback port) for the kubelet's
// apiserver side (status manager, event recorder, node status agent). A test registers the routes it
// needs on `srv` (ServeEvents() adds the events POST/PATCH routes), calls Log(req) in its handlers
// and waits for the logged requests with WaitFor. Client() is a RestClient to it without QPS limit.
#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "client/rest_client.h"

namespace nanolet::kubelet::testing {

class FakeApi {
 public:
  struct Req {
    std::string method, path;
    std::string raw;     // the body as sent
    nlohmann::json body;  // the body parsed; discarded (is_discarded()) when it is no JSON
  };

  FakeApi() {
    port_ = srv.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { srv.listen_after_bind(); });
  }
  ~FakeApi() {
    srv.stop();
    thread_.join();
  }
  FakeApi(const FakeApi&) = delete;
  FakeApi& operator=(const FakeApi&) = delete;

  std::unique_ptr<client::RestClient> Client() {
    client::RestConfig c;
    c.server = "http://127.0.0.1:" + std::to_string(port_);
    c.qps = 0;
    return std::move(*client::RestClient::Create(c));
  }
  // Events in namespace default: a POST is answered with its body (the created event), a PATCH of
  // events/<name> with {}. Both are logged.
  void ServeEvents() {
    srv.Post("/api/v1/namespaces/default/events",
             [this](const httplib::Request& req, httplib::Response& res) {
               Log(req);
               res.set_content(req.body, "application/json");
             });
    srv.Patch(R"(/api/v1/namespaces/default/events/(.*))",
              [this](const httplib::Request& req, httplib::Response& res) {
                Log(req);
                res.set_content("{}", "application/json");
              });
  }
  void Log(const httplib::Request& req) {
    std::lock_guard<std::mutex> l(mu);
    requests.push_back({req.method, req.path, req.body, nlohmann::json::parse(req.body, nullptr, false)});
    cv.notify_all();
  }
  // True once `n` requests were logged; false after 10 s.
  bool WaitFor(size_t n) {
    std::unique_lock<std::mutex> l(mu);
    return cv.wait_for(l, std::chrono::seconds(10), [&] { return requests.size() >= n; });
  }

  httplib::Server srv;
  std::mutex mu;  // guards requests
  std::condition_variable cv;
  std::vector<Req> requests;

 private:
  int port_ = 0;
  std::thread thread_;
};

}  // namespace nanolet::kubelet::testing
