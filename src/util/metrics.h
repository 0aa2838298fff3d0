#pragma once
// A tiny Prometheus registry: counters, gauges and histograms, each a family of series keyed by
// label values, exposed in the text format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/).
//
// Thread-safety: every method may be called from any thread. Families are created once (usually at
// static initialisation or module start) and live as long as their registry; the references handed
// out stay valid. Updating a series is lock-free (atomics); looking a series up by labels takes the
// family's mutex, so hot paths keep the reference:
//
//   static auto& ops = metrics::Registry::Default().Counter(
//       "kubelet_runtime_operations_total", "Cumulative number of runtime operations by operation
//       type.",
//       {"operation_type"});
//   ops.With({"create_container"}).Inc();
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace nanolet::metrics {

// A double updated atomically (CAS loop for additions).
class AtomicDouble {
 public:
  void Add(double v);
  void Set(double v) { bits_.store(ToBits(v), std::memory_order_relaxed); }
  double Get() const { return FromBits(bits_.load(std::memory_order_relaxed)); }

 private:
  static uint64_t ToBits(double v);
  static double FromBits(uint64_t b);
  std::atomic<uint64_t> bits_{0};
};

class Counter {
 public:
  // Negative increments are ignored (a counter only goes up).
  void Inc(double v = 1);
  double Value() const { return v_.Get(); }

 private:
  AtomicDouble v_;
};

class Gauge {
 public:
  void Set(double v) { v_.Set(v); }
  void Inc(double v = 1) { v_.Add(v); }
  void Dec(double v = 1) { v_.Add(-v); }
  double Value() const { return v_.Get(); }

 private:
  AtomicDouble v_;
};

class Histogram {
 public:
  // `bounds`: upper bounds, ascending, without +Inf.
  explicit Histogram(std::vector<double> bounds);
  void Observe(double v);
  // Cumulative counts per bound, then the +Inf count (== Count()).
  std::vector<uint64_t> CumulativeCounts() const;
  uint64_t Count() const { return count_.load(std::memory_order_relaxed); }
  double Sum() const { return sum_.Get(); }
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // non-cumulative, bounds_.size() + 1
  std::atomic<uint64_t> count_{0};
  AtomicDouble sum_;
};

enum class Type { kCounter, kGauge, kHistogram };

// The series of one metric name. `With` takes label values in the order of the family's label
// names; a wrong number of values is a programming error (asserted; in release builds missing
// values are "").
template <typename M>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::function<std::unique_ptr<M>()> make)
      : name_(std::move(name)),
        help_(std::move(help)),
        label_names_(std::move(label_names)),
        make_(std::move(make)) {}

  M& With(const std::vector<std::string>& values) {
    std::lock_guard<std::mutex> l(mu_);
    auto& slot = series_[values];
    if (!slot) slot = make_();
    return *slot;
  }
  // The series without labels (for families declared with no label names).
  M& Get() { return With({}); }
  // Removes one series (a pod that went away, say).
  void Remove(const std::vector<std::string>& values) {
    std::lock_guard<std::mutex> l(mu_);
    series_.erase(values);
  }
  // Calls f(values, metric) for each series in label order, under the family lock.
  template <typename F>
  void ForEach(F&& f) const {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& [k, v] : series_) f(k, *v);
  }

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }

 private:
  const std::string name_, help_;
  const std::vector<std::string> label_names_;
  const std::function<std::unique_ptr<M>()> make_;
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<M>> series_;  // guarded by mu_
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

// Prometheus' default buckets (.005 ... 10 seconds).
std::vector<double> DefaultBuckets();
// start, start*factor, ... (count bounds), as prometheus.ExponentialBuckets.
std::vector<double> ExponentialBuckets(double start, double factor, int count);

class Registry {
 public:
  Registry();
  ~Registry();
  // The process-wide registry that modules register into and /metrics serves.
  static Registry& Default();

  // Registering the same name twice with the same type returns the existing family (its help and
  // labels stay those of the first registration); with another type it is a programming error
  // (aborts).
  CounterFamily& Counter(const std::string& name, const std::string& help,
                         std::vector<std::string> label_names = {});
  GaugeFamily& Gauge(const std::string& name, const std::string& help,
                     std::vector<std::string> label_names = {});
  HistogramFamily& Histogram(const std::string& name, const std::string& help,
                             std::vector<std::string> label_names = {},
                             std::vector<double> buckets = DefaultBuckets());

  // The text exposition (format 0.0.4) of every family, sorted by name; families without series are
  // omitted.
  std::string Expose() const;

 private:
  struct Entry;
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Entry>> families_;  // guarded by mu_
};

// Formatting helpers shared with code that writes exposition text itself (process metrics).
// A sample value as Prometheus writes it: integers without exponent, "+Inf", "NaN".
std::string FormatValue(double v);
// A label value with \\, \" and \n escaped.
std::string EscapeLabelValue(const std::string& v);
// Content-Type of the text format.
inline constexpr const char* kTextContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace nanolet::metrics
