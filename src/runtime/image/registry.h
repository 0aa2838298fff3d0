#pragma once
// A client of one repository on a Distribution v2 registry
// (https://distribution.github.io/distribution/spec/api/), over libcurl: manifests and blobs by
// GET, redirects followed (blobs often live on a CDN), and the auth challenge answered once per
// client: `WWW-Authenticate: Bearer realm=...,service=...,scope=...` fetches a token from the realm
// (anonymously, or with basic auth from the credentials), `Basic` sends the credentials. One client
// serves one pull from one thread; it caches its token.
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "runtime/image/content_store.h"
#include "runtime/image/reference.h"
#include "runtime/runtime.h"
#include "util/result.h"

namespace nanolet::image {

struct RegistryOptions {
  bool insecure = false;  // plain HTTP (only for --insecure-registry host:port)
  std::chrono::milliseconds connect_timeout{10000};
  // A transfer slower than low_speed_limit bytes/s for low_speed_time is aborted (dead or stalled
  // peer).
  long low_speed_limit = 1024;
  std::chrono::seconds low_speed_time{30};
  // Whole-request deadline for small requests (manifests, tokens); blobs have none beyond the speed
  // limit.
  std::chrono::seconds small_request_timeout{60};
  // A blob download cut off by the network (connection dropped or stalled, not an HTTP error) after
  // some bytes arrived is resumed with `Range: bytes=N-` up to this many times; a registry that
  // answers 200 instead of 206 is read again from the start, its first N bytes skipped.
  int blob_resume_attempts = 3;
};

struct FetchedManifest {
  std::string body;
  std::string media_type;  // from the body's mediaType, else the Content-Type
  std::string digest;      // "sha256:<hex>" of body
};

// Media types of manifests and indexes we understand.
inline constexpr const char* kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr const char* kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr const char* kDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr const char* kDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";

class RegistryClient {
 public:
  RegistryClient(Reference ref, runtime::PullAuth auth, RegistryOptions opts);

  // GET /v2/<name>/manifests/<tag or digest>, accepting OCI and Docker v2 manifests and indexes.
  // When `reference` is a digest the body must match it. A 404 is ErrorCode::kNotFound ("manifest
  // unknown").
  Result<FetchedManifest> GetManifest(const std::string& reference);
  // GET /v2/<name>/blobs/<digest> streamed into `sink` (which sees only the body, once, in order,
  // also across resumed transfers). Verification is the caller's (BlobWriter::Commit).
  Result<void> FetchBlob(const std::string& digest,
                         const std::function<Result<void>(const char*, size_t)>& sink);

  // "https://host/v2/<name>"
  const std::string& base_url() const { return base_; }

 private:
  struct Response;
  // `offset` > 0: a resumed blob download (Range: bytes=offset-; a 206 or a 200 whose first offset
  // bytes are skipped).
  Result<Response> Request(const std::string& url, const std::string& accept,
                           const std::function<Result<void>(const char*, size_t)>* sink,
                           bool small, uint64_t offset = 0);
  Result<Response> Perform(const std::string& url, const std::string& accept,
                           const std::string& authorization,
                           const std::function<Result<void>(const char*, size_t)>* sink, bool small,
                           const std::string& basic_user, const std::string& basic_password,
                           const std::string& post_body, uint64_t offset = 0);
  Result<void> Authenticate(const std::string& challenge);

  Reference ref_;
  runtime::PullAuth auth_;
  RegistryOptions opts_;
  std::string base_;
  std::string authorization_;  // "Bearer ..." or "Basic ..." once a challenge was answered
};

}  // namespace nanolet::image
