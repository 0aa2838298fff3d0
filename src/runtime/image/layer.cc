#include "runtime/image/layer.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "runtime/image/content_store.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strings.h"

namespace nanolet::image {
namespace {

constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kWhiteoutMetaPrefix = ".wh..wh.";
constexpr std::string_view kOpaqueWhiteout = ".wh..wh..opq";

struct ReadFree {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct WriteFree {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryFree {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};
using ReadArchive = std::unique_ptr<archive, ReadFree>;
using WriteArchive = std::unique_ptr<archive, WriteFree>;

std::string ArchiveError(archive* a) {
  const char* s = archive_error_string(a);
  std::string m = s ? s : "unknown libarchive error";
  // "Write failed" alone hides the cause (ENOSPC, EIO...): name the errno too.
  int e = archive_errno(a);
  if (e > 0) {
    std::string why = std::strerror(e);
    if (m.find(why) == std::string::npos) m += ": " + why;
  }
  return m;
}

// A layer path made relative and clean: "/a/./b/" -> "a/b", "." -> "". A ".." component is an
// error: it could only be meant to leave the layer.
Result<std::string> SanitizePath(std::string_view p) {
  std::vector<std::string> parts;
  for (auto& c : Split(p, '/')) {
    if (c.empty() || c == ".") continue;
    if (c == "..")
      return Invalid("path \"" + std::string(p) + "\" escapes the layer (\"..\" component)");
    parts.push_back(c);
  }
  return Join(parts, "/");
}

// Is any directory component of `rel` below `root` a symlink (so that a path through it leaves the
// layer)?
Result<void> CheckNoSymlinkInParents(const std::string& root, const std::string& rel) {
  auto parts = Split(rel, '/');
  std::string cur = root;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    cur += "/" + parts[i];
    struct stat st;
    if (::lstat(cur.c_str(), &st) != 0) {
      if (errno == ENOENT) return Ok();
      return ErrnoError("stat " + cur);
    }
    if (S_ISLNK(st.st_mode)) {
      return Invalid("path goes through the symlink \"" + cur.substr(root.size() + 1) +
                     "\" (refused: it could lead out of the layer)");
    }
  }
  return Ok();
}

// Marks `rel` (a directory of the layer, created if missing) opaque for overlayfs. Walks with
// O_NOFOLLOW so a symlink in the way is an error, never followed.
Result<void> SetOpaque(const std::string& root, const std::string& rel) {
  UniqueFd fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoError("open " + root);
  for (auto& c : Split(rel, '/')) {
    if (c.empty()) continue;
    int next = ::openat(fd.get(), c.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0 && errno == ENOENT) {
      if (::mkdirat(fd.get(), c.c_str(), 0755) != 0 && errno != EEXIST)
        return ErrnoError("mkdir " + rel);
      next = ::openat(fd.get(), c.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (next < 0) return ErrnoError("opaque directory \"" + rel + "\"");
    fd.reset(next);
  }
  if (::fsetxattr(fd.get(), "trusted.overlay.opaque", "y", 1, 0) != 0) {
    return ErrnoError("set trusted.overlay.opaque on \"" + rel + "\"");
  }
  return Ok();
}

// Feeds the tar reader with the decompressed stream of the outer (filter-only) reader, hashing it
// on the way: one pass gives both the files and the diff id.
struct Decompressed {
  archive* outer = nullptr;
  Sha256 hash;
  char buf[128 << 10];
  std::string error;
};

la_ssize_t ReadDecompressed(archive* inner, void* data, const void** out) {
  auto* d = static_cast<Decompressed*>(data);
  la_ssize_t n = archive_read_data(d->outer, d->buf, sizeof d->buf);
  if (n < 0) {
    d->error = ArchiveError(d->outer);
    archive_set_error(inner, EIO, "%s", d->error.c_str());
    return -1;
  }
  d->hash.Update(d->buf, static_cast<size_t>(n));
  *out = d->buf;
  return n;
}

// libarchive's disk writer reports some failures of the file system only as ARCHIVE_WARN ("Write
// failed" on ENOSPC, for one): a warning whose errno says the disk failed is an error, or a layer
// with truncated files would be committed.
bool DiskFailed(archive* disk, la_ssize_t r) {
  if (r < ARCHIVE_WARN) return true;
  if (r != ARCHIVE_WARN) return false;
  int e = archive_errno(disk);
  return e == ENOSPC || e == EDQUOT || e == EIO || e == EROFS || e == EFBIG || e == ENOMEM;
}

Result<void> WriteEntry(archive* disk, archive* in, archive_entry* e, const std::string& shown) {
  int r = archive_write_header(disk, e);
  if (DiskFailed(disk, r)) return Error("entry \"" + shown + "\": " + ArchiveError(disk));
  if (r == ARCHIVE_WARN)
    log::V(4, "layer entry warning", {{"entry", shown}, {"warning", ArchiveError(disk)}});
  if (in && archive_entry_size(e) > 0 && r >= ARCHIVE_WARN) {
    const void* buf;
    size_t size;
    la_int64_t offset;
    for (;;) {
      int rr = archive_read_data_block(in, &buf, &size, &offset);
      if (rr == ARCHIVE_EOF) break;
      if (rr < ARCHIVE_WARN) return Error("entry \"" + shown + "\": read: " + ArchiveError(in));
      // Any warning here is a failed write(2) or lseek(2).
      if (archive_write_data_block(disk, buf, size, offset) != ARCHIVE_OK) {
        return Error("entry \"" + shown + "\": write: " + ArchiveError(disk));
      }
    }
  }
  r = archive_write_finish_entry(disk);
  if (DiskFailed(disk, r)) return Error("entry \"" + shown + "\": " + ArchiveError(disk));
  return Ok();
}

}  // namespace

Result<LayerStats> ExtractLayer(const std::string& archive_path, const std::string& dir_in) {
  // SECURE_SYMLINKS checks every component of the absolute path, so the layer's own path must be
  // symlink-free.
  char real[PATH_MAX];
  if (!::realpath(dir_in.c_str(), real)) return ErrnoError("resolve " + dir_in);
  const std::string dir = real;

  ReadArchive outer(archive_read_new());
  archive_read_support_filter_all(outer.get());
  archive_read_support_format_raw(outer.get());
  if (archive_read_open_filename(outer.get(), archive_path.c_str(), 128 << 10) != ARCHIVE_OK) {
    return Error("open " + archive_path + ": " + ArchiveError(outer.get()));
  }
  archive_entry* raw_entry;
  int r = archive_read_next_header(outer.get(), &raw_entry);
  if (r == ARCHIVE_EOF) return Invalid("empty layer archive");
  if (r < ARCHIVE_WARN) return Error("read " + archive_path + ": " + ArchiveError(outer.get()));

  auto dec = std::make_unique<Decompressed>();
  dec->outer = outer.get();
  ReadArchive in(archive_read_new());
  archive_read_support_format_tar(in.get());
  if (archive_read_open(in.get(), dec.get(), nullptr, ReadDecompressed, nullptr) != ARCHIVE_OK) {
    return Error("read layer: " + ArchiveError(in.get()));
  }

  WriteArchive disk(archive_write_disk_new());
  int flags = ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_XATTR |
              ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_SYMLINKS;
  if (::geteuid() == 0) flags |= ARCHIVE_EXTRACT_OWNER;
  archive_write_disk_set_options(disk.get(), flags);

  LayerStats stats;
  std::vector<std::string> opaque_dirs;
  for (;;) {
    archive_entry* e;
    r = archive_read_next_header(in.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return Error("read layer: " + ArchiveError(in.get()));
    const char* name = archive_entry_pathname(e);
    if (!name) return Invalid("read layer: entry without a usable path name");
    const std::string shown = name;
    // Named, not a temporary: ASSIGN_OR_RETURN_CTX keeps a string_view of its context.
    const std::string ctx = "entry \"" + shown + "\"";
    ASSIGN_OR_RETURN_CTX(std::string rel, SanitizePath(shown), ctx);
    ++stats.entries;
    if (rel.empty()) continue;  // the layer root itself
    // libarchive's SECURE_SYMLINKS refuses this too; checking first gives the clearer message.
    RETURN_IF_ERROR_CTX(CheckNoSymlinkInParents(dir, rel), ctx);
    size_t slash = rel.rfind('/');
    std::string parent = slash == std::string::npos ? "" : rel.substr(0, slash);
    std::string base = slash == std::string::npos ? rel : rel.substr(slash + 1);

    if (StartsWith(base, kWhiteoutPrefix)) {
      if (base == kOpaqueWhiteout) {
        opaque_dirs.push_back(parent);
        continue;
      }
      if (StartsWith(base, kWhiteoutMetaPrefix))
        continue;  // other aufs metadata (.wh..wh.plnk, ...)
      std::string target = base.substr(kWhiteoutPrefix.size());
      if (target.empty() || target == "." || target == "..") {
        return Invalid("entry \"" + shown + "\": invalid whiteout");
      }
      std::unique_ptr<archive_entry, EntryFree> wh(archive_entry_new());
      std::string path = dir + "/" + (parent.empty() ? "" : parent + "/") + target;
      archive_entry_copy_pathname(wh.get(), path.c_str());
      archive_entry_set_filetype(wh.get(), AE_IFCHR);
      archive_entry_set_perm(wh.get(), 0);
      archive_entry_set_rdev(wh.get(), 0);
      archive_entry_set_uid(wh.get(), archive_entry_uid(e));
      archive_entry_set_gid(wh.get(), archive_entry_gid(e));
      archive_entry_set_mtime(wh.get(), archive_entry_mtime(e), 0);
      RETURN_IF_ERROR(WriteEntry(disk.get(), nullptr, wh.get(), shown));
      continue;
    }

    if (const char* link = archive_entry_hardlink(e)) {
      const std::string link_ctx = ctx + ": hardlink";
      ASSIGN_OR_RETURN_CTX(std::string target, SanitizePath(link), link_ctx);
      if (target.empty()) return Invalid("entry \"" + shown + "\": hardlink to the layer root");
      RETURN_IF_ERROR_CTX(CheckNoSymlinkInParents(dir, target),
                          "entry \"" + shown + "\": hardlink to \"" + target + "\"");
      archive_entry_copy_hardlink(e, (dir + "/" + target).c_str());
    }
    archive_entry_copy_pathname(e, (dir + "/" + rel).c_str());
    stats.bytes += archive_entry_size(e) > 0 ? static_cast<uint64_t>(archive_entry_size(e)) : 0;
    RETURN_IF_ERROR(WriteEntry(disk.get(), in.get(), e, shown));
  }
  if (archive_write_close(disk.get()) != ARCHIVE_OK)
    return Error("finish layer: " + ArchiveError(disk.get()));
  for (auto& d : opaque_dirs) RETURN_IF_ERROR(SetOpaque(dir, d));

  // The tar's trailing padding belongs to the diff id too.
  for (;;) {
    la_ssize_t n = archive_read_data(outer.get(), dec->buf, sizeof dec->buf);
    if (n < 0) return Error("read layer: " + ArchiveError(outer.get()));
    if (n == 0) break;
    dec->hash.Update(dec->buf, static_cast<size_t>(n));
  }
  stats.diff_id = dec->hash.Digest();
  return stats;
}

Result<LayerStats> UnpackLayer(const std::string& archive_path, const std::string& dest,
                               const std::string& expected_diff_id) {
  if (IsDirectory(dest)) return LayerStats{.diff_id = expected_diff_id};
  size_t slash = dest.rfind('/');
  std::string parent = slash == std::string::npos ? "." : dest.substr(0, slash);
  std::string tmpl = parent + "/.tmp-XXXXXX";
  if (!::mkdtemp(tmpl.data())) return ErrnoError("create temporary directory in " + parent);
  const std::string tmp = tmpl;
  auto cleanup = [&] { (void)RemoveAll(tmp); };
  if (::chmod(tmp.c_str(), 0755) != 0) {
    int e = errno;
    cleanup();
    return ErrnoError("chmod " + tmp, e);
  }
  auto stats = ExtractLayer(archive_path, tmp);
  if (!stats.ok()) {
    cleanup();
    return stats;
  }
  if (!expected_diff_id.empty() && stats->diff_id != expected_diff_id) {
    cleanup();
    return Invalid("diff id mismatch: expected " + expected_diff_id + ", got " + stats->diff_id);
  }
  if (::rename(tmp.c_str(), dest.c_str()) != 0) {
    int e = errno;
    cleanup();
    if ((e == ENOTEMPTY || e == EEXIST) && IsDirectory(dest)) return stats;
    return ErrnoError("rename to " + dest, e);
  }
  return stats;
}

}  // namespace nanolet::image
