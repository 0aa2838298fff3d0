// Projected service account tokens from the TokenRequest API (ApiserverObjectProvider), with upstream's
// refresh rules, against a tiny in-process HTTP server playing the apiserver, on a FakeClock.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "client/rest_client.h"
#include "kubelet/apiserver_objects.h"
#include "runtime/volume/projection.h"
#include "util/timefmt.h"

namespace nanolet::kubelet {
namespace {

class TokenApi {
 public:
  explicit TokenApi(const FakeClock& clock) : clock_(clock) {
    srv_.Post(R"(/api/v1/namespaces/([^/]+)/serviceaccounts/([^/]+)/token)",
              [this](const httplib::Request& req, httplib::Response& res) {
                std::lock_guard<std::mutex> l(mu_);
                ++calls_;
                last_path_ = req.path;
                last_body_ = nlohmann::json::parse(req.body);
                if (fail_) {
                  res.status = 500;
                  res.set_content(R"({"kind":"Status","message":"etcd is away","code":500})", "application/json");
                  return;
                }
                int64_t exp = last_body_["spec"]["expirationSeconds"];
                nlohmann::json out = {
                    {"kind", "TokenRequest"},
                    {"apiVersion", "authentication.k8s.io/v1"},
                    {"spec", last_body_["spec"]},
                    {"status", {{"token", "tok-" + std::to_string(calls_)},
                                {"expirationTimestamp", FormatRFC3339(clock_.Now() + std::chrono::seconds(exp))}}}};
                res.set_content(out.dump(), "application/json");
              });
    port_ = srv_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { srv_.listen_after_bind(); });
  }
  ~TokenApi() {
    srv_.stop();
    thread_.join();
  }
  client::RestConfig Config() const {
    client::RestConfig c;
    c.server = "http://127.0.0.1:" + std::to_string(port_);
    c.qps = 0;
    return c;
  }
  int calls() {
    std::lock_guard<std::mutex> l(mu_);
    return calls_;
  }
  nlohmann::json last_body() {
    std::lock_guard<std::mutex> l(mu_);
    return last_body_;
  }
  std::string last_path() {
    std::lock_guard<std::mutex> l(mu_);
    return last_path_;
  }
  void set_fail(bool f) {
    std::lock_guard<std::mutex> l(mu_);
    fail_ = f;
  }

 private:
  const FakeClock& clock_;
  httplib::Server srv_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  int calls_ = 0;
  bool fail_ = false;
  nlohmann::json last_body_;
  std::string last_path_;
};

api::Pod TokenPod() {
  api::Pod pod;
  pod.metadata.name = "web";
  pod.metadata.namespace_ = "apps";
  pod.metadata.uid = "uid-1";
  pod.spec.service_account_name = "builder";
  return pod;
}

TEST(ServiceAccountToken, BoundToThePod_CachedThenRefreshedAt80Percent_StaleServedUntilExpiry) {
  FakeClock clock;
  TokenApi api(clock);
  auto rc = client::RestClient::Create(api.Config());
  ASSERT_TRUE(rc.ok()) << rc.error().message();
  (*rc)->max_retries = 0;  // a 500 is an answer here, not something to retry for
  ApiserverObjectProvider objects(**rc, nullptr, clock);
  api::ServiceAccountTokenProjection p;
  p.path = "token";
  p.audience = "vault";
  p.expiration_seconds = 1000;

  auto t = objects.GetServiceAccountToken(TokenPod(), p);
  ASSERT_TRUE(t.ok()) << t.error().message();
  EXPECT_EQ(*t, "tok-1");
  EXPECT_EQ(api.last_path(), "/api/v1/namespaces/apps/serviceaccounts/builder/token");
  nlohmann::json spec = api.last_body()["spec"];
  EXPECT_EQ(spec["audiences"], nlohmann::json::array({"vault"}));
  EXPECT_EQ(spec["expirationSeconds"], 1000);
  EXPECT_EQ(spec["boundObjectRef"]["kind"], "Pod");
  EXPECT_EQ(spec["boundObjectRef"]["name"], "web");
  EXPECT_EQ(spec["boundObjectRef"]["uid"], "uid-1");

  clock.Advance(std::chrono::seconds(790));  // 79% of its lifetime: still good
  EXPECT_EQ(*objects.GetServiceAccountToken(TokenPod(), p), "tok-1");
  EXPECT_EQ(api.calls(), 1);
  clock.Advance(std::chrono::seconds(20));  // 81%: refreshed
  EXPECT_EQ(*objects.GetServiceAccountToken(TokenPod(), p), "tok-2");
  EXPECT_EQ(api.calls(), 2);

  // The apiserver fails: the cached token is served while it is valid, then the error.
  clock.Advance(std::chrono::seconds(850));
  api.set_fail(true);
  EXPECT_EQ(*objects.GetServiceAccountToken(TokenPod(), p), "tok-2");
  clock.Advance(std::chrono::seconds(200));  // past its expiry
  auto gone = objects.GetServiceAccountToken(TokenPod(), p);
  ASSERT_FALSE(gone.ok());
  EXPECT_NE(gone.error().message().find("service account \"apps/builder\""), std::string::npos)
      << gone.error().message();
}

TEST(ServiceAccountToken, ProjectedVolumeCarriesTheToken_DefaultsAndAnotherPodGetsItsOwn) {
  FakeClock clock;
  TokenApi api(clock);
  auto rc = client::RestClient::Create(api.Config());
  ASSERT_TRUE(rc.ok());
  ApiserverObjectProvider objects(**rc, nullptr, clock);
  api::Pod pod = TokenPod();
  pod.spec.service_account_name.clear();  // "default"
  api::Volume v;
  v.name = "kube-api-access";
  v.projected.emplace();
  api::VolumeProjection src;
  src.service_account_token.emplace();
  src.service_account_token->path = "token";
  v.projected->sources.push_back(src);
  auto payload = volume::VolumePayload(pod, v, &objects, nullptr);
  ASSERT_TRUE(payload.ok()) << payload.error().message();
  ASSERT_EQ(payload->count("token"), 1u);
  EXPECT_EQ(payload->at("token").data, "tok-1");
  EXPECT_EQ(api.last_path(), "/api/v1/namespaces/apps/serviceaccounts/default/token");
  EXPECT_EQ(api.last_body()["spec"]["expirationSeconds"], 3600);
  EXPECT_EQ(api.last_body()["spec"]["audiences"], nlohmann::json::array());
  api::Pod other = pod;
  other.metadata.uid = "uid-2";
  EXPECT_EQ(volume::VolumePayload(other, v, &objects, nullptr)->at("token").data, "tok-2");
  // Standalone (no apiserver): the source is skipped with a note, not an error.
  volume::StaticObjectProvider none;
  std::vector<std::string> notes;
  auto standalone = volume::VolumePayload(pod, v, &none, &notes);
  ASSERT_TRUE(standalone.ok());
  EXPECT_EQ(standalone->count("token"), 0u);
  ASSERT_EQ(notes.size(), 1u);
  // A path escaping the volume is refused.
  v.projected->sources[0].service_account_token->path = "../token";
  EXPECT_FALSE(volume::VolumePayload(pod, v, &objects, nullptr).ok());
}

}  // namespace
}  // namespace nanolet::kubelet
