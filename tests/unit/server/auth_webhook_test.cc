// TokenReview and SubjectAccessReview webhooks of the authenticated port, on a fake apiserver POST:
// what is asked, how answers are cached (upstream's TTLs), and that errors are not cached.
#include <gtest/gtest.h>

#include "server/auth.h"

namespace nanolet::server {
namespace {

struct FakePost {
  std::vector<std::pair<std::string, nlohmann::json>> calls;
  nlohmann::json answer;
  bool fail = false;
  ApiPostFn Fn() {
    return [this](const std::string& path, const nlohmann::json& body) -> Result<nlohmann::json> {
      calls.push_back({path, body});
      if (fail) return Error("connection refused", ErrorCode::kUnavailable);
      return answer;
    };
  }
};

TEST(WebhookTokenAuthenticator, TokenReview_CachedForTheTtl_ErrorsNotCached) {
  FakePost api;
  api.answer = {
      {"status",
       {{"authenticated", true},
        {"user",
         {{"username", "alice"}, {"uid", "u1"}, {"groups", {"g1", "system:authenticated"}}}}}}};
  FakeClock clock;
  WebhookTokenAuthenticator a(api.Fn(), std::chrono::minutes(2), clock);
  auto u = a.AuthenticateToken("tok");
  ASSERT_TRUE(u.ok());
  ASSERT_TRUE(u->has_value());
  EXPECT_EQ((*u)->name, "alice");
  EXPECT_EQ((*u)->groups, (std::vector<std::string>{"g1", "system:authenticated"}));
  ASSERT_EQ(api.calls.size(), 1u);
  EXPECT_EQ(api.calls[0].first, "/apis/authentication.k8s.io/v1/tokenreviews");
  EXPECT_EQ(api.calls[0].second["kind"], "TokenReview");
  EXPECT_EQ(api.calls[0].second["spec"]["token"], "tok");
  clock.Advance(std::chrono::seconds(119));
  ASSERT_TRUE(a.AuthenticateToken("tok").ok());
  EXPECT_EQ(api.calls.size(), 1u);  // cached
  clock.Advance(std::chrono::seconds(2));
  api.answer = {{"status", {{"authenticated", false}, {"error", "token expired"}}}};
  u = a.AuthenticateToken("tok");
  ASSERT_TRUE(u.ok());
  EXPECT_FALSE(u->has_value());  // asked again after 2m: now rejected
  EXPECT_EQ(api.calls.size(), 2u);
  ASSERT_TRUE(a.AuthenticateToken("tok").ok());
  EXPECT_EQ(api.calls.size(), 2u);  // a rejection is cached too
  api.fail = true;
  EXPECT_FALSE(a.AuthenticateToken("other").ok());
  EXPECT_FALSE(a.AuthenticateToken("other").ok());
  EXPECT_EQ(api.calls.size(), 4u);  // errors are not cached
}

TEST(UnionAuthenticator, TokenFileFirstThenWebhook) {
  auto file = TokenFileAuthenticator::Parse("t1,bob,u2,\"system:masters\"\n", "test");
  ASSERT_TRUE(file.ok());
  FakePost api;
  api.answer = {{"status", {{"authenticated", true}, {"user", {{"username", "carol"}}}}}};
  FakeClock clock;
  WebhookTokenAuthenticator hook(api.Fn(), std::chrono::minutes(2), clock);
  UnionAuthenticator both({file->get(), &hook});
  auto u = both.AuthenticateToken("t1");
  ASSERT_TRUE(u.ok() && u->has_value());
  EXPECT_EQ((*u)->name, "bob");
  EXPECT_TRUE(api.calls.empty());
  u = both.AuthenticateToken("t2");
  ASSERT_TRUE(u.ok() && u->has_value());
  EXPECT_EQ((*u)->name, "carol");
}

TEST(WebhookAuthorizer, SubjectAccessReviewWithKubeletAttributes_CachedAllowed5mDenied30s) {
  FakePost api;
  api.answer = {{"status", {{"allowed", true}}}};
  FakeClock clock;
  WebhookAuthorizer z(api.Fn(), "node1", clock);
  UserInfo alice{"alice", "u1", {"g1"}};
  EXPECT_TRUE(z.Authorize(alice, AttributesFor("GET", "/stats/summary")));
  ASSERT_EQ(api.calls.size(), 1u);
  EXPECT_EQ(api.calls[0].first, "/apis/authorization.k8s.io/v1/subjectaccessreviews");
  const auto& spec = api.calls[0].second["spec"];
  EXPECT_EQ(spec["user"], "alice");
  EXPECT_EQ(spec["groups"][0], "g1");
  EXPECT_EQ(spec["resourceAttributes"]["verb"], "get");
  EXPECT_EQ(spec["resourceAttributes"]["resource"], "nodes");
  EXPECT_EQ(spec["resourceAttributes"]["subresource"], "stats");
  EXPECT_EQ(spec["resourceAttributes"]["name"], "node1");
  clock.Advance(std::chrono::minutes(4));
  EXPECT_TRUE(z.Authorize(alice, AttributesFor("GET", "/stats/summary")));
  EXPECT_EQ(api.calls.size(), 1u);
  api.answer = {{"status", {{"allowed", false}}}};
  EXPECT_FALSE(z.Authorize(alice, AttributesFor("GET", "/pods")));  // another subresource: asked
  EXPECT_EQ(api.calls.size(), 2u);
  clock.Advance(std::chrono::seconds(31));
  api.answer = {{"status", {{"allowed", true}}}};
  EXPECT_TRUE(z.Authorize(alice, AttributesFor("GET", "/pods")));  // a denial expires after 30 s
  api.fail = true;
  EXPECT_FALSE(z.Authorize(alice, AttributesFor("GET", "/metrics")));  // no answer: denied
}

}  // namespace
}  // namespace nanolet::server
