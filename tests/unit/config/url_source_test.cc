#include "config/url_source.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "config/static_pod.h"
#include "test_http_server.h"
#include "test_util.h"

namespace nanolet::config {
namespace {

using namespace std::chrono_literals;
using testing::Loop;
using testing::PodYaml;
using testing::StderrCapture;

const char* kPodList = R"({"apiVersion":"v1","kind":"PodList","items":[
  {"apiVersion":"v1","kind":"Pod","metadata":{"name":"a"},"spec":{"containers":[{"name":"c","image":"busybox"}]}},
  {"apiVersion":"v1","kind":"Pod","metadata":{"name":"b"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}]})";

// A local HTTP server whose answer the test sets; it records the request headers it saw.
class TestServer {
 public:
  TestServer()
      : server_([this](const testing::HttpRequest& req) {
          std::lock_guard<std::mutex> l(mu_);
          ++requests_;
          last_headers_ = req.headers;
          return testing::HttpResponse{status_, body_, content_type_};
        }) {}
  std::string Url() const { return server_.Url("/pods"); }
  void Serve(int status, std::string body, std::string type = "application/json") {
    std::lock_guard<std::mutex> l(mu_);
    status_ = status;
    body_ = std::move(body);
    content_type_ = std::move(type);
  }
  int Requests() {
    std::lock_guard<std::mutex> l(mu_);
    return requests_;
  }
  std::multimap<std::string, std::string> Headers() {
    std::lock_guard<std::mutex> l(mu_);
    return last_headers_;
  }

 private:
  std::mutex mu_;
  int status_ = 200;
  std::string body_;
  std::string content_type_ = "application/json";
  int requests_ = 0;
  std::multimap<std::string, std::string> last_headers_;
  testing::HttpServer server_;  // last: stopped first
};

struct Harness {
  Harness(const std::string& url, HttpHeaders headers = {}, Duration interval = 20ms) {
    UrlSource::Options o;
    o.url = url;
    o.headers = std::move(headers);
    o.node_name = "node1";
    o.interval = interval;
    o.timeout = 2s;
    source = std::make_unique<UrlSource>(loop.get(), o,
                                         [this](const std::string& s, std::vector<api::Pod> p) {
                                           EXPECT_EQ(s, kSourceHttp);
                                           sets.push_back(std::move(p));
                                         });
    EXPECT_TRUE(source->Start().ok());
  }
  ~Harness() { source.reset(); }
  Loop loop;
  std::vector<std::vector<api::Pod>> sets;
  std::unique_ptr<UrlSource> source;
};

TEST(ParseManifestUrlHeader, ColonPairsCommasAndRepeats) {
  HttpHeaders h;
  ASSERT_TRUE(ParseManifestUrlHeader("Authorization: Bearer x", h).ok());
  ASSERT_TRUE(ParseManifestUrlHeader("X-A:1,X-A:2, X-B : v:with:colons", h).ok());
  EXPECT_EQ(
      h, (HttpHeaders{
             {"Authorization", "Bearer x"}, {"X-A", "1"}, {"X-A", "2"}, {"X-B", "v:with:colons"}}));
  EXPECT_FALSE(ParseManifestUrlHeader("novalue", h).ok());
}

TEST(UrlSource, ServesPodListAndSendsHeaders) {
  TestServer server;
  server.Serve(200, kPodList);
  Harness h(server.Url(), {{"X-Token", "secret"}, {"X-Multi", "1"}, {"X-Multi", "2"}});
  ASSERT_TRUE(h.loop.RunUntil([&] { return !h.sets.empty(); }));
  ASSERT_EQ(h.sets[0].size(), 2u);
  const api::Pod& a = h.sets[0][0];
  EXPECT_EQ(a.metadata.name, "a-node1");
  EXPECT_EQ(a.metadata.annotations.at(kConfigSourceAnnotation), "http");
  EXPECT_EQ(a.metadata.annotations.at(kConfigHashAnnotation), a.metadata.uid);
  EXPECT_EQ(a.metadata.annotations.count(kConfigSeenAnnotation), 1u);
  EXPECT_EQ(a.spec.node_name, "node1");
  auto headers = server.Headers();
  EXPECT_EQ(headers.find("X-Token")->second, "secret");
  EXPECT_EQ(headers.count("X-Multi"), 2u);
  // Unchanged bodies on later polls make no callback.
  int seen = server.Requests();
  ASSERT_TRUE(h.loop.RunUntil([&] { return server.Requests() >= seen + 2; }));
  EXPECT_EQ(h.sets.size(), 1u);
}

TEST(UrlSource, SinglePodYamlBody) {
  TestServer server;
  server.Serve(200, PodYaml("web"), "application/yaml");
  Harness h(server.Url());
  ASSERT_TRUE(h.loop.RunUntil([&] { return !h.sets.empty(); }));
  ASSERT_EQ(h.sets[0].size(), 1u);
  EXPECT_EQ(h.sets[0][0].metadata.name, "web-node1");
}

TEST(UrlSource, ServerErrorOrGarbageKeepsThePods) {
  TestServer server;
  server.Serve(200, kPodList);
  Harness h(server.Url());
  ASSERT_TRUE(h.loop.RunUntil([&] { return !h.sets.empty(); }));
  ASSERT_EQ(h.sets.back().size(), 2u);

  StderrCapture cap;
  server.Serve(500, "oops");
  uint64_t failures = h.source->stats().failures;
  ASSERT_TRUE(h.loop.RunUntil([&] { return h.source->stats().failures >= failures + 2; }));
  server.Serve(200, "{this is: [not valid");
  ASSERT_TRUE(h.loop.RunUntil([&] { return h.source->stats().failures >= failures + 3; }));
  server.Serve(
      200,
      R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"},"spec":{"containers":[{"name":"c"}]}})");
  ASSERT_TRUE(h.loop.RunUntil([&] { return h.source->stats().failures >= failures + 4; }));
  cap.Restore();
  EXPECT_EQ(h.sets.size(), 1u) << "failures must not call back";
  EXPECT_EQ(h.source->Pods().size(), 2u);
  EXPECT_NE(cap.Final().find("HTTP status 500"), std::string::npos) << cap.Final();
  EXPECT_NE(cap.Final().find("invalid manifest"), std::string::npos) << cap.Final();

  // Recovery with new content.
  server.Serve(200, PodYaml("web"), "application/yaml");
  ASSERT_TRUE(h.loop.RunUntil([&] { return h.sets.size() == 2; }));
  ASSERT_EQ(h.sets.back().size(), 1u);
  EXPECT_EQ(h.sets.back()[0].metadata.name, "web-node1");
}

TEST(UrlSource, UnreachableServerKeepsNothingAndCallsNothing) {
  // A port nobody listens on: bind one, then free it.
  int port;
  {
    testing::HttpServer s([](const testing::HttpRequest&) { return testing::HttpResponse{}; });
    port = s.port();
  }
  StderrCapture cap;
  Harness h("http://127.0.0.1:" + std::to_string(port) + "/pods");
  ASSERT_TRUE(h.loop.RunUntil([&] { return h.source->stats().failures >= 1; }));
  cap.Restore();
  EXPECT_TRUE(h.sets.empty());
}

TEST(UrlSource, EmptyBodyMeansNoPodsAsUpstream) {
  TestServer server;
  server.Serve(200, kPodList);
  Harness h(server.Url());
  ASSERT_TRUE(h.loop.RunUntil([&] { return !h.sets.empty(); }));
  StderrCapture cap;
  server.Serve(200, "");
  ASSERT_TRUE(h.loop.RunUntil([&] { return h.sets.size() == 2; }));
  EXPECT_TRUE(h.sets.back().empty());
  // The same list coming back restores the pods.
  server.Serve(200, kPodList);
  ASSERT_TRUE(h.loop.RunUntil([&] { return h.sets.size() == 3; }));
  cap.Restore();
  EXPECT_EQ(h.sets.back().size(), 2u);
}

TEST(UrlSource, StopInterruptsASlowFetchAtOnce) {
  std::atomic<bool> release{false};
  std::atomic<int> requests{0};
  testing::HttpServer slow([&](const testing::HttpRequest&) {
    ++requests;
    for (int i = 0; i < 300 && !release; ++i) std::this_thread::sleep_for(10ms);
    return testing::HttpResponse{200, kPodList, "application/json"};
  });
  {
    Harness h(slow.Url("/pods"), {}, 10s);
    h.loop.RunFor(20ms);  // the first tick requests the fetch
    // The fetch runs on the source's worker, not on the loop: wait for it to reach the server.
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (requests == 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
    ASSERT_GT(requests.load(), 0);  // the fetch now hangs in the server
    auto start = std::chrono::steady_clock::now();
    h.source->Stop();
    EXPECT_LT(std::chrono::steady_clock::now() - start, 500ms);
    EXPECT_TRUE(h.sets.empty());
  }
  release = true;
}

}  // namespace
}  // namespace nanolet::config
