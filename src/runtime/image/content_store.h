#pragma once
// The content store: `<dir>/sha256/<hex>`, one file per blob, named by the SHA-256 of its content.
// A blob only ever appears under its name by rename(2) after its digest was verified, so a reader
// never sees a partial or wrong blob; writers in several threads or processes may race on the same
// blob safely (same bytes, same name).
#include <openssl/evp.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/fs.h"
#include "util/result.h"

namespace nanolet::image {

// Incremental SHA-256.
class Sha256 {
 public:
  Sha256();
  void Update(const void* data, size_t n);
  void Update(std::string_view s) { Update(s.data(), s.size()); }
  // "sha256:<hex>"; the hasher is spent afterwards.
  std::string Digest();

 private:
  struct Free {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
  };
  std::unique_ptr<EVP_MD_CTX, Free> ctx_;
};

// Writes one blob: into a temporary file (hashing as it goes), then Commit verifies the digest and
// renames. Destroyed without a successful Commit, it removes the temporary file: nothing is left
// behind.
class BlobWriter {
 public:
  BlobWriter(BlobWriter&& o) noexcept
      : dir_(std::move(o.dir_)),
        tmp_(std::exchange(o.tmp_, {})),
        fd_(std::move(o.fd_)),
        hash_(std::move(o.hash_)),
        size_(o.size_) {}
  BlobWriter& operator=(BlobWriter&&) = delete;
  ~BlobWriter();

  Result<void> Write(const void* data, size_t n);
  Result<void> Write(std::string_view s) { return Write(s.data(), s.size()); }
  uint64_t size() const { return size_; }
  // Fails (naming expected and actual digest) when the content does not match `digest`, or its size
  // differs from `expected_size` (>= 0); the temporary file is removed either way.
  Result<void> Commit(const std::string& digest, int64_t expected_size = -1);

 private:
  friend class ContentStore;
  BlobWriter(std::string dir, std::string tmp, UniqueFd fd)
      : dir_(std::move(dir)),
        tmp_(std::move(tmp)),
        fd_(std::move(fd)),
        hash_(std::make_unique<Sha256>()) {}
  void Discard();

  std::string dir_;  // <store>/sha256
  std::string tmp_;  // empty once committed or discarded
  UniqueFd fd_;
  std::unique_ptr<Sha256> hash_;
  uint64_t size_ = 0;
};

class ContentStore {
 public:
  // `dir` is ROOT/images/blobs; created on demand.
  explicit ContentStore(std::string dir) : dir_(std::move(dir)) {}

  const std::string& dir() const { return dir_; }
  // Path of a blob ("sha256:<hex>"), present or not. The digest must be valid (callers check).
  std::string Path(std::string_view digest) const;
  bool Has(std::string_view digest) const;
  // A writer for a new blob (temporary files live in <dir>/sha256 as .tmp-*).
  Result<BlobWriter> NewWriter() const;
  // Writes a small blob held in memory, verifying its digest.
  Result<void> Put(const std::string& digest, std::string_view data) const;
  Result<std::string> Get(std::string_view digest, size_t max_bytes = 64 << 20) const;
  Result<void> Delete(std::string_view digest) const;
  // Digests of every blob present ("sha256:<hex>").
  Result<std::vector<std::string>> List() const;
  // Removes temporary files of writers that died (only safe while no writer runs).
  void RemoveStaleTemporaries() const;

 private:
  std::string dir_;
};

}  // namespace nanolet::image
