#pragma once
// Image references, normalised as docker/distribution's reference.ParseNormalizedNamed followed by
// TagNameOnly: `busybox` is `docker.io/library/busybox:latest`, `foo/bar:1` is
// `docker.io/foo/bar:1`, `localhost:5000/x` has the registry `localhost:5000`. A first component
// is a registry host when it contains `.` or `:`, is `localhost`, or has an upper-case letter (as
// upstream's splitDockerDomain).
#include <string>
#include <string_view>

#include "util/result.h"

namespace nanolet::image {

struct Reference {
  std::string domain;  // "docker.io", "nanolet.local", "127.0.0.1:5000"
  std::string path;    // "library/busybox"
  std::string
      tag;  // "latest" when neither a tag nor a digest was given; may be empty with a digest
  std::string digest;  // "sha256:<64 hex>" or empty

  // "docker.io/library/busybox"
  std::string Name() const { return domain + "/" + path; }
  // Name[:tag][@digest]: the normalised form, used as the key of the image index.
  std::string String() const;
  // Name:tag, or empty without a tag.
  std::string Tagged() const { return tag.empty() ? std::string() : Name() + ":" + tag; }
  // The registry to talk to: docker.io's API lives at registry-1.docker.io.
  std::string RegistryHost() const {
    return domain == "docker.io" ? "registry-1.docker.io" : domain;
  }
  // What a manifest GET asks for: the digest when there is one, else the tag.
  std::string ManifestRef() const { return digest.empty() ? tag : digest; }

  bool operator==(const Reference&) const = default;
};

// Parses and normalises `s`. Errors are upstream's: "invalid reference format", "... repository
// name must be lowercase", "cannot specify 64-byte hexadecimal strings".
Result<Reference> ParseReference(std::string_view s);

// "sha256:<64 lower-case hex>"?
bool IsValidDigest(std::string_view d);
// A bare tag as OCI's org.opencontainers.image.ref.name often holds ("1.35", "latest")?
bool IsValidTag(std::string_view t);

}  // namespace nanolet::image
