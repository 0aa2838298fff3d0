// Pulls over the Distribution v2 API: from a real registry (Debian's docker-registry,
// Distribution 2.8, started on 127.0.0.1 by the test, the test image pushed into it with skopeo)
// and from small fake registries that answer garbage, drop the connection mid-layer or demand a
// bearer token.
#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "image_test_util.h"
#include "runtime/image/image_store.h"
#include "util/fs.h"
#include "util/strings.h"

namespace nanolet::image {
namespace {

using testing::TempDir;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// A port nothing listens on (bound then released).
int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    return 0;
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

long HttpStatus(const std::string& url) {
  CURL* c = curl_easy_init();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 500L);
  long status = 0;
  if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(c);
  return status;
}

// docker-registry serving from a temporary directory; stopped by PID.
class Registry {
 public:
  bool Start(std::string* error) {
    for (int attempt = 0; attempt < 3; ++attempt) {
      port_ = FreePort();
      std::string config = dir_ / "config.yml";
      std::string yml =
          "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: " +
          dir_ / "storage" + "\nhttp:\n  addr: 127.0.0.1:" + std::to_string(port_) + "\n";
      if (!WriteFile(config, yml).ok()) return false;
      pid_ = ::fork();
      if (pid_ == 0) {
        int log = ::open((dir_ / "registry.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        ::dup2(log, 1);
        ::dup2(log, 2);
        ::execl("/usr/bin/docker-registry", "docker-registry", "serve", config.c_str(), nullptr);
        ::_exit(127);
      }
      // Wait until it answers GET /v2/ (or dies, e.g. because the port was taken meanwhile).
      auto deadline = Clock::now() + std::chrono::seconds(20);
      while (Clock::now() < deadline) {
        if (HttpStatus(Url() + "/v2/") == 200) return true;
        int st;
        if (::waitpid(pid_, &st, WNOHANG) == pid_) {
          pid_ = -1;
          break;
        }
        // Poll interval while waiting for the condition above (not a synchronisation sleep).
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      Stop();
    }
    auto log = ReadFile(dir_ / "registry.log");
    *error = "docker-registry did not start: " + (log.ok() ? *log : std::string());
    return false;
  }
  void Stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int st;
      ::waitpid(pid_, &st, 0);
    }
    pid_ = -1;
  }
  ~Registry() { Stop(); }
  std::string Host() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string Url() const { return "http://" + Host(); }

 private:
  TempDir dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// A one-connection-at-a-time HTTP server whose handler returns the raw response (the connection is
// closed after it, so a handler can also send a truncated body).
class FakeServer {
 public:
  struct Request {
    std::string method, path;
    std::map<std::string, std::string> headers;  // lower-case names
  };
  using Handler = std::function<std::string(const Request&)>;

  explicit FakeServer(Handler h) : handler_(std::move(h)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 16);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    if (::pipe2(wake_, O_CLOEXEC) != 0) wake_[0] = wake_[1] = -1;
    thread_ = std::thread([this] { Serve(); });
  }
  ~FakeServer() {
    char c = 0;
    (void)!::write(wake_[1], &c, 1);
    thread_.join();
    ::close(fd_);
    ::close(wake_[0]);
    ::close(wake_[1]);
  }
  std::string Host() const { return "127.0.0.1:" + std::to_string(port_); }
  int requests() const { return requests_; }

  static std::string Response(int status, const std::string& content_type, const std::string& body,
                              const std::string& extra_headers = "") {
    return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: " + content_type +
           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n" +
           extra_headers + "\r\n" + body;
  }

 private:
  void Serve() {
    for (;;) {
      pollfd p[2] = {{fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
      if (::poll(p, 2, -1) < 0) continue;
      if (p[1].revents) return;
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      std::string req;
      char buf[4096];
      while (req.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        req.append(buf, n);
      }
      Request r;
      auto lines = Split(req.substr(0, req.find("\r\n\r\n")), '\n');
      if (!lines.empty()) {
        auto first = Split(std::string(Trim(lines[0])), ' ');
        if (first.size() >= 2) {
          r.method = first[0];
          r.path = first[1];
        }
        for (size_t i = 1; i < lines.size(); ++i) {
          size_t colon = lines[i].find(':');
          if (colon == std::string::npos) continue;
          std::string k = lines[i].substr(0, colon);
          for (auto& ch : k) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
          r.headers[k] = std::string(Trim(lines[i].substr(colon + 1)));
        }
      }
      ++requests_;
      std::string resp = handler_(r);
      // "HOLD\n" + bytes: send the bytes, then keep the connection open (a stalled peer) until
      // shutdown.
      bool hold = StartsWith(resp, "HOLD\n");
      if (hold) resp = resp.substr(5);
      size_t off = 0;
      while (off < resp.size()) {
        ssize_t n = ::send(c, resp.data() + off, resp.size() - off, MSG_NOSIGNAL);
        if (n <= 0) break;
        off += n;
      }
      if (hold) {
        pollfd w = {wake_[0], POLLIN, 0};
        ::poll(&w, 1, -1);
      }
      ::shutdown(c, SHUT_WR);
      ::close(c);
    }
  }

  Handler handler_;
  int fd_ = -1;
  int wake_[2] = {-1, -1};
  int port_ = 0;
  std::atomic<int> requests_{0};
  std::thread thread_;
};

class RegistryPullTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    archive_ = new std::string(testing::TestImageArchive());
    if (archive_->empty() || ::access("/usr/bin/docker-registry", X_OK) != 0 ||
        ::access("/usr/bin/skopeo", X_OK) != 0) {
      return;
    }
    registry_ = new Registry();
    std::string error;
    if (!registry_->Start(&error)) {
      ADD_FAILURE() << error;
      delete registry_;
      registry_ = nullptr;
      return;
    }
    auto start = Clock::now();
    auto r = nanolet::Run(
        {"skopeo", "--insecure-policy", "copy", "--dest-tls-verify=false",
         "oci-archive:" + *archive_, "docker://" + registry_->Host() + "/busybox:1.35"},
        {.timeout = std::chrono::seconds(120)});
    if (!r.ok() || !r->success()) {
      ADD_FAILURE() << "skopeo copy: " << (r.ok() ? r->Describe() : r.error().message());
      delete registry_;
      registry_ = nullptr;
      return;
    }
    // The same image with Docker media types (manifest v2 schema 2).
    r = nanolet::Run(
        {"skopeo", "--insecure-policy", "copy", "--dest-tls-verify=false", "--format", "v2s2",
         "oci-archive:" + *archive_, "docker://" + registry_->Host() + "/docker/busybox:v2s2"},
        {.timeout = std::chrono::seconds(120)});
    if (!r.ok() || !r->success()) {
      ADD_FAILURE() << "skopeo copy --format v2s2: "
                    << (r.ok() ? r->Describe() : r.error().message());
    }
    std::cout << "skopeo pushes took "
              << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count()
              << " ms\n";
  }
  static void TearDownTestSuite() {
    delete registry_;  // stops it by its PID
    registry_ = nullptr;
    delete archive_;
    archive_ = nullptr;
  }
  void SetUp() override {
    auto s = ImageStore::Open(root_.path());
    ASSERT_TRUE(s.ok()) << s.error().message();
    store_ = std::move(*s);
  }
  void RequireRegistry() {
    if (archive_->empty()) GTEST_SKIP() << "busybox-static is not installed";
  }
  std::vector<std::string> Names(const std::string& dir) {
    auto r = ListDir(dir);
    return r.ok() ? *r : std::vector<std::string>{};
  }
  // The store holds nothing: no index entry, no blob (not even a temporary one), no layer.
  void ExpectEmptyStore() {
    auto list = store_->List();
    ASSERT_TRUE(list.ok());
    EXPECT_TRUE(list->empty());
    for (auto& n : Names(store_->dir() + "/blobs/sha256")) EXPECT_FALSE(StartsWith(n, ".tmp")) << n;
    for (auto& n : Names(store_->dir() + "/layers")) EXPECT_FALSE(StartsWith(n, ".tmp")) << n;
  }
  // The test image's blobs, by digest, and its manifest digest.
  std::map<std::string, std::string> LayoutBlobs(std::string* manifest_digest) {
    std::string dir = tmp_ / "layout";
    EXPECT_TRUE(MkdirAll(dir).ok());
    auto r = nanolet::Run({"tar", "-xf", *archive_, "-C", dir});
    EXPECT_TRUE(r.ok() && r->success());
    std::map<std::string, std::string> blobs;
    for (auto& n : Names(dir + "/blobs/sha256"))
      blobs["sha256:" + n] = *ReadFile(dir + "/blobs/sha256/" + n);
    *manifest_digest = json::parse(*ReadFile(dir + "/index.json"))["manifests"][0]["digest"];
    return blobs;
  }

  static std::string* archive_;
  static Registry* registry_;
  TempDir root_, tmp_;
  std::unique_ptr<ImageStore> store_;
};
std::string* RegistryPullTest::archive_ = nullptr;
Registry* RegistryPullTest::registry_ = nullptr;

#define REQUIRE_REGISTRY()                                                     \
  do {                                                                         \
    if (archive_->empty()) GTEST_SKIP() << "busybox-static is not installed";  \
    ASSERT_NE(registry_, nullptr) << "the registry did not start (see above)"; \
  } while (0)

TEST_F(RegistryPullTest, PullsFromARealRegistry) {
  REQUIRE_REGISTRY();
  const std::string ref = registry_->Host() + "/busybox:1.35";
  auto start = Clock::now();
  auto img = store_->Pull(ref, {}, {registry_->Host()});
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  ASSERT_TRUE(img.ok()) << img.error().message();
  std::cout << "pull of the test image took " << took << " ms\n";
  EXPECT_EQ(img->repo_tags, std::vector<std::string>{ref});
  ASSERT_EQ(img->repo_digests.size(), 1u);
  EXPECT_TRUE(StartsWith(img->repo_digests[0], registry_->Host() + "/busybox@sha256:"));
  EXPECT_EQ(img->config.cmd, std::vector<std::string>{"sh"});

  auto res = store_->Resolve(ref);
  ASSERT_TRUE(res.ok()) << res.error().message();
  EXPECT_EQ(res->id, img->id);
  ASSERT_EQ(res->layers.size(), 1u);
  EXPECT_TRUE(PathExists(res->layers[0] + "/bin/busybox"));
  EXPECT_TRUE(PathExists(res->layers[0] + "/etc/passwd"));

  // Again, and by digest: the blobs are there already.
  start = Clock::now();
  auto again = store_->Pull(img->repo_digests[0], {}, {registry_->Host()});
  ASSERT_TRUE(again.ok()) << again.error().message();
  std::cout << "pull by digest of a present image took "
            << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count()
            << " ms\n";
  EXPECT_EQ(again->id, img->id);
  EXPECT_TRUE(store_->Resolve(img->repo_digests[0]).ok());
  EXPECT_EQ(Names(store_->dir() + "/layers").size(), 1u);

  // The same image imported from the archive is the same image id.
  auto imported = store_->Import(*archive_);
  ASSERT_TRUE(imported.ok()) << imported.error().message();
  EXPECT_EQ(imported->front().id, img->id);
}

TEST_F(RegistryPullTest, PullsDockerMediaTypes) {
  REQUIRE_REGISTRY();
  const std::string ref = registry_->Host() + "/docker/busybox:v2s2";
  auto img = store_->Pull(ref, {}, {"http://" + registry_->Host() + "/"});
  ASSERT_TRUE(img.ok()) << img.error().message();
  auto blob = ReadFile(store_->dir() + "/blobs/sha256/" + img->manifest_digest.substr(7));
  ASSERT_TRUE(blob.ok());
  EXPECT_NE(blob->find("application/vnd.docker.distribution.manifest.v2+json"), std::string::npos)
      << *blob;
  EXPECT_EQ(img->config.cmd, std::vector<std::string>{"sh"});
  auto res = store_->Resolve(ref);
  ASSERT_TRUE(res.ok()) << res.error().message();
  EXPECT_TRUE(PathExists(res->layers[0] + "/bin/busybox"));
}

TEST_F(RegistryPullTest, ConcurrentPullsOfOneImage) {
  REQUIRE_REGISTRY();
  const std::string ref = registry_->Host() + "/busybox:1.35";
  std::vector<std::thread> threads;
  std::vector<std::string> errors(4);
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      auto r = store_->Pull(ref, {}, {registry_->Host()});
      if (!r.ok()) errors[i] = r.error().message();
    });
  }
  for (auto& t : threads) t.join();
  for (auto& e : errors) EXPECT_EQ(e, "");
  EXPECT_EQ(Names(store_->dir() + "/layers").size(), 1u);
  EXPECT_EQ(Names(store_->dir() + "/blobs/sha256").size(), 3u);
  EXPECT_TRUE(store_->Resolve(ref).ok());
}

TEST_F(RegistryPullTest, UnknownImageIsManifestUnknown) {
  REQUIRE_REGISTRY();
  const std::string ref = registry_->Host() + "/nope:1";
  auto r = store_->Pull(ref, {}, {registry_->Host()});
  ASSERT_FALSE(r.ok());
  const std::string& m = r.error().message();
  EXPECT_TRUE(r.error().is(ErrorCode::kNotFound)) << m;
  EXPECT_TRUE(StartsWith(m, "pull " + ref + ": fetch manifest: GET http://" + registry_->Host() +
                                "/v2/nope/manifests/1: HTTP 404"))
      << m;
  EXPECT_NE(m.find("manifest unknown"), std::string::npos) << m;
  ExpectEmptyStore();
}

TEST_F(RegistryPullTest, WithoutInsecureFlagTheRegistryIsSpokenToOverHttps) {
  REQUIRE_REGISTRY();
  auto r = store_->Pull(registry_->Host() + "/busybox:1.35");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("GET https://" + registry_->Host()), std::string::npos)
      << r.error().message();
  ExpectEmptyStore();
}

TEST_F(RegistryPullTest, NothingListeningFailsFast) {
  const std::string host = "127.0.0.1:" + std::to_string(FreePort());
  auto start = Clock::now();
  auto r = store_->Pull(host + "/busybox:1.35", {}, {host});
  ASSERT_FALSE(r.ok());
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(3));
  const std::string& m = r.error().message();
  EXPECT_TRUE(r.error().is(ErrorCode::kUnavailable)) << m;
  EXPECT_NE(m.find("Couldn't connect to server (Connection refused)"), std::string::npos) << m;
  EXPECT_NE(m.find("GET http://" + host + "/v2/busybox/manifests/1.35"), std::string::npos) << m;
  ExpectEmptyStore();
}

TEST_F(RegistryPullTest, GarbageAnswerIsNamed) {
  FakeServer server([](const FakeServer::Request&) {
    return FakeServer::Response(200, "application/vnd.oci.image.manifest.v1+json",
                                "<html>hello</html>");
  });
  auto r = store_->Pull(server.Host() + "/x:1", {}, {server.Host()});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("manifest is not JSON"), std::string::npos)
      << r.error().message();
  ExpectEmptyStore();
}

TEST_F(RegistryPullTest, ConnectionDroppedMidLayerLeavesNothing) {
  if (archive_->empty()) GTEST_SKIP() << "busybox-static is not installed";
  std::string manifest_digest;
  auto blobs = LayoutBlobs(&manifest_digest);
  FakeServer server([&](const FakeServer::Request& req) {
    if (req.path == "/v2/busybox/manifests/1.35") {
      return FakeServer::Response(200, "application/vnd.oci.image.manifest.v1+json",
                                  blobs[manifest_digest]);
    }
    std::string digest = req.path.substr(req.path.rfind('/') + 1);
    if (!blobs.count(digest)) return FakeServer::Response(404, "application/json", "{}");
    const std::string& b = blobs[digest];
    if (b.size() < 100000) return FakeServer::Response(200, "application/octet-stream", b);
    // Announce the whole layer, send half, hang up.
    return FakeServer::Response(200, "application/octet-stream", b).substr(0, 200 + b.size() / 2);
  });
  auto r = store_->Pull(server.Host() + "/busybox:1.35", {}, {server.Host()});
  ASSERT_FALSE(r.ok());
  const std::string& m = r.error().message();
  EXPECT_NE(m.find("layer sha256:"), std::string::npos) << m;
  EXPECT_NE(m.find("/blobs/sha256:"), std::string::npos) << m;
  ExpectEmptyStore();
  // Only the manifest and the config made it (verified); no layer blob.
  EXPECT_EQ(Names(store_->dir() + "/blobs/sha256").size(), 2u);
  EXPECT_TRUE(Names(store_->dir() + "/layers").empty());
}

// A layer download the network cuts off is resumed where it stopped (Range: bytes=N-), from a
// registry that answers 206, and from one that ignores Range (200 again: the first N bytes skipped).
TEST_F(RegistryPullTest, DroppedLayerDownloadIsResumed) {
  if (archive_->empty()) GTEST_SKIP() << "busybox-static is not installed";
  std::string manifest_digest;
  auto blobs = LayoutBlobs(&manifest_digest);
  for (bool honour_range : {true, false}) {
    SCOPED_TRACE(honour_range ? "206" : "200");
    std::atomic<int> layer_requests{0};
    std::string range_seen;
    FakeServer server([&](const FakeServer::Request& req) {
      if (req.path == "/v2/busybox/manifests/1.35") {
        return FakeServer::Response(200, "application/vnd.oci.image.manifest.v1+json",
                                    blobs[manifest_digest]);
      }
      std::string digest = req.path.substr(req.path.rfind('/') + 1);
      if (!blobs.count(digest)) return FakeServer::Response(404, "application/json", "{}");
      const std::string& b = blobs[digest];
      if (b.size() < 100000) return FakeServer::Response(200, "application/octet-stream", b);
      int n = ++layer_requests;
      if (n == 1) {  // announce the whole layer, send a third of it, hang up
        return FakeServer::Response(200, "application/octet-stream", b)
            .substr(0, 200 + b.size() / 3);
      }
      auto it = req.headers.find("range");
      range_seen = it == req.headers.end() ? "" : it->second;
      if (honour_range && StartsWith(range_seen, "bytes=")) {
        size_t from = std::stoul(range_seen.substr(6));
        if (from >= b.size()) return FakeServer::Response(416, "application/json", "{}");
        return FakeServer::Response(206, "application/octet-stream", b.substr(from),
                                    "Content-Range: bytes " + std::to_string(from) + "-" +
                                        std::to_string(b.size() - 1) + "/" +
                                        std::to_string(b.size()) + "\r\n");
      }
      return FakeServer::Response(200, "application/octet-stream", b);
    });
    TempDir root;
    auto s = ImageStore::Open(root.path());
    ASSERT_TRUE(s.ok());
    auto r = (*s)->Pull(server.Host() + "/busybox:1.35", {}, {server.Host()});
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_EQ(layer_requests, 2);
    EXPECT_TRUE(StartsWith(range_seen, "bytes=")) << range_seen;
    EXPECT_NE(range_seen, "bytes=0-");
    auto res = (*s)->Resolve(server.Host() + "/busybox:1.35");
    ASSERT_TRUE(res.ok()) << res.error().message();
    EXPECT_TRUE(PathExists(res->layers[0] + "/bin/busybox"));
    for (auto& n : Names((*s)->dir() + "/blobs/sha256")) {
      EXPECT_FALSE(StartsWith(n, ".tmp")) << n;
    }
  }
}

// A registry that sends the wrong bytes after a resume: the digest check refuses the blob.
TEST_F(RegistryPullTest, ResumedDownloadWithWrongBytesIsRefused) {
  if (archive_->empty()) GTEST_SKIP() << "busybox-static is not installed";
  std::string manifest_digest;
  auto blobs = LayoutBlobs(&manifest_digest);
  std::atomic<int> layer_requests{0};
  FakeServer server([&](const FakeServer::Request& req) {
    if (req.path == "/v2/busybox/manifests/1.35") {
      return FakeServer::Response(200, "application/vnd.oci.image.manifest.v1+json",
                                  blobs[manifest_digest]);
    }
    std::string digest = req.path.substr(req.path.rfind('/') + 1);
    if (!blobs.count(digest)) return FakeServer::Response(404, "application/json", "{}");
    const std::string& b = blobs[digest];
    if (b.size() < 100000) return FakeServer::Response(200, "application/octet-stream", b);
    if (++layer_requests == 1)
      return FakeServer::Response(200, "application/octet-stream", b).substr(0, 200 + b.size() / 3);
    size_t from = std::stoul(req.headers.at("range").substr(6));
    return FakeServer::Response(206, "application/octet-stream", std::string(b.size() - from, 'x'));
  });
  auto r = store_->Pull(server.Host() + "/busybox:1.35", {}, {server.Host()});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("digest mismatch"), std::string::npos) << r.error().message();
  ExpectEmptyStore();
  EXPECT_TRUE(Names(store_->dir() + "/layers").empty());
}

TEST_F(RegistryPullTest, StalledTransferTimesOut) {
  if (archive_->empty()) GTEST_SKIP() << "busybox-static is not installed";
  std::string manifest_digest;
  auto blobs = LayoutBlobs(&manifest_digest);
  FakeServer server([&](const FakeServer::Request& req) {
    if (req.path == "/v2/busybox/manifests/1.35") {
      return FakeServer::Response(200, "application/vnd.oci.image.manifest.v1+json",
                                  blobs[manifest_digest]);
    }
    std::string digest = req.path.substr(req.path.rfind('/') + 1);
    const std::string& b = blobs[digest];
    if (b.size() < 100000) return FakeServer::Response(200, "application/octet-stream", b);
    return "HOLD\n" + FakeServer::Response(200, "application/octet-stream", b).substr(0, 600);
  });
  RegistryOptions opts;
  opts.low_speed_time = std::chrono::seconds(1);
  auto s = ImageStore::Open(root_.path(), opts);
  ASSERT_TRUE(s.ok());
  auto start = Clock::now();
  auto r = (*s)->Pull(server.Host() + "/busybox:1.35", {}, {server.Host()});
  ASSERT_FALSE(r.ok());
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(10));
  EXPECT_TRUE(r.error().is(ErrorCode::kTimeout)) << r.error().message();
  EXPECT_NE(r.error().message().find("layer sha256:"), std::string::npos) << r.error().message();
  ExpectEmptyStore();
  EXPECT_TRUE(Names(store_->dir() + "/layers").empty());
}

TEST_F(RegistryPullTest, BearerTokenChallenge) {
  if (archive_->empty()) GTEST_SKIP() << "busybox-static is not installed";
  std::string manifest_digest;
  auto blobs = LayoutBlobs(&manifest_digest);
  std::string host;
  std::atomic<int> token_requests{0};
  std::string token_auth;
  FakeServer server([&](const FakeServer::Request& req) {
    if (StartsWith(req.path, "/token?")) {
      ++token_requests;
      token_auth = req.headers.count("authorization") ? req.headers.at("authorization") : "";
      if (req.path.find("scope=repository%3Abusybox%3Apull") == std::string::npos) {
        return FakeServer::Response(400, "application/json", "{}");
      }
      return FakeServer::Response(200, "application/json", R"({"token":"sesame"})");
    }
    auto it = req.headers.find("authorization");
    if (it == req.headers.end() || it->second != "Bearer sesame") {
      return FakeServer::Response(
          401, "application/json",
          R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})",
          "WWW-Authenticate: Bearer realm=\"http://" + host +
              "/token\",service=\"fake\",scope=\"repository:busybox:pull\"\r\n");
    }
    if (req.path == "/v2/busybox/manifests/1.35") {
      return FakeServer::Response(200, "application/vnd.oci.image.manifest.v1+json",
                                  blobs[manifest_digest]);
    }
    std::string digest = req.path.substr(req.path.rfind('/') + 1);
    if (!blobs.count(digest)) return FakeServer::Response(404, "application/json", "{}");
    return FakeServer::Response(200, "application/octet-stream", blobs[digest]);
  });
  host = server.Host();
  runtime::PullAuth auth;
  auth.username = "user";
  auth.password = "pw";
  auto r = store_->Pull(host + "/busybox:1.35", auth, {host});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(token_requests, 1);  // the token is reused for the blobs
  EXPECT_EQ(token_auth, "Basic dXNlcjpwdw==");

  // A registry that wants credentials we do not have: the 401 is named.
  FakeServer closed([](const FakeServer::Request&) {
    return FakeServer::Response(
        401, "application/json",
        R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})",
        "WWW-Authenticate: Basic realm=\"x\"\r\n");
  });
  auto denied = store_->Pull(closed.Host() + "/busybox:1.35", {}, {closed.Host()});
  ASSERT_FALSE(denied.ok());
  EXPECT_TRUE(denied.error().is(ErrorCode::kPermission)) << denied.error().message();
  EXPECT_NE(denied.error().message().find("basic authentication"), std::string::npos)
      << denied.error().message();
}

}  // namespace
}  // namespace nanolet::image
