#include "api/quantity.h"

#include <limits>

namespace nanolet::api {
namespace {

using i128 = __int128;

constexpr int kMaxDigits = 36;  // significant digits kept in unscaled_ (fits __int128 after *100)
constexpr int kNanoScale = -9;

constexpr const char* kErrFormatWrong =
    "quantities must match the regular expression "
    "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
constexpr const char* kErrSuffix = "unable to parse quantity's suffix";
constexpr const char* kErrNumeric = "unable to parse quantity's numeric value";

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

i128 Pow10(int n) {
  i128 r = 1;
  for (int i = 0; i < n; ++i) r *= 10;
  return r;
}

int NumDigits(i128 v) {
  if (v < 0) v = -v;
  int n = 0;
  while (v != 0) {
    v /= 10;
    ++n;
  }
  return n;
}

std::string I128ToString(i128 v) {
  if (v == 0) return "0";
  bool neg = v < 0;
  std::string s;
  while (v != 0) {
    int d = static_cast<int>(v % 10);
    s.push_back(static_cast<char>('0' + (d < 0 ? -d : d)));
    v /= 10;
  }
  if (neg) s.push_back('-');
  return std::string(s.rbegin(), s.rend());
}

int64_t ClampToInt64(i128 v) {
  if (v > std::numeric_limits<int64_t>::max()) return std::numeric_limits<int64_t>::max();
  if (v < std::numeric_limits<int64_t>::min()) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(v);
}

// The pieces of a quantity string, as upstream parseQuantityString splits it.
struct Parts {
  bool positive = true;
  std::string num, denom, suffix;
};

bool SplitQuantity(std::string_view str, Parts& out) {
  size_t pos = 0, end = str.size();
  if (pos < end) {
    if (str[0] == '-') {
      out.positive = false;
      ++pos;
    } else if (str[0] == '+') {
      ++pos;
    }
  }
  while (pos < end && str[pos] == '0') ++pos;
  if (pos >= end) {
    out.num = "0";
    return true;
  }
  size_t start = pos;
  while (pos < end && IsDigit(str[pos])) ++pos;
  out.num = std::string(str.substr(start, pos - start));
  if (out.num.empty()) out.num = "0";
  if (pos < end && str[pos] == '.') {
    ++pos;
    start = pos;
    while (pos < end && IsDigit(str[pos])) ++pos;
    out.denom = std::string(str.substr(start, pos - start));
  }
  size_t suffix_start = pos;
  static constexpr std::string_view kSuffixChars = "eEinumkKMGTP";
  while (pos < end && kSuffixChars.find(str[pos]) != std::string_view::npos) ++pos;
  if (pos < end && (str[pos] == '-' || str[pos] == '+')) ++pos;
  while (pos < end && IsDigit(str[pos])) ++pos;
  if (pos < end) return false;
  out.suffix = std::string(str.substr(suffix_start));
  return true;
}

// Interprets a suffix as upstream's suffixer: base (10 or 2), exponent and format.
bool InterpretSuffix(std::string_view s, int& base, int64_t& exponent, Quantity::Format& format) {
  struct Entry {
    std::string_view suffix;
    int base;
    int exponent;
  };
  static constexpr Entry kTable[] = {
      {"", 10, 0},   {"n", 10, -9}, {"u", 10, -6}, {"m", 10, -3}, {"k", 10, 3},  {"M", 10, 6},
      {"G", 10, 9},  {"T", 10, 12}, {"P", 10, 15}, {"E", 10, 18}, {"Ki", 2, 10}, {"Mi", 2, 20},
      {"Gi", 2, 30}, {"Ti", 2, 40}, {"Pi", 2, 50}, {"Ei", 2, 60},
  };
  for (const auto& e : kTable) {
    if (e.suffix == s) {
      base = e.base;
      exponent = e.exponent;
      format = base == 2 ? Quantity::Format::kBinarySI : Quantity::Format::kDecimalSI;
      return true;
    }
  }
  if (s.size() > 1 && (s[0] == 'e' || s[0] == 'E')) {
    std::string_view digits = s.substr(1);
    bool neg = false;
    if (digits[0] == '+' || digits[0] == '-') {
      neg = digits[0] == '-';
      digits.remove_prefix(1);
    }
    if (digits.empty() || digits.size() > 9) return false;  // ParseInt/int32 range, roughly
    int64_t v = 0;
    for (char c : digits) {
      if (!IsDigit(c)) return false;
      v = v * 10 + (c - '0');
    }
    base = 10;
    exponent = neg ? -v : v;
    format = Quantity::Format::kDecimalExponent;
    return true;
  }
  return false;
}

}  // namespace

Result<Quantity> Quantity::Parse(std::string_view s) {
  if (s.empty()) return Invalid(kErrFormatWrong);
  Parts parts;
  if (!SplitQuantity(s, parts)) return Invalid(kErrFormatWrong);
  int base = 10;
  int64_t exponent = 0;
  Format format = Format::kDecimalSI;
  if (!InterpretSuffix(parts.suffix, base, exponent, format)) return Invalid(kErrSuffix);

  // value = digits * 10^scale (* 2^exponent for binary suffixes)
  std::string digits = parts.num + parts.denom;
  int64_t scale = -static_cast<int64_t>(parts.denom.size());
  if (base == 10) scale += exponent;
  size_t first = digits.find_first_not_of('0');
  digits = first == std::string::npos ? "" : digits.substr(first);
  // Drop trailing zeros into the scale so long integers keep their significant digits.
  while (!digits.empty() && digits.back() == '0' && digits.size() > 1) {
    digits.pop_back();
    ++scale;
  }
  bool round_up = false;
  if (base == 10 && scale < kNanoScale) {
    // Round up to nano units, as upstream (non-zero values never round to zero).
    int64_t drop = kNanoScale - scale;
    if (drop >= static_cast<int64_t>(digits.size())) {
      round_up = !digits.empty();
      digits.clear();
    } else {
      round_up = digits.find_first_not_of('0', digits.size() - drop) != std::string::npos;
      digits.resize(digits.size() - drop);
    }
    scale = kNanoScale;
  }
  if (digits.size() > (base == 10 ? kMaxDigits : 18)) return Invalid(kErrNumeric);
  i128 u = 0;
  for (char c : digits) u = u * 10 + (c - '0');
  if (round_up) u += 1;

  if (base == 2) {
    u <<= exponent;  // digits <= 18 (< 2^60) and exponent <= 60: fits
    if (scale < kNanoScale) {
      if (kNanoScale - scale > 38) {
        u = u != 0 ? 1 : 0;
      } else {
        i128 div = Pow10(static_cast<int>(kNanoScale - scale));
        i128 q = u / div;
        if (u % div != 0) q += 1;
        u = q;
      }
      scale = kNanoScale;
    }
  }
  if (scale > std::numeric_limits<int32_t>::max() / 2 ||
      scale < std::numeric_limits<int32_t>::min() / 2) {
    return Invalid(kErrNumeric);
  }
  Quantity q;
  q.unscaled_ = parts.positive ? u : -u;
  q.scale_ = static_cast<int32_t>(scale);
  q.format_ = format;
  if (q.unscaled_ == 0) q.scale_ = 0;
  // Binary quantities are capped at the int64 maximum, as upstream.
  Quantity max = FromInt(std::numeric_limits<int64_t>::max(), format);
  if (base == 2 && q.unscaled_ > 0 && q.Cmp(max) > 0) q = max;
  if (base == 2 && q.unscaled_ < 0 && q.Cmp(FromInt(-std::numeric_limits<int64_t>::max())) < 0) {
    q = FromInt(-std::numeric_limits<int64_t>::max(), format);
  }
  return q;
}

Quantity Quantity::FromInt(int64_t value, Format format) {
  Quantity q;
  q.unscaled_ = value;
  q.format_ = format;
  return q;
}

Quantity Quantity::FromMilli(int64_t milli, Format format) {
  Quantity q;
  q.unscaled_ = milli;
  q.scale_ = -3;
  q.format_ = format;
  return q;
}

bool Quantity::IsZero() const { return unscaled_ == 0; }
int Quantity::Sign() const { return unscaled_ > 0 ? 1 : (unscaled_ < 0 ? -1 : 0); }

int Quantity::Cmp(const Quantity& other) const {
  int sa = Sign(), sb = other.Sign();
  if (sa != sb) return sa < sb ? -1 : 1;
  if (sa == 0) return 0;
  int64_t oa = NumDigits(unscaled_) + static_cast<int64_t>(scale_);
  int64_t ob = NumDigits(other.unscaled_) + static_cast<int64_t>(other.scale_);
  int mag;  // comparison of magnitudes
  if (oa != ob) {
    mag = oa < ob ? -1 : 1;
  } else {
    i128 a = unscaled_ < 0 ? -unscaled_ : unscaled_;
    i128 b = other.unscaled_ < 0 ? -other.unscaled_ : other.unscaled_;
    if (scale_ > other.scale_) a *= Pow10(scale_ - other.scale_);
    if (other.scale_ > scale_) b *= Pow10(other.scale_ - scale_);
    mag = a < b ? -1 : (a > b ? 1 : 0);
  }
  return sa > 0 ? mag : -mag;
}

int64_t Quantity::Value() const {
  if (unscaled_ == 0) return 0;
  if (scale_ >= 0) {
    if (NumDigits(unscaled_) + scale_ > 19) return unscaled_ > 0 ? INT64_MAX : INT64_MIN;
    return ClampToInt64(unscaled_ * Pow10(scale_));
  }
  if (-scale_ > 38) return unscaled_ > 0 ? 1 : 0;
  i128 div = Pow10(-scale_);
  i128 q = unscaled_ / div;
  if (unscaled_ % div > 0) q += 1;  // ceiling, as upstream's AsScale
  return ClampToInt64(q);
}

int64_t Quantity::MilliValue() const {
  Quantity scaled = *this;
  scaled.scale_ += 3;
  return scaled.Value();
}

std::string Quantity::String() const {
  if (unscaled_ == 0) return "0";
  Format format = format_;
  if (format == Format::kBinarySI) {
    bool small = Cmp(FromInt(-1024)) > 0 && Cmp(FromInt(1024)) < 0;
    bool integral = scale_ >= 0 || (-scale_ <= 38 && unscaled_ % Pow10(-scale_) == 0);
    bool fits = scale_ < 0 || NumDigits(unscaled_) + scale_ <= 19;
    if (small || !integral || !fits) {
      format = Format::kDecimalSI;
    } else {
      i128 v = scale_ >= 0 ? unscaled_ * Pow10(scale_) : unscaled_ / Pow10(-scale_);
      int exp = 0;
      while (exp < 6 && v % 1024 == 0) {
        v /= 1024;
        ++exp;
      }
      static constexpr const char* kBin[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
      return I128ToString(v) + kBin[exp];
    }
  }
  i128 u = unscaled_;
  int64_t exp = scale_;
  while (u % 10 == 0) {
    u /= 10;
    ++exp;
  }
  switch (exp % 3) {
    case 1:
    case -2:
      u *= 10;
      exp -= 1;
      break;
    case 2:
    case -1:
      u *= 100;
      exp -= 2;
      break;
    default:
      break;
  }
  std::string number = I128ToString(u);
  if (exp == 0) return number;
  if (format == Format::kDecimalSI) {
    static constexpr const char* kDec[] = {"n", "u", "m", "", "k", "M", "G", "T", "P", "E"};
    if (exp >= -9 && exp <= 18) return number + kDec[(exp + 9) / 3];
  }
  return number + "e" + std::to_string(exp);
}

}  // namespace nanolet::api
