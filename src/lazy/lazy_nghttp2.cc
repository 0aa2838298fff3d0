// libnghttp2's functions nanolet calls (grpc probes), loaded at the first call: linked directly,
// its mappings hold about 110 KiB of an idle nanolet's RSS (lazy/lazy_lib.h says why this matters).
#include <nghttp2/nghttp2.h>

#include "lazy/lazy_lib.h"

namespace {
constexpr const char* kNghttp2 = "libnghttp2.so.14";
}  // namespace

#define NGHTTP2_FORWARD(ret, name, params, args) \
  NANOLET_LAZY_FORWARD(kNghttp2, ret, name, params, args)

NGHTTP2_FORWARD(int, nghttp2_session_callbacks_new, (nghttp2_session_callbacks * *p), (p))
NGHTTP2_FORWARD(void, nghttp2_session_callbacks_del, (nghttp2_session_callbacks * c), (c))
NGHTTP2_FORWARD(void, nghttp2_session_callbacks_set_on_frame_recv_callback,
                (nghttp2_session_callbacks * c, nghttp2_on_frame_recv_callback f), (c, f))
NGHTTP2_FORWARD(void, nghttp2_session_callbacks_set_on_frame_send_callback,
                (nghttp2_session_callbacks * c, nghttp2_on_frame_send_callback f), (c, f))
NGHTTP2_FORWARD(void, nghttp2_session_callbacks_set_on_header_callback,
                (nghttp2_session_callbacks * c, nghttp2_on_header_callback f), (c, f))
NGHTTP2_FORWARD(void, nghttp2_session_callbacks_set_on_data_chunk_recv_callback,
                (nghttp2_session_callbacks * c, nghttp2_on_data_chunk_recv_callback f), (c, f))
NGHTTP2_FORWARD(void, nghttp2_session_callbacks_set_on_stream_close_callback,
                (nghttp2_session_callbacks * c, nghttp2_on_stream_close_callback f), (c, f))
NGHTTP2_FORWARD(void, nghttp2_session_callbacks_set_error_callback2,
                (nghttp2_session_callbacks * c, nghttp2_error_callback2 f), (c, f))
NGHTTP2_FORWARD(int, nghttp2_session_client_new,
                (nghttp2_session * *s, const nghttp2_session_callbacks* c, void* user),
                (s, c, user))
NGHTTP2_FORWARD(void, nghttp2_session_del, (nghttp2_session * s), (s))
NGHTTP2_FORWARD(int, nghttp2_submit_settings,
                (nghttp2_session * s, uint8_t flags, const nghttp2_settings_entry* iv, size_t n),
                (s, flags, iv, n))
NGHTTP2_FORWARD(int32_t, nghttp2_submit_request,
                (nghttp2_session * s, const nghttp2_priority_spec* pri, const nghttp2_nv* nva,
                 size_t n, const nghttp2_data_provider* data, void* user),
                (s, pri, nva, n, data, user))
NGHTTP2_FORWARD(ssize_t, nghttp2_session_mem_send, (nghttp2_session * s, const uint8_t** out),
                (s, out))
NGHTTP2_FORWARD(ssize_t, nghttp2_session_mem_recv,
                (nghttp2_session * s, const uint8_t* in, size_t n), (s, in, n))
NGHTTP2_FORWARD(int, nghttp2_session_want_read, (nghttp2_session * s), (s))
NGHTTP2_FORWARD(int, nghttp2_session_want_write, (nghttp2_session * s), (s))
NGHTTP2_FORWARD(const char*, nghttp2_strerror, (int code), (code))
