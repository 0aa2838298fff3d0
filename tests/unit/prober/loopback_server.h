#pragma once
// A tiny HTTP/1.1 server on 127.0.0.1 for prober tests: one thread, one connection at a time, each
// answered by `handler(path, request_text)` with (status, extra headers, body), then closed.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace nanolet::prober::testing {

struct Reply {
  int status = 200;
  std::string headers;  // "Location: /x\r\n"
  std::string body;
  std::string raw;  // when set, written as it is instead of a formatted response
};

class LoopbackServer {
 public:
  using Handler = std::function<Reply(const std::string& path, const std::string& request)>;
  explicit LoopbackServer(Handler h) : handler_(std::move(h)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 64);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~LoopbackServer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  int port() const { return port_; }
  int requests() const { return requests_; }
  std::string last_request() const {
    std::lock_guard<std::mutex> l(mu_);
    return last_request_;
  }

 private:
  void Serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      std::string req;
      char buf[4096];
      while (req.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        req.append(buf, static_cast<size_t>(n));
      }
      {
        std::lock_guard<std::mutex> l(mu_);
        last_request_ = req;
      }
      ++requests_;
      auto sp1 = req.find(' '), sp2 = req.find(' ', sp1 + 1);
      std::string path = sp1 == std::string::npos ? "" : req.substr(sp1 + 1, sp2 - sp1 - 1);
      Reply r = handler_(path, req);
      std::string out = !r.raw.empty()
                            ? r.raw
                            : "HTTP/1.1 " + std::to_string(r.status) +
                                  " X\r\nContent-Length: " + std::to_string(r.body.size()) +
                                  "\r\nConnection: close\r\n" + r.headers + "\r\n" + r.body;
      (void)!::write(c, out.data(), out.size());
      ::close(c);
    }
  }
  Handler handler_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  mutable std::mutex mu_;
  std::string last_request_;  // guarded by mu_
  std::thread thread_;
};

}  // namespace nanolet::prober::testing
