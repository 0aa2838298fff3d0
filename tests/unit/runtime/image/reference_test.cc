#include "runtime/image/reference.h"

#include <gtest/gtest.h>

namespace nanolet::image {
namespace {

struct Case {
  const char* in;
  const char* normalised;  // nullptr: an error
  const char* domain = "";
  const char* path = "";
};

// As docker/distribution's reference.ParseNormalizedNamed + TagNameOnly.
TEST(Reference, NormalisesLikeDocker) {
  const std::string d = "sha256:" + std::string(64, 'a');
  const Case cases[] = {
      {"busybox", "docker.io/library/busybox:latest", "docker.io", "library/busybox"},
      {"busybox:1.35", "docker.io/library/busybox:1.35", "docker.io", "library/busybox"},
      {"foo/bar:1", "docker.io/foo/bar:1", "docker.io", "foo/bar"},
      {"docker.io/busybox", "docker.io/library/busybox:latest", "docker.io", "library/busybox"},
      {"index.docker.io/library/busybox", "docker.io/library/busybox:latest", "docker.io",
       "library/busybox"},
      {"localhost:5000/x", "localhost:5000/x:latest", "localhost:5000", "x"},
      {"localhost/x:2", "localhost/x:2", "localhost", "x"},
      {"127.0.0.1:41234/busybox:1.35", "127.0.0.1:41234/busybox:1.35", "127.0.0.1:41234",
       "busybox"},
      {"nanolet.local/busybox:1.35", "nanolet.local/busybox:1.35", "nanolet.local", "busybox"},
      {"quay.io/a/b/c:v1.0-rc_1", "quay.io/a/b/c:v1.0-rc_1", "quay.io", "a/b/c"},
      {"Registry/x", "Registry/x:latest", "Registry", "x"},
      {"a__b/c-d.e", "docker.io/a__b/c-d.e:latest", "docker.io", "a__b/c-d.e"},
      {"[::1]:5000/x", "[::1]:5000/x:latest", "[::1]:5000", "x"},
      // errors
      {"", nullptr},
      {"Busybox", nullptr},
      {"foo/Bar", nullptr},
      {"busybox:", nullptr},
      {"busybox:-x", nullptr},
      {":tag", nullptr},
      {"a//b", nullptr},
      {"a/", nullptr},
      {"-a", nullptr},
      {"a___b", nullptr},
      {"busybox@sha256:abc", nullptr},
      {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", nullptr},
      {"host:port/x", nullptr},
  };
  for (const auto& c : cases) {
    auto r = ParseReference(c.in);
    if (!c.normalised) {
      EXPECT_FALSE(r.ok()) << c.in << " parsed as " << r->String();
      continue;
    }
    ASSERT_TRUE(r.ok()) << c.in << ": " << r.error().message();
    EXPECT_EQ(r->String(), c.normalised) << c.in;
    EXPECT_EQ(r->domain, c.domain) << c.in;
    EXPECT_EQ(r->path, c.path) << c.in;
  }
}

TEST(Reference, Digests) {
  const std::string d = "sha256:" + std::string(64, 'a');
  auto r = ParseReference("busybox@" + d);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->String(), "docker.io/library/busybox@" + d);
  EXPECT_EQ(r->tag, "");
  EXPECT_EQ(r->ManifestRef(), d);

  r = ParseReference("localhost:5000/x:1@" + d);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->tag, "1");
  EXPECT_EQ(r->digest, d);
  EXPECT_EQ(r->ManifestRef(), d);  // the digest wins for fetching
  EXPECT_EQ(r->String(), "localhost:5000/x:1@" + d);

  EXPECT_FALSE(ParseReference("x@sha512:" + std::string(128, 'a')).ok());
  EXPECT_FALSE(ParseReference("x@sha256:" + std::string(64, 'A')).ok());
}

TEST(Reference, ErrorsNameTheCause) {
  auto r = ParseReference("Foo/Bar");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("must be lowercase"), std::string::npos)
      << r.error().message();
  r = ParseReference(std::string(64, 'b'));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("64-byte hexadecimal"), std::string::npos)
      << r.error().message();
  EXPECT_TRUE(r.error().is(ErrorCode::kInvalid));
}

TEST(Reference, RegistryHostOfDockerHub) {
  EXPECT_EQ(ParseReference("busybox")->RegistryHost(), "registry-1.docker.io");
  EXPECT_EQ(ParseReference("localhost:5000/x")->RegistryHost(), "localhost:5000");
}

TEST(Reference, Tags) {
  EXPECT_TRUE(IsValidTag("1.35"));
  EXPECT_TRUE(IsValidTag("latest"));
  EXPECT_TRUE(IsValidTag("_x"));
  EXPECT_FALSE(IsValidTag(".x"));
  EXPECT_FALSE(IsValidTag(std::string(129, 'a')));
  EXPECT_FALSE(IsValidTag("a/b"));
}

}  // namespace
}  // namespace nanolet::image
