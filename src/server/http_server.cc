// The only translation unit that includes Boost.Beast (heavy to compile).
#include "server/http_server.h"

#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "util/log.h"

namespace nanolet::server {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;

std::string PercentDecode(std::string_view s, bool plus_is_space) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

std::string HttpRequest::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() && ::strncasecmp(k.data(), name.data(), k.size()) == 0) return v;
  }
  return "";
}

std::string HttpRequest::Param(const std::string& name) const {
  auto it = params.find(name);
  return it == params.end() ? std::string() : it->second;
}

namespace http_server_detail {

std::string S(boost::beast::string_view v) { return std::string(v.data(), v.size()); }

void ParseTarget(std::string_view target, HttpRequest* r) {
  size_t q = target.find('?');
  r->path = PercentDecode(target.substr(0, q), false);
  if (q == std::string_view::npos) return;
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view kv = query.substr(0, amp);
    if (!kv.empty()) {
      size_t eq = kv.find('=');
      r->params.emplace(PercentDecode(kv.substr(0, eq), true),
                        eq == std::string_view::npos ? "" : PercentDecode(kv.substr(eq + 1), true));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
}

// A request parse error → the status to answer with (0: just close).
int StatusForReadError(const beast::error_code& ec) {
  if (ec == http::error::header_limit) return 431;
  if (ec == http::error::body_limit) return 413;
  if (ec.category() == http::make_error_code(http::error::bad_version).category()) {
    if (ec == http::error::end_of_stream || ec == http::error::partial_message) return 0;
    return 400;
  }
  return 0;
}

}  // namespace http_server_detail

using namespace http_server_detail;

class HttpServer::Impl : public std::enable_shared_from_this<HttpServer::Impl> {
 public:
  Impl(HttpServerOptions opts, HttpHandler handler)
      : opts_(std::move(opts)),
        handler_(std::move(handler)),
        ioc_(std::max(1, opts_.io_threads)),
        acceptor_(net::make_strand(ioc_)),
        retry_timer_(acceptor_.get_executor()) {}

  Result<void> Start() {
    tls_ = !opts_.tls_cert_file.empty() && !opts_.tls_key_file.empty();
    beast::error_code ec;
    if (tls_) {
      ssl_ctx_.emplace(ssl::context::tls_server);
      ssl_ctx_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                            ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                            ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
      ssl_ctx_->use_certificate_chain_file(opts_.tls_cert_file, ec);
      if (ec)
        return Error(opts_.name + ": TLS certificate " + opts_.tls_cert_file + ": " + ec.message());
      ssl_ctx_->use_private_key_file(opts_.tls_key_file, ssl::context::pem, ec);
      if (ec) return Error(opts_.name + ": TLS key " + opts_.tls_key_file + ": " + ec.message());
    }
    auto addr = net::ip::make_address(opts_.address, ec);
    if (ec) return Invalid(opts_.name + ": bad address \"" + opts_.address + "\"");
    tcp::endpoint ep(addr, static_cast<unsigned short>(opts_.port));
    std::string where = opts_.address + ":" + std::to_string(opts_.port);
    acceptor_.open(ep.protocol(), ec);
    if (ec) return Error(opts_.name + ": socket: " + ec.message());
    acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    acceptor_.bind(ep, ec);
    if (ec) return Error(opts_.name + ": bind " + where + ": " + ec.message());
    acceptor_.listen(opts_.listen_backlog, ec);
    if (ec) return Error(opts_.name + ": listen " + where + ": " + ec.message());
    port_ = acceptor_.local_endpoint().port();
    Accept();
    for (int i = 0; i < std::max(1, opts_.io_threads); ++i) {
      threads_.emplace_back([this] { ioc_.run(); });
    }
    return Ok();
  }

  void Stop() {
    if (threads_.empty()) return;
    stopping_ = true;
    net::post(acceptor_.get_executor(), [this] {
      beast::error_code ec;
      acceptor_.close(ec);
      retry_timer_.cancel();
    });
    {
      // Streams notice `stopping_` within their poll interval; writes waiting on the I/O threads
      // are released by the notify.
      std::unique_lock<std::mutex> l(mu_);
      stream_cv_.notify_all();
      stream_cv_.wait_for(l, std::chrono::seconds(10), [&] { return streams_ == 0; });
    }
    ioc_.stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

  int port() const { return port_; }
  size_t connections() const { return connections_.load(); }

  // Shared state of the server that sessions (which may outlive nothing: Stop joins the I/O
  // threads, which own every session) reach.
  const HttpServerOptions opts_;
  const HttpHandler handler_;
  // Made only for TLS: an OpenSSL context initialises the library (providers, configuration) and touches
  // pages of libcrypto/libssl that a plain-HTTP server never needs.
  std::optional<ssl::context> ssl_ctx_;
  bool tls_ = false;
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> connections_{0};
  std::mutex mu_;
  std::condition_variable stream_cv_;
  int streams_ = 0;  // guarded by mu_
  // Declared after what sessions use: destroying it destroys the sessions still pending.
  net::io_context ioc_;

  // Called by a stream thread after it dropped its session.
  void StreamEnded() {
    std::lock_guard<std::mutex> l(mu_);
    --streams_;
    stream_cv_.notify_all();
  }

 private:
  void Accept();
  void OnAccept(beast::error_code ec, tcp::socket socket);

  tcp::acceptor acceptor_;
  net::steady_timer retry_timer_;
  std::vector<std::thread> threads_;
  int port_ = 0;
  std::chrono::steady_clock::time_point last_accept_warning_{};
};

namespace http_server_detail {

// One connection. Owned by the shared_ptrs its pending operations hold; all its members are used
// on its strand, except what the stream producer touches (guarded by mu_).
template <bool kTls>
class Session : public std::enable_shared_from_this<Session<kTls>> {
  using Stream = std::conditional_t<kTls, beast::ssl_stream<beast::tcp_stream>, beast::tcp_stream>;

 public:
  Session(HttpServer::Impl& srv, tcp::socket&& socket)
      : srv_(srv), stream_(MakeStream(srv, std::move(socket))) {
    ++srv_.connections_;
  }
  ~Session() { --srv_.connections_; }

  void Run() {
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] { self->Begin(); });
  }

 private:
  static Stream MakeStream(HttpServer::Impl& srv, tcp::socket&& socket) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *srv.ssl_ctx_);
    } else {
      (void)srv;
      return Stream(std::move(socket));
    }
  }
  beast::tcp_stream& Tcp() { return beast::get_lowest_layer(stream_); }

  void Begin() {
    beast::error_code ec;
    auto& sock = Tcp().socket();
    auto local = sock.local_endpoint(ec);
    auto remote = sock.remote_endpoint(ec);
    if (ec) return;
    local_addr_ = local.address().to_string();
    local_port_ = local.port();
    remote_addr_ = remote.address().to_string();
    remote_port_ = remote.port();
    if constexpr (kTls) {
      Tcp().expires_after(srv_.opts_.request_timeout);
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code e) {
                                if (!e) self->Read();
                              });
    } else {
      Read();
    }
  }

  void Read() {
    if (srv_.stopping_) return Close();
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(srv_.opts_.max_header_bytes));
    parser_->body_limit(srv_.opts_.max_body_bytes);
    Tcp().expires_after(srv_.opts_.request_timeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec) {
      int status = StatusForReadError(ec);
      if (status == 0) return Close();
      HttpResponse res;
      res.status = status;
      res.close = true;
      res.SetContent(status == 431   ? "request header fields too large\n"
                     : status == 413 ? "request body too large\n"
                                     : "bad request\n",
                     "text/plain; charset=utf-8");
      return Send(std::move(res), false);
    }
    auto& msg = parser_->get();
    HttpRequest req;
    req.method = S(msg.method_string());
    req.target = S(msg.target());
    ParseTarget(req.target, &req);
    for (const auto& f : msg) req.headers.emplace_back(S(f.name_string()), S(f.value()));
    req.remote_addr = remote_addr_;
    req.remote_port = remote_port_;
    req.local_addr = local_addr_;
    req.local_port = local_port_;
    keep_alive_ = msg.keep_alive();
    HttpResponse res;
    if (req.target.empty() || req.target[0] != '/') {
      res.status = 400;
      res.close = true;
      res.SetContent("bad request target\n", "text/plain; charset=utf-8");
    } else {
      try {
        srv_.handler_(req, res);
      } catch (const std::exception& e) {
        log::Error("http handler failed",
                   {{"server", srv_.opts_.name}, {"path", req.path}, {"err", e.what()}});
        res = HttpResponse();
        res.status = 500;
        res.SetContent("internal error\n", "text/plain; charset=utf-8");
      }
    }
    Send(std::move(res), req.method == "HEAD");
  }

  template <class Msg>
  void SetCommon(Msg& m, const HttpResponse& res, bool keep_alive) {
    m.result(static_cast<http::status>(res.status));
    m.set(http::field::content_type, res.content_type);
    for (const auto& [k, v] : res.headers) m.set(k, v);
    m.keep_alive(keep_alive);
  }

  void Send(HttpResponse res, bool head) {
    if (res.stream) return SendStream(std::move(res));
    bool keep = keep_alive_ && !res.close && !srv_.stopping_;
    body_ = res.body;
    out_.emplace();
    out_->version(11);
    SetCommon(*out_, res, keep);
    size_t n = body_ ? body_->size() : 0;
    out_->content_length(n);
    out_->body().data = head || n == 0 ? nullptr : const_cast<char*>(body_->data());
    out_->body().size = head ? 0 : n;
    out_->body().more = false;
    Tcp().expires_after(srv_.opts_.write_timeout);
    http::async_write(stream_, *out_,
                      [self = this->shared_from_this(), keep](beast::error_code ec, size_t) {
                        self->out_.reset();
                        self->body_.reset();
                        if (ec) return;
                        if (keep) return self->Read();
                        self->Close();
                      });
  }

  // Streams: the header goes out here, then the producer runs on its own thread and hands each
  // chunk to the strand (Sink::Write), waiting for it to be written (back-pressure).
  class Sink final : public StreamSink {
   public:
    explicit Sink(std::shared_ptr<Session> s) : s_(std::move(s)) {}
    bool Write(std::string_view data) override {
      if (data.empty()) return Alive();
      if (!Alive()) return false;
      auto st = std::make_shared<WriteState>();
      st->data.assign(data);
      auto s = s_;
      net::post(s->stream_.get_executor(), [s, st] {
        s->Tcp().expires_after(s->srv_.opts_.write_timeout);
        net::async_write(s->stream_, http::make_chunk(net::buffer(st->data)),
                         [s, st](beast::error_code ec, size_t) {
                           if (!ec) s->Tcp().expires_never();
                           std::lock_guard<std::mutex> l(s->srv_.mu_);
                           st->done = true;
                           st->ok = !ec;
                           if (ec) s->broken_ = true;
                           s->srv_.stream_cv_.notify_all();
                         });
      });
      std::unique_lock<std::mutex> l(s->srv_.mu_);
      s->srv_.stream_cv_.wait(l, [&] { return st->done || s->srv_.stopping_; });
      return st->done && st->ok;
    }
    bool Alive() override {
      if (s_->srv_.stopping_) return false;
      {
        std::lock_guard<std::mutex> l(s_->srv_.mu_);
        if (s_->broken_) return false;
      }
      // The peer's FIN or RST shows without reading (the request was read completely).
      struct pollfd p = {s_->fd_, POLLRDHUP, 0};
      if (::poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR | POLLRDHUP))) return false;
      return true;
    }

   private:
    struct WriteState {
      std::string data;
      bool done = false;  // guarded by the server's mu_
      bool ok = false;
    };
    std::shared_ptr<Session> s_;
  };

  void SendStream(HttpResponse res) {
    {
      std::lock_guard<std::mutex> l(srv_.mu_);
      if (srv_.streams_ >= srv_.opts_.max_streams || srv_.stopping_) {
        if (res.on_done) res.on_done();
        HttpResponse busy;
        busy.status = 503;
        busy.close = true;
        busy.SetHeader("Retry-After", "1");
        busy.SetContent("too many streams\n", "text/plain; charset=utf-8");
        return Send(std::move(busy), false);
      }
      ++srv_.streams_;
    }
    stream_fn_ = std::move(res.stream);
    stream_done_ = std::move(res.on_done);
    fd_ = Tcp().socket().native_handle();
    head_.emplace();
    head_->version(11);
    SetCommon(*head_, res, false);
    head_->chunked(true);
    head_sr_.emplace(*head_);
    Tcp().expires_after(srv_.opts_.write_timeout);
    http::async_write_header(stream_, *head_sr_,
                             [self = this->shared_from_this()](beast::error_code ec, size_t) {
                               if (!ec) self->Tcp().expires_never();
                               std::thread([self, ok = !ec]() mutable {
                                 auto& srv = self->srv_;
                                 self->Produce(ok);
                                 self.reset();
                                 srv.StreamEnded();
                               }).detach();
                             });
  }

  void Produce(bool header_ok) {
    if (header_ok) {
      Sink sink(this->shared_from_this());
      try {
        stream_fn_(sink);
      } catch (const std::exception& e) {
        log::Error("http stream failed", {{"server", srv_.opts_.name}, {"err", e.what()}});
      }
    }
    if (stream_done_) stream_done_();
    stream_fn_ = nullptr;
    stream_done_ = nullptr;
    auto self = this->shared_from_this();
    net::post(stream_.get_executor(), [self] {
      bool broken;
      {
        std::lock_guard<std::mutex> l(self->srv_.mu_);
        broken = self->broken_;
      }
      if (broken || self->srv_.stopping_) return self->Close();
      self->Tcp().expires_after(self->srv_.opts_.write_timeout);
      net::async_write(self->stream_, http::make_chunk_last(),
                       [self](beast::error_code, size_t) { self->Close(); });
    });
  }

  void Close() {
    beast::error_code ec;
    if constexpr (kTls) {
      Tcp().expires_after(std::chrono::seconds(2));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {
        beast::error_code e;
        self->Tcp().socket().shutdown(tcp::socket::shutdown_both, e);
        self->Tcp().close();
      });
    } else {
      // Half-close, then read what the client still sends (for at most a second) before closing:
      // closing with unread input sends a RST, which can destroy an error answer the client has
      // not read yet (a 431 after oversized headers).
      Tcp().socket().shutdown(tcp::socket::shutdown_send, ec);
      Tcp().expires_after(std::chrono::seconds(1));
      Drain();
    }
  }

  void Drain() {
    Tcp().async_read_some(net::buffer(discard_),
                          [self = this->shared_from_this()](beast::error_code ec, size_t) {
                            if (ec) return self->Tcp().close();
                            self->Drain();
                          });
  }

  HttpServer::Impl& srv_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::buffer_body>> out_;
  std::shared_ptr<const std::string> body_;  // what out_ points into
  std::optional<http::response<http::empty_body>> head_;
  std::optional<http::response_serializer<http::empty_body>> head_sr_;
  std::function<void(StreamSink&)> stream_fn_;
  std::function<void()> stream_done_;
  bool keep_alive_ = false;
  bool broken_ = false;  // a stream write failed; guarded by srv_.mu_
  int fd_ = -1;
  char discard_[4096];
  std::string local_addr_, remote_addr_;
  int local_port_ = 0, remote_port_ = 0;
};

}  // namespace http_server_detail

void HttpServer::Impl::Accept() {
  acceptor_.async_accept(net::make_strand(ioc_), [this](beast::error_code ec, tcp::socket s) {
    OnAccept(ec, std::move(s));
  });
}

void HttpServer::Impl::OnAccept(beast::error_code ec, tcp::socket socket) {
  if (stopping_ || !acceptor_.is_open()) return;
  if (ec) {
    // EMFILE/ENFILE and the like: log now and then, back off a little, go on accepting.
    auto now = std::chrono::steady_clock::now();
    if (now - last_accept_warning_ > std::chrono::seconds(10)) {
      last_accept_warning_ = now;
      log::Warn("accept failed", {{"server", opts_.name}, {"err", ec.message()}});
    }
    retry_timer_.expires_after(std::chrono::milliseconds(50));
    retry_timer_.async_wait([this](beast::error_code e) {
      if (!e && !stopping_) Accept();
    });
    return;
  }
  if (connections_.load() >= opts_.max_connections) {
    beast::error_code e;
    socket.close(e);  // over the cap: the client sees the connection closed
  } else {
    beast::error_code e;
    socket.set_option(tcp::no_delay(true), e);
    if (tls_) {
      std::make_shared<Session<true>>(*this, std::move(socket))->Run();
    } else {
      std::make_shared<Session<false>>(*this, std::move(socket))->Run();
    }
  }
  Accept();
}

HttpServer::HttpServer(HttpServerOptions opts, HttpHandler handler)
    : impl_(std::make_unique<Impl>(std::move(opts), std::move(handler))) {}
HttpServer::~HttpServer() { Stop(); }
Result<void> HttpServer::Start() { return impl_->Start(); }
void HttpServer::Stop() { impl_->Stop(); }
int HttpServer::port() const { return impl_->port(); }
size_t HttpServer::connections() const { return impl_->connections(); }

}  // namespace nanolet::server
