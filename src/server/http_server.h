#pragma once
// The HTTP/1.1 server under the node API ports: Boost.Beast over Boost.Asio (Debian libboost-dev,
// header-only), plain TCP or TLS.
//
// Why not Debian's libcpp-httplib (used before): its compiled library waits with select(), so a
// connection whose descriptor is >= FD_SETSIZE (1024) corrupts memory, it needs one thread per
// open connection, and a client trickling one byte every few seconds is never dropped (its read
// timeout is per read). Debian ships only the split header, so it cannot be rebuilt with
// CPPHTTPLIB_USE_POLL from the header alone.
//
// Guarantees (what the robustness tests check):
// - A fixed number of I/O threads (`io_threads`) serves every connection asynchronously (epoll);
//   open connections are capped (`max_connections`; beyond: accepted and closed at once).
// - A request (line, headers and body) must arrive complete within `request_timeout` of the
//   previous response (or of the connection, or of the TLS handshake), else the connection is
//   closed: a slow trickle cannot hold a connection. The same deadline is the keep-alive idle time.
// - Request line + headers above `max_header_bytes`: 431 and close; a body above
//   `max_body_bytes`: 413 and close; anything unparsable: 400 and close.
// - Handlers run on the I/O threads and must not block; a streamed response (logs) runs its
//   producer on a thread of its own, at most `max_streams` at once (beyond: 503).
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.h"

namespace nanolet::server {

struct HttpRequest {
  std::string method;                              // GET, HEAD, ...
  std::string target;                              // as received: path and query
  std::string path;                                // percent-decoded path
  std::multimap<std::string, std::string> params;  // decoded query parameters
  std::vector<std::pair<std::string, std::string>> headers;
  std::string remote_addr;
  int remote_port = 0;
  std::string local_addr;
  int local_port = 0;

  // The first header named `name` (case-insensitive), or "".
  std::string Header(std::string_view name) const;
  // The first parameter named `name`, or "".
  std::string Param(const std::string& name) const;
};

// Given to a streamed response's producer (on its own thread).
class StreamSink {
 public:
  virtual ~StreamSink() = default;
  // Sends `data` as one chunk and waits until it is written. False: the client went away, the
  // write timed out or the server is stopping; stop producing.
  virtual bool Write(std::string_view data) = 0;
  // False once the peer has closed its side or the server is stopping.
  virtual bool Alive() = 0;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;
  std::shared_ptr<const std::string> body;  // null: empty
  // Set: the body is streamed (chunked) by this function on a stream thread; the connection closes
  // afterwards. `on_done` (if set) runs after it, also when the stream never started.
  std::function<void(StreamSink&)> stream;
  std::function<void()> on_done;
  bool close = false;  // close the connection after this response

  void SetContent(std::string text, std::string type) {
    body = std::make_shared<const std::string>(std::move(text));
    content_type = std::move(type);
  }
  void SetShared(std::shared_ptr<const std::string> b, std::string type) {
    body = std::move(b);
    content_type = std::move(type);
  }
  void SetHeader(std::string k, std::string v) { headers.emplace_back(std::move(k), std::move(v)); }
};

using HttpHandler = std::function<void(const HttpRequest&, HttpResponse&)>;

struct HttpServerOptions {
  std::string name = "http";  // in logs
  std::string address = "0.0.0.0";
  int port = 0;  // 0: any free port (see HttpServer::port)
  // TLS when both are set (PEM files).
  std::string tls_cert_file;
  std::string tls_key_file;

  int io_threads = 2;
  size_t max_connections = 8192;
  int max_streams = 32;
  size_t max_header_bytes = 8 << 10;
  size_t max_body_bytes = 64 << 10;
  std::chrono::milliseconds request_timeout{10000};
  std::chrono::milliseconds write_timeout{10000};
  int listen_backlog = 1024;
};

class HttpServer {
 public:
  HttpServer(HttpServerOptions opts, HttpHandler handler);
  ~HttpServer();  // Stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds, listens and starts the I/O threads.
  Result<void> Start();
  // Closes the listener and every connection, ends streams, joins the threads. Idempotent.
  void Stop();
  int port() const;
  // Open connections now (tests).
  size_t connections() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// "%41" -> "A"; with `plus_is_space`, '+' -> ' ' (query strings). Malformed escapes stay as they
// are.
std::string PercentDecode(std::string_view s, bool plus_is_space);

}  // namespace nanolet::server
