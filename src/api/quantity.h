#pragma once
// resource.Quantity as upstream (k8s.io/apimachinery/pkg/api/resource): parsing of "100m", "128Mi", "1G",
// "1e3", "0.5" and canonical printing ("0.5" -> "500m", "1000" -> "1k", "1e3" stays "1e3", "1024Mi" -> "1Gi").
#include <cstdint>
#include <string>
#include <string_view>

#include "util/result.h"

namespace nanolet::api {

class Quantity {
 public:
  enum class Format { kDecimalSI, kBinarySI, kDecimalExponent };

  Quantity() = default;  // zero, DecimalSI
  // Error messages follow upstream: "quantities must match the regular expression ..." and
  // "unable to parse quantity's suffix".
  static Result<Quantity> Parse(std::string_view s);
  static Quantity FromInt(int64_t value, Format format = Format::kDecimalSI);
  static Quantity FromMilli(int64_t milli, Format format = Format::kDecimalSI);

  // Canonical text, as Quantity.String() upstream.
  std::string String() const;
  // Rounded up to an integer (as Value()) and to milli-units (as MilliValue()).
  int64_t Value() const;
  int64_t MilliValue() const;
  bool IsZero() const;
  int Sign() const;
  // -1, 0, 1
  int Cmp(const Quantity& other) const;
  bool operator==(const Quantity& other) const { return Cmp(other) == 0; }
  Format format() const { return format_; }

 private:
  // value = unscaled_ * 10^scale_, with at most 36 significant digits and scale_ >= -9 (values are
  // rounded up to nano units on parse, as upstream).
  __int128 unscaled_ = 0;
  int32_t scale_ = 0;
  Format format_ = Format::kDecimalSI;
};

}  // namespace nanolet::api
