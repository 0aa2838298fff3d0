// libarchive's functions nanolet calls, loaded at the first call (lazy/lazy_lib.h says why).
#include <archive.h>
#include <archive_entry.h>

#include <cstdarg>
#include <cstdio>

#include "lazy/lazy_lib.h"

namespace {
constexpr const char* kArchive = "libarchive.so.13";
}  // namespace

#define AR_FORWARD(ret, name, params, args) NANOLET_LAZY_FORWARD(kArchive, ret, name, params, args)
#define AR_FORWARD1(ret, name) AR_FORWARD(ret, name, (struct archive * a), (a))
#define AR_ENTRY_GET(ret, name) AR_FORWARD(ret, name, (struct archive_entry * e), (e))
#define AR_ENTRY_SET(type, name) AR_FORWARD(void, name, (struct archive_entry * e, type v), (e, v))

AR_FORWARD(struct archive*, archive_read_new, (void), ())
AR_FORWARD(struct archive*, archive_write_new, (void), ())
AR_FORWARD(struct archive*, archive_write_disk_new, (void), ())
AR_FORWARD1(int, archive_read_free)
AR_FORWARD1(int, archive_read_close)
AR_FORWARD1(int, archive_write_free)
AR_FORWARD1(int, archive_write_close)
AR_FORWARD1(int, archive_write_finish_entry)
AR_FORWARD1(int, archive_read_support_filter_all)
AR_FORWARD1(int, archive_read_support_format_raw)
AR_FORWARD1(int, archive_read_support_format_tar)
AR_FORWARD1(int, archive_read_support_format_all)
AR_FORWARD1(int, archive_write_add_filter_gzip)
AR_FORWARD1(int, archive_write_set_format_pax_restricted)
AR_FORWARD1(int, archive_errno)
AR_FORWARD1(const char*, archive_error_string)
AR_FORWARD(int, archive_read_open,
           (struct archive * a, void* data, archive_open_callback* o, archive_read_callback* r,
            archive_close_callback* c),
           (a, data, o, r, c))
AR_FORWARD(int, archive_read_open_filename, (struct archive * a, const char* f, size_t block),
           (a, f, block))
AR_FORWARD(int, archive_read_next_header, (struct archive * a, struct archive_entry** e), (a, e))
AR_FORWARD(la_ssize_t, archive_read_data, (struct archive * a, void* buf, size_t n), (a, buf, n))
AR_FORWARD(int, archive_read_data_block,
           (struct archive * a, const void** buf, size_t* n, la_int64_t* off), (a, buf, n, off))
AR_FORWARD(int, archive_read_data_skip, (struct archive * a), (a))
AR_FORWARD(int, archive_write_open_filename, (struct archive * a, const char* f), (a, f))
AR_FORWARD(int, archive_write_header, (struct archive * a, struct archive_entry* e), (a, e))
AR_FORWARD(la_ssize_t, archive_write_data, (struct archive * a, const void* buf, size_t n),
           (a, buf, n))
AR_FORWARD(la_ssize_t, archive_write_data_block,
           (struct archive * a, const void* buf, size_t n, la_int64_t off), (a, buf, n, off))
AR_FORWARD(int, archive_write_disk_set_options, (struct archive * a, int flags), (a, flags))

AR_FORWARD(struct archive_entry*, archive_entry_new, (void), ())
AR_ENTRY_GET(void, archive_entry_free)
AR_ENTRY_GET(const char*, archive_entry_pathname)
AR_ENTRY_GET(const char*, archive_entry_hardlink)
AR_ENTRY_GET(const char*, archive_entry_symlink)
AR_ENTRY_GET(__LA_MODE_T, archive_entry_filetype)
AR_ENTRY_GET(__LA_MODE_T, archive_entry_mode)
AR_ENTRY_GET(__LA_MODE_T, archive_entry_perm)
AR_ENTRY_GET(la_int64_t, archive_entry_size)
AR_ENTRY_GET(la_int64_t, archive_entry_uid)
AR_ENTRY_GET(la_int64_t, archive_entry_gid)
AR_ENTRY_GET(time_t, archive_entry_mtime)
AR_ENTRY_GET(dev_t, archive_entry_rdev)
AR_ENTRY_SET(const char*, archive_entry_copy_pathname)
AR_ENTRY_SET(const char*, archive_entry_copy_hardlink)
AR_ENTRY_SET(const char*, archive_entry_set_pathname)
AR_ENTRY_SET(const char*, archive_entry_set_hardlink)
AR_ENTRY_SET(const char*, archive_entry_set_symlink)
AR_ENTRY_SET(unsigned int, archive_entry_set_filetype)
AR_ENTRY_SET(__LA_MODE_T, archive_entry_set_perm)
AR_ENTRY_SET(__LA_MODE_T, archive_entry_set_mode)
AR_ENTRY_SET(la_int64_t, archive_entry_set_size)
AR_ENTRY_SET(la_int64_t, archive_entry_set_uid)
AR_ENTRY_SET(la_int64_t, archive_entry_set_gid)
AR_ENTRY_SET(dev_t, archive_entry_set_rdev)
AR_FORWARD(void, archive_entry_set_mtime, (struct archive_entry * e, time_t t, long ns), (e, t, ns))

// Variadic: formatted here, handed over as one string.
extern "C" void(archive_set_error)(struct archive* a, int err, const char* fmt, ...) {
  static auto* real = reinterpret_cast<decltype(&::archive_set_error)>(
      nanolet::lazy::Symbol(kArchive, "archive_set_error"));
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  real(a, err, "%s", buf);
}
