// libcurl's functions nanolet calls, loaded at the first call (lazy/lazy_lib.h says why).
#define CURL_DISABLE_TYPECHECK  // curl_easy_setopt & co. stay plain functions here
#include <curl/curl.h>

#include <cstdarg>

#include "lazy/lazy_lib.h"

namespace {
constexpr const char* kCurl = "libcurl.so.4";
}  // namespace

#define CURL_FORWARD(ret, name, params, args) NANOLET_LAZY_FORWARD(kCurl, ret, name, params, args)

CURL_FORWARD(CURLcode, curl_global_init, (long flags), (flags))
CURL_FORWARD(void, curl_global_cleanup, (void), ())
CURL_FORWARD(char*, curl_version, (void), ())
CURL_FORWARD(curl_version_info_data*, curl_version_info, (CURLversion v), (v))
CURL_FORWARD(void, curl_free, (void* p), (p))
CURL_FORWARD(char*, curl_easy_escape, (CURL * h, const char* s, int n), (h, s, n))
CURL_FORWARD(char*, curl_easy_unescape, (CURL * h, const char* s, int n, int* out), (h, s, n, out))
CURL_FORWARD(struct curl_slist*, curl_slist_append, (struct curl_slist * l, const char* d), (l, d))
CURL_FORWARD(void, curl_slist_free_all, (struct curl_slist * l), (l))
CURL_FORWARD(const char*, curl_easy_strerror, (CURLcode c), (c))
CURL_FORWARD(CURL*, curl_easy_init, (void), ())
CURL_FORWARD(CURL*, curl_easy_duphandle, (CURL * h), (h))
CURL_FORWARD(CURLcode, curl_easy_perform, (CURL * h), (h))
CURL_FORWARD(void, curl_easy_cleanup, (CURL * h), (h))
CURL_FORWARD(void, curl_easy_reset, (CURL * h), (h))
CURL_FORWARD(CURLcode, curl_easy_pause, (CURL * h, int bitmask), (h, bitmask))
CURL_FORWARD(CURLM*, curl_multi_init, (void), ())
CURL_FORWARD(CURLMcode, curl_multi_add_handle, (CURLM * m, CURL* h), (m, h))
CURL_FORWARD(CURLMcode, curl_multi_remove_handle, (CURLM * m, CURL* h), (m, h))
CURL_FORWARD(CURLMcode, curl_multi_poll,
             (CURLM * m, struct curl_waitfd extra[], unsigned int n, int timeout_ms, int* numfds),
             (m, extra, n, timeout_ms, numfds))
CURL_FORWARD(CURLMcode, curl_multi_wait,
             (CURLM * m, struct curl_waitfd extra[], unsigned int n, int timeout_ms, int* numfds),
             (m, extra, n, timeout_ms, numfds))
CURL_FORWARD(CURLMcode, curl_multi_wakeup, (CURLM * m), (m))
CURL_FORWARD(CURLMcode, curl_multi_perform, (CURLM * m, int* running), (m, running))
CURL_FORWARD(CURLMcode, curl_multi_cleanup, (CURLM * m), (m))
CURL_FORWARD(CURLMsg*, curl_multi_info_read, (CURLM * m, int* left), (m, left))
CURL_FORWARD(const char*, curl_multi_strerror, (CURLMcode c), (c))
CURL_FORWARD(CURLMcode, curl_multi_socket_action,
             (CURLM * m, curl_socket_t s, int ev, int* running), (m, s, ev, running))
CURL_FORWARD(CURLMcode, curl_multi_timeout, (CURLM * m, long* ms), (m, ms))
CURL_FORWARD(CURLMcode, curl_multi_assign, (CURLM * m, curl_socket_t s, void* p), (m, s, p))
CURL_FORWARD(CURLU*, curl_url, (void), ())
CURL_FORWARD(CURLU*, curl_url_dup, (CURLU * u), (u))
CURL_FORWARD(void, curl_url_cleanup, (CURLU * u), (u))
CURL_FORWARD(CURLUcode, curl_url_get, (CURLU * u, CURLUPart what, char** part, unsigned int flags),
             (u, what, part, flags))
CURL_FORWARD(CURLUcode, curl_url_set,
             (CURLU * u, CURLUPart what, const char* part, unsigned int flags),
             (u, what, part, flags))
CURL_FORWARD(const char*, curl_url_strerror, (CURLUcode c), (c))

// The variadic ones take exactly one argument after the option, of the type the option's number
// range names (curl.h CURLOPTTYPE_*): a long, a pointer (object, string, list, callback, blob) or a
// curl_off_t.
namespace {

template <class Fn, class H, class Opt>
auto ForwardOption(Fn* real, H* handle, Opt option, va_list ap) {
  int n = static_cast<int>(option);
  if (n < CURLOPTTYPE_OBJECTPOINT) return real(handle, option, va_arg(ap, long));
  if (n >= CURLOPTTYPE_OFF_T && n < CURLOPTTYPE_BLOB)
    return real(handle, option, va_arg(ap, curl_off_t));
  return real(handle, option, va_arg(ap, void*));
}

}  // namespace

// The last named parameter is an enum (as in libcurl itself, which does the same va_start):
// int-sized, not promoted, but clang warns.
#if defined(__clang__)
#pragma clang diagnostic ignored "-Wvarargs"
#endif

extern "C" CURLcode(curl_easy_setopt)(CURL* h, CURLoption option, ...) {
  static auto* real = reinterpret_cast<decltype(&::curl_easy_setopt)>(
      nanolet::lazy::Symbol(kCurl, "curl_easy_setopt"));
  va_list ap;
  va_start(ap, option);
  CURLcode c = ForwardOption(real, h, option, ap);
  va_end(ap);
  return c;
}

extern "C" CURLMcode(curl_multi_setopt)(CURLM* m, CURLMoption option, ...) {
  static auto* real = reinterpret_cast<decltype(&::curl_multi_setopt)>(
      nanolet::lazy::Symbol(kCurl, "curl_multi_setopt"));
  va_list ap;
  va_start(ap, option);
  CURLMcode c = ForwardOption(real, m, option, ap);
  va_end(ap);
  return c;
}

// Every CURLINFO takes a pointer to where the answer goes.
extern "C" CURLcode(curl_easy_getinfo)(CURL* h, CURLINFO info, ...) {
  static auto* real = reinterpret_cast<decltype(&::curl_easy_getinfo)>(
      nanolet::lazy::Symbol(kCurl, "curl_easy_getinfo"));
  va_list ap;
  va_start(ap, info);
  void* out = va_arg(ap, void*);
  va_end(ap);
  return real(h, info, out);
}
