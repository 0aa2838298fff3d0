#include "kubelet/backoff.h"

#include <algorithm>

namespace nanolet::kubelet {

Backoff::Backoff(const Clock& clock, Duration initial, Duration max)
    : clock_(clock), initial_(initial), max_(max) {}

bool Backoff::Expired(TimePoint event_time, TimePoint last_update) const {
  return event_time - last_update > 2 * max_;
}

Duration Backoff::Get(const std::string& key) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = entries_.find(key);
  return it == entries_.end() ? Duration(0) : it->second.backoff;
}

void Backoff::Next(const std::string& key, TimePoint event_time) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end() || Expired(event_time, it->second.last_update)) {
    it = entries_.insert_or_assign(key, Entry{initial_, {}, {}}).first;
  } else {
    it->second.backoff = std::min(it->second.backoff * 2, max_);
  }
  it->second.last_update = clock_.Now();
}

bool Backoff::IsInBackOffSince(const std::string& key, TimePoint event_time) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end() || Expired(event_time, it->second.last_update)) return false;
  return clock_.Now() - event_time < it->second.backoff;
}

bool Backoff::IsInBackOffSinceUpdate(const std::string& key, TimePoint event_time) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end() || Expired(event_time, it->second.last_update)) return false;
  return event_time - it->second.last_update < it->second.backoff;
}

Duration Backoff::RemainingSinceUpdate(const std::string& key, TimePoint now) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end() || Expired(now, it->second.last_update)) return Duration(0);
  Duration left = it->second.last_update + it->second.backoff - now;
  return left > Duration(0) ? left : Duration(0);
}

void Backoff::SetNote(const std::string& key, std::string note) {
  std::lock_guard<std::mutex> l(mu_);
  if (auto it = entries_.find(key); it != entries_.end()) it->second.note = std::move(note);
}

std::string Backoff::Note(const std::string& key) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = entries_.find(key);
  return it == entries_.end() ? std::string() : it->second.note;
}

void Backoff::Reset(const std::string& key) {
  std::lock_guard<std::mutex> l(mu_);
  entries_.erase(key);
}

void Backoff::GC() {
  std::lock_guard<std::mutex> l(mu_);
  TimePoint now = clock_.Now();
  std::erase_if(entries_, [&](const auto& kv) { return now - kv.second.last_update > 2 * max_; });
}

size_t Backoff::size() const {
  std::lock_guard<std::mutex> l(mu_);
  return entries_.size();
}

}  // namespace nanolet::kubelet
