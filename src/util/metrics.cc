#include "util/metrics.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace nanolet::metrics {

uint64_t AtomicDouble::ToBits(double v) {
  uint64_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}
double AtomicDouble::FromBits(uint64_t b) {
  double v;
  std::memcpy(&v, &b, sizeof v);
  return v;
}
void AtomicDouble::Add(double v) {
  uint64_t old = bits_.load(std::memory_order_relaxed);
  while (!bits_.compare_exchange_weak(old, ToBits(FromBits(old) + v), std::memory_order_relaxed)) {
  }
}

void Counter::Inc(double v) {
  if (v > 0) v_.Add(v);
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  std::sort(bounds_.begin(), bounds_.end());
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double v) {
  size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();  // v <= bound
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.Add(v);
  count_.fetch_add(1, std::memory_order_relaxed);
}

std::vector<uint64_t> Histogram::CumulativeCounts() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  uint64_t acc = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    acc += buckets_[i].load(std::memory_order_relaxed);
    out[i] = acc;
  }
  return out;
}

std::vector<double> DefaultBuckets() { return {.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}; }

std::vector<double> ExponentialBuckets(double start, double factor, int count) {
  std::vector<double> out;
  for (int i = 0; i < count; ++i, start *= factor) out.push_back(start);
  return out;
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.17g", v);
    // Prefer the shortest text that round-trips.
    for (int prec = 1; prec < 17; ++prec) {
      char b2[64];
      std::snprintf(b2, sizeof b2, "%.*g", prec, v);
      if (std::strtod(b2, nullptr) == v) {
        std::memcpy(buf, b2, sizeof b2);
        break;
      }
    }
  }
  return buf;
}

std::string EscapeLabelValue(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

namespace {

std::string EscapeHelp(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

// {a="x",b="y"} with an optional extra label (le for histogram buckets); "" when there are no
// labels.
std::string LabelText(const std::vector<std::string>& names, const std::vector<std::string>& values,
                      const char* extra_name = nullptr, const std::string& extra_value = {}) {
  if (names.empty() && !extra_name) return "";
  std::string out = "{";
  bool first = true;
  for (size_t i = 0; i < names.size(); ++i) {
    if (!first) out += ',';
    first = false;
    out += names[i];
    out += "=\"";
    out += EscapeLabelValue(i < values.size() ? values[i] : std::string());
    out += '"';
  }
  if (extra_name) {
    if (!first) out += ',';
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
  return out;
}

}  // namespace

struct Registry::Entry {
  Type type;
  std::unique_ptr<CounterFamily> counter;
  std::unique_ptr<GaugeFamily> gauge;
  std::unique_ptr<HistogramFamily> histogram;
};

Registry::Registry() = default;
Registry::~Registry() = default;

Registry& Registry::Default() {
  static Registry* r = new Registry();  // never destroyed: metrics may be touched during exit
  return *r;
}

CounterFamily& Registry::Counter(const std::string& name, const std::string& help,
                                 std::vector<std::string> label_names) {
  std::lock_guard<std::mutex> l(mu_);
  auto& e = families_[name];
  if (!e) {
    e = std::make_unique<Entry>();
    e->type = Type::kCounter;
    e->counter = std::make_unique<CounterFamily>(
        name, help, std::move(label_names), [] { return std::make_unique<metrics::Counter>(); });
  }
  if (e->type != Type::kCounter) std::abort();
  return *e->counter;
}

GaugeFamily& Registry::Gauge(const std::string& name, const std::string& help,
                             std::vector<std::string> label_names) {
  std::lock_guard<std::mutex> l(mu_);
  auto& e = families_[name];
  if (!e) {
    e = std::make_unique<Entry>();
    e->type = Type::kGauge;
    e->gauge = std::make_unique<GaugeFamily>(name, help, std::move(label_names),
                                             [] { return std::make_unique<metrics::Gauge>(); });
  }
  if (e->type != Type::kGauge) std::abort();
  return *e->gauge;
}

HistogramFamily& Registry::Histogram(const std::string& name, const std::string& help,
                                     std::vector<std::string> label_names,
                                     std::vector<double> buckets) {
  std::lock_guard<std::mutex> l(mu_);
  auto& e = families_[name];
  if (!e) {
    e = std::make_unique<Entry>();
    e->type = Type::kHistogram;
    e->histogram = std::make_unique<HistogramFamily>(name, help, std::move(label_names), [buckets] {
      return std::make_unique<metrics::Histogram>(buckets);
    });
  }
  if (e->type != Type::kHistogram) std::abort();
  return *e->histogram;
}

std::string Registry::Expose() const {
  std::lock_guard<std::mutex> l(mu_);
  std::string out;
  auto header = [&](const std::string& name, const std::string& help, const char* type) {
    out += "# HELP " + name + " " + EscapeHelp(help) + "\n";
    out += "# TYPE " + name + " " + type + "\n";
  };
  for (const auto& family : families_) {
    // Not a structured binding: lambdas capture these, which clang < 16 (the fuzz build) rejects.
    const std::string& name = family.first;
    const auto& e = family.second;
    switch (e->type) {
      case Type::kCounter: {
        std::string body;
        e->counter->ForEach([&](const std::vector<std::string>& vals, const metrics::Counter& c) {
          body += name + LabelText(e->counter->label_names(), vals) + " " + FormatValue(c.Value()) +
                  "\n";
        });
        if (body.empty()) break;
        header(name, e->counter->help(), "counter");
        out += body;
        break;
      }
      case Type::kGauge: {
        std::string body;
        e->gauge->ForEach([&](const std::vector<std::string>& vals, const metrics::Gauge& g) {
          body +=
              name + LabelText(e->gauge->label_names(), vals) + " " + FormatValue(g.Value()) + "\n";
        });
        if (body.empty()) break;
        header(name, e->gauge->help(), "gauge");
        out += body;
        break;
      }
      case Type::kHistogram: {
        std::string body;
        const auto& names = e->histogram->label_names();
        e->histogram->ForEach([&](const std::vector<std::string>& vals,
                                  const metrics::Histogram& h) {
          auto counts = h.CumulativeCounts();
          for (size_t i = 0; i < h.bounds().size(); ++i) {
            body += name + "_bucket" + LabelText(names, vals, "le", FormatValue(h.bounds()[i])) +
                    " " + std::to_string(counts[i]) + "\n";
          }
          body += name + "_bucket" + LabelText(names, vals, "le", "+Inf") + " " +
                  std::to_string(counts.back()) + "\n";
          body += name + "_sum" + LabelText(names, vals) + " " + FormatValue(h.Sum()) + "\n";
          body +=
              name + "_count" + LabelText(names, vals) + " " + std::to_string(counts.back()) + "\n";
        });
        if (body.empty()) break;
        header(name, e->histogram->help(), "histogram");
        out += body;
        break;
      }
    }
  }
  return out;
}

}  // namespace nanolet::metrics
