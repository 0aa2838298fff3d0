#include "config/url_source.h"

#include <curl/curl.h>
#include <uv.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "config/static_pod.h"
#include "config/uv_handle.h"
#include "util/log.h"
#include "util/strings.h"

namespace nanolet::config {
namespace {

using internal::UvHandle;

// Upstream sourceURL.run: the first few failures are logged loudly, later ones only at --v 4.
constexpr int kLoudFailures = 3;

// What one fetch produced, handed from the worker to the loop.
struct FetchOutcome {
  enum class Kind { kFailed, kUnchanged, kLoaded, kEmpty };
  Kind kind = Kind::kFailed;
  std::string error;          // kFailed
  ManifestContents contents;  // kLoaded (may hold errors)
};

struct BodyBuffer {
  std::string data;
  bool too_large = false;
};

size_t WriteBody(char* ptr, size_t size, size_t nmemb, void* userdata) {
  auto* b = static_cast<BodyBuffer*>(userdata);
  size_t n = size * nmemb;
  if (b->data.size() + n > kMaxManifestBytes) {
    b->too_large = true;
    return 0;  // aborts the transfer
  }
  b->data.append(ptr, n);
  return n;
}

void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

Result<void> ParseManifestUrlHeader(std::string_view flag_value, HttpHeaders& out) {
  for (const auto& pair : Split(flag_value, ',')) {
    if (pair.empty()) continue;
    size_t colon = pair.find(':');
    if (colon == std::string::npos) return Invalid("malformed pair, expect string:string");
    out.emplace_back(std::string(Trim(std::string_view(pair).substr(0, colon))),
                     std::string(Trim(std::string_view(pair).substr(colon + 1))));
  }
  return Ok();
}

struct UrlSource::Impl {
  // State shared by the loop thread and the worker; everything below is guarded by `mu`.
  struct Shared {
    std::mutex mu;
    std::condition_variable cv;
    bool stop = false;
    bool requested = false;
    uv_async_t* async = nullptr;  // null once the loop side stops listening
    bool has_outcome = false;
    FetchOutcome outcome;
  };

  // Constant after construction.
  uv_loop_t* loop;
  Options opts;
  SourceCallback on_pods;
  const Clock* clock;

  // Owned by the loop thread.
  Stats stats;
  bool running = false;
  bool in_flight = false;
  bool emitted = false;
  int consecutive_failures = 0;
  std::vector<api::Pod> current;
  UvHandle<uv_timer_t> tick;
  UvHandle<uv_async_t> async;
  std::thread worker;
  CURLM* multi = nullptr;  // created before the worker starts, freed after it is joined
  Shared shared;

  // Owned by the worker thread.
  std::string last_body;
  bool have_last_body = false;

  Impl(uv_loop_t* l, Options o, SourceCallback cb)
      : loop(l),
        opts(std::move(o)),
        on_pods(std::move(cb)),
        clock(opts.clock != nullptr ? opts.clock : &RealClock::Instance()) {}

  // ---- worker thread ----

  void WorkerMain() {
    for (;;) {
      {
        std::unique_lock<std::mutex> l(shared.mu);
        shared.cv.wait(l, [&] { return shared.stop || shared.requested; });
        if (shared.stop) return;
        shared.requested = false;
      }
      FetchOutcome outcome = FetchAndLoad();
      std::lock_guard<std::mutex> l(shared.mu);
      if (shared.stop || shared.async == nullptr) return;
      shared.outcome = std::move(outcome);
      shared.has_outcome = true;
      uv_async_send(shared.async);
    }
  }

  bool Stopping() {
    std::lock_guard<std::mutex> l(shared.mu);
    return shared.stop;
  }

  // Fetches the URL: the body, or an error naming the URL and the cause.
  Result<std::string> Fetch() {
    CURL* easy = curl_easy_init();
    if (easy == nullptr) return Error("curl_easy_init failed");
    BodyBuffer body;
    char errbuf[CURL_ERROR_SIZE] = {0};
    curl_slist* headers = nullptr;
    for (const auto& [k, v] : opts.headers)
      headers = curl_slist_append(headers, (k + ": " + v).c_str());
    long timeout_ms = std::max<long>(
        1, std::chrono::duration_cast<std::chrono::milliseconds>(opts.timeout).count());
    curl_easy_setopt(easy, CURLOPT_URL, opts.url.c_str());
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(easy, CURLOPT_MAXREDIRS, 10L);  // as Go's http.Client
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(easy, CURLOPT_USERAGENT, "nanolet");
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &WriteBody);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);

    CURLcode code = CURLE_OK;
    bool cancelled = false;
    curl_multi_add_handle(multi, easy);
    for (;;) {
      int still_running = 0;
      CURLMcode mc = curl_multi_perform(multi, &still_running);
      if (mc != CURLM_OK) {
        code = CURLE_RECV_ERROR;
        snprintf(errbuf, sizeof errbuf, "%s", curl_multi_strerror(mc));
        break;
      }
      if (still_running == 0) {
        int left = 0;
        while (CURLMsg* m = curl_multi_info_read(multi, &left)) {
          if (m->msg == CURLMSG_DONE && m->easy_handle == easy) code = m->data.result;
        }
        break;
      }
      if (Stopping()) {
        cancelled = true;
        break;
      }
      curl_multi_poll(multi, nullptr, 0, 1000, nullptr);  // curl_multi_wakeup interrupts it
    }
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    curl_multi_remove_handle(multi, easy);
    curl_easy_cleanup(easy);
    curl_slist_free_all(headers);

    if (cancelled) return Error(opts.url + ": cancelled", ErrorCode::kCancelled);
    if (body.too_large) {
      return Error(opts.url + ": body is larger than " + std::to_string(kMaxManifestBytes) +
                   " bytes");
    }
    if (code != CURLE_OK) {
      std::string why = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(code);
      return Error(opts.url + ": " + why, code == CURLE_OPERATION_TIMEDOUT
                                              ? ErrorCode::kTimeout
                                              : ErrorCode::kUnavailable);
    }
    if (status != 200) {
      return Error(opts.url + ": HTTP status " + std::to_string(status), ErrorCode::kUnavailable);
    }
    return std::move(body.data);
  }

  // Upstream sourceURL.extractFromURL, run on the worker.
  FetchOutcome FetchAndLoad() {
    FetchOutcome out;
    auto body = Fetch();
    if (!body.ok()) {
      out.kind = FetchOutcome::Kind::kFailed;
      out.error = body.error().message();
      return out;
    }
    if (body->empty()) {
      // Forget the last body: when it comes back, its pods must come back too (upstream keeps it
      // and so would ignore them).
      have_last_body = false;
      last_body.clear();
      out.kind = FetchOutcome::Kind::kEmpty;
      return out;
    }
    if (have_last_body && *body == last_body) {
      out.kind = FetchOutcome::Kind::kUnchanged;
      return out;
    }
    last_body = std::move(*body);
    have_last_body = true;
    out.kind = FetchOutcome::Kind::kLoaded;
    out.contents = LoadManifest(last_body, ManifestOrigin{kSourceHttp, opts.url, opts.node_name});
    return out;
  }

  // ---- loop thread ----

  void RequestFetch() {
    if (!running || in_flight) return;
    in_flight = true;
    {
      std::lock_guard<std::mutex> l(shared.mu);
      shared.requested = true;
    }
    shared.cv.notify_one();
  }

  static void OnTick(uv_timer_t* h) { static_cast<Impl*>(h->data)->RequestFetch(); }

  static void OnAsync(uv_async_t* h) {
    auto* self = static_cast<Impl*>(h->data);
    FetchOutcome outcome;
    {
      std::lock_guard<std::mutex> l(self->shared.mu);
      if (!self->shared.has_outcome) return;
      outcome = std::move(self->shared.outcome);
      self->shared.has_outcome = false;
    }
    self->in_flight = false;
    self->Handle(std::move(outcome));
  }

  void Fail(const std::string& error) {
    ++stats.failures;
    if (consecutive_failures < kLoudFailures) {
      log::Error("failed to read pods from URL", {{"url", opts.url}, {"error", error}});
    } else if (consecutive_failures == kLoudFailures) {
      log::Error("failed to read pods from URL, logging further failures at --v 4",
                 {{"url", opts.url}, {"error", error}});
    } else {
      log::V(4, "failed to read pods from URL", {{"url", opts.url}, {"error", error}});
    }
    ++consecutive_failures;
  }

  void Succeeded() {
    if (consecutive_failures > 0) log::Info("successfully read pods from URL", {{"url", opts.url}});
    consecutive_failures = 0;
  }

  void Emit(std::vector<api::Pod> pods) {
    current = std::move(pods);
    emitted = true;
    ++stats.callbacks;
    on_pods(kSourceHttp, current);
  }

  void Handle(FetchOutcome outcome) {
    if (!running) return;
    ++stats.fetches;
    switch (outcome.kind) {
      case FetchOutcome::Kind::kFailed:
        Fail(outcome.error);
        return;
      case FetchOutcome::Kind::kUnchanged:
        Succeeded();
        return;
      case FetchOutcome::Kind::kEmpty:
        // Upstream: "Emit an update with an empty PodList to allow HTTPSource to be marked as
        // seen".
        Fail("zero-length data received from " + opts.url);
        if (!emitted || !current.empty()) Emit({});
        return;
      case FetchOutcome::Kind::kLoaded:
        break;
    }
    ManifestContents& c = outcome.contents;
    LogManifestProblems(c, opts.url);
    if (!c.ok()) {
      Fail("the body has " + std::to_string(c.errors.size()) +
           " error(s); keeping the current pods");
      return;
    }
    if (!c.config_maps.empty() || !c.secrets.empty()) {
      log::Warn("manifest URL: only pods are used, ConfigMaps and Secrets are ignored",
                {{"url", opts.url}});
    }
    Succeeded();
    StampSeen(c.pods, current, clock->Now());
    if (emitted && c.pods == current) return;
    Emit(std::move(c.pods));
  }
};

UrlSource::UrlSource(uv_loop_t* loop, Options opts, SourceCallback on_pods)
    : impl_(std::make_unique<Impl>(loop, std::move(opts), std::move(on_pods))) {}

UrlSource::~UrlSource() { Stop(); }

Result<void> UrlSource::Start() {
  Impl& s = *impl_;
  if (s.running) return Ok();
  if (s.opts.url.empty()) return Invalid("manifest URL is empty");
  GlobalInitOnce();
  s.multi = curl_multi_init();
  if (s.multi == nullptr) return Error("curl_multi_init failed");

  int rc = uv_timer_init(s.loop, s.tick.Allocate());
  if (rc != 0) return Error(std::string("uv_timer_init: ") + uv_strerror(rc));
  s.tick.MarkInitialized();
  s.tick.get()->data = &s;
  rc = uv_async_init(s.loop, s.async.Allocate(), &Impl::OnAsync);
  if (rc != 0) return Error(std::string("uv_async_init: ") + uv_strerror(rc));
  s.async.MarkInitialized();
  s.async.get()->data = &s;
  {
    std::lock_guard<std::mutex> l(s.shared.mu);
    s.shared.stop = false;
    s.shared.async = s.async.get();
  }
  s.worker = std::thread([&s] { s.WorkerMain(); });
  s.running = true;
  uint64_t interval = std::max<uint64_t>(
      1, std::chrono::duration_cast<std::chrono::milliseconds>(s.opts.interval).count());
  uv_timer_start(s.tick.get(), &Impl::OnTick, 0, interval);  // first fetch at once
  log::Info("watching manifest URL", {{"url", s.opts.url}});
  return Ok();
}

void UrlSource::Stop() {
  Impl& s = *impl_;
  s.running = false;
  {
    std::lock_guard<std::mutex> l(s.shared.mu);
    s.shared.stop = true;
    s.shared.async = nullptr;
  }
  s.shared.cv.notify_all();
  if (s.multi != nullptr) curl_multi_wakeup(s.multi);
  if (s.worker.joinable()) s.worker.join();
  if (s.multi != nullptr) {
    curl_multi_cleanup(s.multi);
    s.multi = nullptr;
  }
  s.tick.Close();
  s.async.Close();
  s.in_flight = false;
}

std::vector<api::Pod> UrlSource::Pods() const { return impl_->current; }

const UrlSource::Stats& UrlSource::stats() const { return impl_->stats; }

}  // namespace nanolet::config
