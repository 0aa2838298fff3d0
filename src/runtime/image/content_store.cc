#include "runtime/image/content_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <random>

#include "runtime/image/reference.h"
#include "util/strings.h"

namespace nanolet::image {

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr); }

void Sha256::Update(const void* data, size_t n) { EVP_DigestUpdate(ctx_.get(), data, n); }

std::string Sha256::Digest() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_.get(), md, &len);
  return "sha256:" + HexEncode(std::string_view(reinterpret_cast<const char*>(md), len));
}

BlobWriter::~BlobWriter() { Discard(); }

void BlobWriter::Discard() {
  fd_.reset();
  if (!tmp_.empty()) ::unlink(tmp_.c_str());
  tmp_.clear();
}

Result<void> BlobWriter::Write(const void* data, size_t n) {
  if (tmp_.empty()) return Error("blob writer: already committed");
  hash_->Update(data, n);
  size_ += n;
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::write(fd_.get(), p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("write " + tmp_);
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return Ok();
}

Result<void> BlobWriter::Commit(const std::string& digest, int64_t expected_size) {
  if (tmp_.empty()) return Error("blob writer: already committed");
  if (!IsValidDigest(digest)) {
    Discard();
    return Invalid("invalid digest \"" + digest + "\"");
  }
  std::string actual = hash_->Digest();
  if (actual != digest) {
    Discard();
    return Invalid("digest mismatch: expected " + digest + ", got " + actual + " (" +
                   std::to_string(size_) + " bytes)");
  }
  if (expected_size >= 0 && static_cast<uint64_t>(expected_size) != size_) {
    Discard();
    return Invalid("size mismatch for " + digest + ": expected " + std::to_string(expected_size) +
                   " bytes, got " + std::to_string(size_));
  }
  if (::fsync(fd_.get()) != 0) {
    int e = errno;
    Discard();
    return ErrnoError("fsync " + tmp_, e);
  }
  fd_.reset();
  std::string dest = dir_ + "/" + digest.substr(7);
  if (::rename(tmp_.c_str(), dest.c_str()) != 0) {
    int e = errno;
    Discard();
    return ErrnoError("rename " + dest, e);
  }
  tmp_.clear();
  return Ok();
}

std::string ContentStore::Path(std::string_view digest) const {
  return dir_ + "/sha256/" + std::string(digest.substr(digest.find(':') + 1));
}

bool ContentStore::Has(std::string_view digest) const {
  return IsValidDigest(digest) && PathExists(Path(digest));
}

Result<BlobWriter> ContentStore::NewWriter() const {
  std::string dir = dir_ + "/sha256";
  RETURN_IF_ERROR(MkdirAll(dir, 0755));
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  for (int attempt = 0; attempt < 10; ++attempt) {
    std::string tmp = dir + "/.tmp-" + std::to_string(rng());
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (fd.valid()) return BlobWriter(dir, tmp, std::move(fd));
    if (errno != EEXIST) return ErrnoError("create " + tmp);
  }
  return Error("create temporary blob in " + dir + ": too many collisions");
}

Result<void> ContentStore::Put(const std::string& digest, std::string_view data) const {
  if (Has(digest)) return Ok();
  ASSIGN_OR_RETURN(BlobWriter w, NewWriter());
  RETURN_IF_ERROR(w.Write(data));
  return w.Commit(digest);
}

Result<std::string> ContentStore::Get(std::string_view digest, size_t max_bytes) const {
  if (!IsValidDigest(digest)) return Invalid("invalid digest \"" + std::string(digest) + "\"");
  auto r = ReadFile(Path(digest), max_bytes);
  if (!r.ok()) return std::move(r).error().Wrap("blob " + std::string(digest));
  return r;
}

Result<void> ContentStore::Delete(std::string_view digest) const {
  std::string p = Path(digest);
  if (::unlink(p.c_str()) != 0 && errno != ENOENT) return ErrnoError("remove " + p);
  return Ok();
}

Result<std::vector<std::string>> ContentStore::List() const {
  std::string dir = dir_ + "/sha256";
  if (!PathExists(dir)) return std::vector<std::string>{};
  ASSIGN_OR_RETURN(auto names, ListDir(dir));
  std::vector<std::string> out;
  for (auto& n : names) {
    if (IsValidDigest("sha256:" + n)) out.push_back("sha256:" + n);
  }
  return out;
}

void ContentStore::RemoveStaleTemporaries() const {
  std::string dir = dir_ + "/sha256";
  auto names = ListDir(dir);
  if (!names.ok()) return;
  for (auto& n : *names) {
    if (StartsWith(n, ".tmp-")) ::unlink((dir + "/" + n).c_str());
  }
}

}  // namespace nanolet::image
