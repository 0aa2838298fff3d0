#pragma once
// A minimal HTTP/1.1 server on 127.0.0.1 for the URL source tests (Debian's cpp-httplib needs its
// shared library, which unit_config does not link). One thread, one connection at a time,
// "Connection: close".
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace nanolet::config::testing {

struct HttpRequest {
  std::string method, path;
  std::multimap<std::string, std::string> headers;  // names as sent
};
struct HttpResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
};

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  explicit HttpServer(Handler handler) : handler_(std::move(handler)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(fd_, 64);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    if (::pipe(stop_pipe_) != 0) stop_pipe_[0] = stop_pipe_[1] = -1;
    thread_ = std::thread([this] { Run(); });
  }
  ~HttpServer() {
    if (stop_pipe_[1] >= 0) (void)::write(stop_pipe_[1], "x", 1);
    thread_.join();
    ::close(fd_);
    ::close(stop_pipe_[0]);
    ::close(stop_pipe_[1]);
  }
  int port() const { return port_; }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

 private:
  void Run() {
    for (;;) {
      pollfd fds[2] = {{fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) continue;
      if (fds[1].revents != 0) return;
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      Serve(c);
      ::close(c);
    }
  }

  void Serve(int c) {
    std::string in;
    char buf[4096];
    while (in.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = ::read(c, buf, sizeof buf);
      if (n <= 0) return;
      in.append(buf, static_cast<size_t>(n));
    }
    HttpRequest req;
    size_t eol = in.find("\r\n");
    std::string line = in.substr(0, eol);
    size_t sp1 = line.find(' ');
    size_t sp2 = line.find(' ', sp1 + 1);
    req.method = line.substr(0, sp1);
    req.path = line.substr(sp1 + 1, sp2 - sp1 - 1);
    size_t pos = eol + 2;
    for (;;) {
      size_t next = in.find("\r\n", pos);
      if (next == std::string::npos || next == pos) break;
      std::string h = in.substr(pos, next - pos);
      size_t colon = h.find(':');
      if (colon != std::string::npos) {
        size_t v = colon + 1;
        while (v < h.size() && h[v] == ' ') ++v;
        req.headers.emplace(h.substr(0, colon), h.substr(v));
      }
      pos = next + 2;
    }
    HttpResponse res = handler_(req);
    std::string out = "HTTP/1.1 " + std::to_string(res.status) +
                      " X\r\nContent-Type: " + res.content_type +
                      "\r\nContent-Length: " + std::to_string(res.body.size()) +
                      "\r\nConnection: close\r\n\r\n" + res.body;
    size_t off = 0;
    while (off < out.size()) {
      ssize_t n = ::write(c, out.data() + off, out.size() - off);
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
  }

  Handler handler_;
  int fd_ = -1;
  int port_ = 0;
  int stop_pipe_[2] = {-1, -1};
  std::thread thread_;
};

}  // namespace nanolet::config::testing
