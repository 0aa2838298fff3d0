#pragma once
// Internal to src/config: RAII for a libuv handle. The handle lives on the heap and is freed by its
// close callback, so the owner may be destroyed right after closing it (libuv touches the handle
// memory until the close callback has run). Only for use on the loop thread.
#include <uv.h>

namespace nanolet::config::internal {

template <typename T>
class UvHandle {
 public:
  UvHandle() = default;
  UvHandle(const UvHandle&) = delete;
  UvHandle& operator=(const UvHandle&) = delete;
  ~UvHandle() { Close(); }

  // Allocates the handle; the caller initialises it (uv_timer_init(loop, get()), ...) and must call
  // MarkInitialized() on success so Close() knows to uv_close it.
  T* Allocate() {
    Close();
    h_ = new T{};
    return h_;
  }
  void MarkInitialized() { initialized_ = true; }
  T* get() const { return h_; }
  explicit operator bool() const { return h_ != nullptr && initialized_; }

  // Stops callbacks at once (libuv guarantees none after uv_close) and frees the memory later.
  void Close() {
    if (h_ == nullptr) return;
    if (initialized_) {
      uv_close(reinterpret_cast<uv_handle_t*>(h_),
               [](uv_handle_t* h) { delete reinterpret_cast<T*>(h); });
    } else {
      delete h_;
    }
    h_ = nullptr;
    initialized_ = false;
  }

 private:
  T* h_ = nullptr;
  bool initialized_ = false;
};

}  // namespace nanolet::config::internal
