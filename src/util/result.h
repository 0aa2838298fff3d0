#pragma once
// Error and Result<T>: fallible functions return values, never throw across module boundaries.
// An Error's message grows with context as it climbs: Wrap("start container \"app\"") turns
// `runc create: exit 1: ...` into `start container "app": runc create: exit 1: ...`.
#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace nanolet {

enum class ErrorCode {
  kUnknown,
  kNotFound,
  kAlreadyExists,
  kInvalid,
  kTimeout,
  kUnavailable,
  kPermission,
  kCancelled,
};

class Error {
 public:
  Error() = default;
  explicit Error(std::string message, ErrorCode code = ErrorCode::kUnknown)
      : message_(std::move(message)), code_(code) {}

  const std::string& message() const { return message_; }
  ErrorCode code() const { return code_; }
  bool is(ErrorCode c) const { return code_ == c; }

  // Prefixes context: "ctx: message".
  Error Wrap(std::string_view context) const& {
    return Error(std::string(context) + ": " + message_, code_);
  }
  Error Wrap(std::string_view context) && {
    message_.insert(0, std::string(context) + ": ");
    return std::move(*this);
  }

 private:
  std::string message_;
  ErrorCode code_ = ErrorCode::kUnknown;
};

inline Error NotFound(std::string m) { return Error(std::move(m), ErrorCode::kNotFound); }
inline Error Invalid(std::string m) { return Error(std::move(m), ErrorCode::kInvalid); }

// Result<T> holds a T or an Error. Result<void> holds nothing or an Error.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { assert(!ok()); return std::get<1>(v_); }
  Error&& error() && { assert(!ok()); return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const& { assert(!ok_); return error_; }
  Error&& error() && { assert(!ok_); return std::move(error_); }

 private:
  Error error_;
  bool ok_ = true;
};

inline Result<void> Ok() { return {}; }

}  // namespace nanolet

// Propagates an error from an expression returning Result<...>, optionally adding context.
#define NANOLET_CONCAT_INNER(a, b) a##b
#define NANOLET_CONCAT(a, b) NANOLET_CONCAT_INNER(a, b)
#define RETURN_IF_ERROR(expr)                                   \
  do {                                                          \
    auto _r = (expr);                                           \
    if (!_r.ok()) return std::move(_r).error();                 \
  } while (0)
#define RETURN_IF_ERROR_CTX(expr, ctx)                          \
  do {                                                          \
    auto _r = (expr);                                           \
    if (!_r.ok()) return std::move(_r).error().Wrap(ctx);       \
  } while (0)
// ASSIGN_OR_RETURN(auto x, F()) declares x from F()'s value or returns F()'s error.
#define ASSIGN_OR_RETURN(decl, expr) ASSIGN_OR_RETURN_IMPL(NANOLET_CONCAT(_res_, __LINE__), decl, expr, "")
#define ASSIGN_OR_RETURN_CTX(decl, expr, ctx) \
  ASSIGN_OR_RETURN_IMPL(NANOLET_CONCAT(_res_, __LINE__), decl, expr, ctx)
#define ASSIGN_OR_RETURN_IMPL(tmp, decl, expr, ctx)                                    \
  auto tmp = (expr);                                                                   \
  if (!tmp.ok()) {                                                                     \
    std::string _ctx = (ctx);                                                          \
    return _ctx.empty() ? std::move(tmp).error() : std::move(tmp).error().Wrap(_ctx); \
  }                                                                                    \
  decl = std::move(tmp).value()
