#include "client/reflector.h"

#include <random>

#include "util/log.h"

namespace nanolet::client {
namespace reflector_detail {

std::string Str(const nlohmann::json& m, const char* key) {
  auto it = m.find(key);
  return it != m.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string Key(const nlohmann::json& obj) {
  auto it = obj.find("metadata");
  if (it == obj.end() || !it->is_object()) return "";
  std::string ns = Str(*it, "namespace"), name = Str(*it, "name");
  if (name.empty()) return "";
  return ns.empty() ? name : ns + "/" + name;
}

std::string Rv(const nlohmann::json& obj) {
  const auto& m = obj.value("metadata", nlohmann::json::object());
  if (!m.is_object() || !m.contains("resourceVersion") || !m["resourceVersion"].is_string())
    return "";
  return m["resourceVersion"].get<std::string>();
}

}  // namespace reflector_detail

using namespace reflector_detail;

Reflector::Reflector(RestClient& client, Options opts, ReflectorHandler& handler)
    : client_(client), opts_(std::move(opts)), handler_(handler) {}

Reflector::~Reflector() { Stop(); }

void Reflector::Start() {
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Run(); });
}

void Reflector::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::string Reflector::LastResourceVersion() const {
  std::lock_guard<std::mutex> l(const_cast<std::mutex&>(mu_));
  return rv_;
}

void Reflector::SleepFor(Duration d) {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait_for(l, d, [this] { return stop_.load(); });
}

Result<void> Reflector::List() {
  std::vector<nlohmann::json> items;
  std::string cont, rv;
  do {
    std::string q = opts_.path + "?limit=500";
    if (!opts_.field_selector.empty()) q += "&fieldSelector=" + QueryEscape(opts_.field_selector);
    if (!cont.empty()) q += "&continue=" + QueryEscape(cont);
    auto r = client_.Get(q);
    if (!r.ok()) {
      // An expired continue token: start over (upstream does a full list).
      return std::move(r).error().Wrap("list");
    }
    const auto& meta = r->value("metadata", nlohmann::json::object());
    rv = meta.is_object() ? meta.value("resourceVersion", "") : "";
    cont = meta.is_object() ? meta.value("continue", "") : "";
    const auto& its = r->value("items", nlohmann::json::array());
    if (its.is_array()) {
      for (const auto& it : its) {
        if (it.is_object()) items.push_back(it);
      }
    }
  } while (!cont.empty() && !stop_.load());
  stats_.lists++;
  seen_.clear();
  for (const auto& it : items) seen_[Key(it)] = Rv(it);
  {
    std::lock_guard<std::mutex> l(mu_);
    rv_ = rv;
  }
  handler_.OnReplace(std::move(items));
  synced_ = true;
  return Ok();
}

void Reflector::HandleLine(std::string_view line, bool& gone) {
  // An object of the wrong shape (a string where a map belongs, ...) is one bad event, not the end
  // of the watch: the consumer's decoding throws nothing past here.
  try {
    HandleEvent(line, gone);
  } catch (const std::exception& e) {
    stats_.malformed++;
    log::Warn("watch: malformed event skipped", {{"watch", opts_.name}, {"error", e.what()}});
  }
}

void Reflector::HandleEvent(std::string_view line, bool& gone) {
  auto ev = nlohmann::json::parse(line, nullptr, false);
  if (ev.is_discarded() || !ev.is_object() || !ev.contains("type") || !ev["type"].is_string() ||
      !ev.contains("object") || !ev["object"].is_object()) {
    stats_.malformed++;
    log::Warn("watch: malformed event skipped",
              {{"watch", opts_.name}, {"bytes", std::to_string(line.size())}});
    return;
  }
  std::string type = ev["type"].get<std::string>();
  nlohmann::json& obj = ev["object"];
  if (type == "ERROR") {
    int code = obj.contains("code") && obj["code"].is_number_integer() ? obj["code"].get<int>() : 0;
    if (code == 410) {
      gone = true;
    } else {
      log::Warn("watch: error event", {{"watch", opts_.name}, {"error", Str(obj, "message")}});
    }
    return;
  }
  std::string rv = Rv(obj);
  if (type == "BOOKMARK") {
    if (!rv.empty()) {
      std::lock_guard<std::mutex> l(mu_);
      rv_ = rv;
    }
    return;
  }
  std::string key = Key(obj);
  if (key.empty()) {
    stats_.malformed++;
    log::Warn("watch: event without a name skipped", {{"watch", opts_.name}});
    return;
  }
  EventType t;
  if (type == "ADDED") {
    t = EventType::kAdded;
  } else if (type == "MODIFIED") {
    t = EventType::kModified;
  } else if (type == "DELETED") {
    t = EventType::kDeleted;
  } else {
    stats_.malformed++;
    log::Warn("watch: unknown event type skipped", {{"watch", opts_.name}, {"type", type}});
    return;
  }
  if (!rv.empty()) {
    std::lock_guard<std::mutex> l(mu_);
    rv_ = rv;
  }
  if (t == EventType::kDeleted) {
    if (seen_.erase(key) == 0) return;  // deleted before we knew it, or already gone
  } else {
    auto it = seen_.find(key);
    if (it != seen_.end() && !rv.empty() && it->second == rv) return;  // a replay
    seen_[key] = rv;
  }
  stats_.events++;
  handler_.OnEvent(t, std::move(obj));
}

Result<bool> Reflector::Watch() {
  thread_local std::mt19937 rng{std::random_device{}()};
  int timeout = opts_.min_watch_timeout_s +
                std::uniform_int_distribution<int>(0, std::max(1, opts_.min_watch_timeout_s))(rng);
  std::string q = opts_.path +
                  "?watch=1&allowWatchBookmarks=true&timeoutSeconds=" + std::to_string(timeout) +
                  "&resourceVersion=" + QueryEscape(LastResourceVersion());
  if (!opts_.field_selector.empty()) q += "&fieldSelector=" + QueryEscape(opts_.field_selector);
  bool gone = false;
  std::string error_body;
  stats_.watches++;
  auto r = client_.Stream(
      q, [&](std::string_view line) { HandleLine(line, gone); }, stop_, &error_body);
  if (!r.ok()) return std::move(r).error();
  if (*r == 410) return true;
  if (*r != 200) return StatusError(Response{*r, error_body}, "watch " + opts_.path);
  return gone;
}

void Reflector::Run() {
  Duration backoff = opts_.min_backoff;
  bool need_list = true;
  int failures = 0;
  while (!stop_.load()) {
    if (need_list) {
      Result<void> r = Ok();
      try {
        r = List();
      } catch (const std::exception& e) {  // a list of the wrong shape
        r = Error(std::string("list: malformed response: ") + e.what(), ErrorCode::kInvalid);
      }
      if (!r.ok()) {
        if (stop_.load()) break;
        log::Warn("list failed; retrying",
                  {{"watch", opts_.name},
                   {"error", r.error().message()},
                   {"retryIn", std::to_string(backoff.count() / 1000000) + "ms"}});
        SleepFor(backoff);
        backoff = std::min(backoff * 2, opts_.max_backoff);
        continue;
      }
      need_list = false;
    }
    auto start = std::chrono::steady_clock::now();
    auto w = Watch();
    if (stop_.load()) break;
    if (w.ok()) {
      failures = 0;
      backoff = opts_.min_backoff;
      if (*w) {
        log::Info("watch: resource version too old; relisting", {{"watch", opts_.name}});
        need_list = true;
      }
      continue;
    }
    // A watch that ran for a while was healthy: reconnect at once with the minimum backoff.
    if (std::chrono::steady_clock::now() - start > std::chrono::seconds(30))
      backoff = opts_.min_backoff;
    ++failures;
    log::Warn("watch broken; rewatching",
              {{"watch", opts_.name},
               {"error", w.error().message()},
               {"retryIn", std::to_string(backoff.count() / 1000000) + "ms"}});
    // Non-connection errors (403, 500s) several times in a row: relist from scratch, as upstream
    // does.
    if (!w.error().is(ErrorCode::kUnavailable) && failures >= 3) need_list = true;
    SleepFor(backoff);
    backoff = std::min(backoff * 2, opts_.max_backoff);
  }
}

}  // namespace nanolet::client
