#include "server/pod_table.h"

#include <gtest/gtest.h>

#include "server/container_logs.h"
#include "server/selectors.h"
#include "util/timefmt.h"

namespace nanolet::server {
namespace {

using namespace std::chrono_literals;

api::ContainerStatus Running(const std::string& name, bool ready = true) {
  api::ContainerStatus s;
  s.name = name;
  s.ready = ready;
  s.state.running = api::ContainerStateRunning{"2026-11-27T18:00:00Z"};
  return s;
}
api::ContainerStatus Waiting(const std::string& name, const std::string& reason) {
  api::ContainerStatus s;
  s.name = name;
  s.state.waiting = api::ContainerStateWaiting{reason, ""};
  return s;
}
api::ContainerStatus Terminated(const std::string& name, int code, const std::string& reason,
                                int sig = 0) {
  api::ContainerStatus s;
  s.name = name;
  s.state.terminated = api::ContainerStateTerminated{code, sig, reason, "", "", "", ""};
  return s;
}

api::Pod PodWith(std::vector<std::string> containers, std::vector<std::string> inits = {}) {
  api::Pod p;
  p.metadata.name = "p";
  for (auto& c : containers) p.spec.containers.push_back(api::Container{.name = c});
  for (auto& c : inits) p.spec.init_containers.push_back(api::Container{.name = c});
  p.status.phase = "Running";
  return p;
}

TEST(PodStatusReason, AsPrintPod) {
  struct Case {
    const char* name;
    api::Pod pod;
    const char* want;
  };
  std::vector<Case> cases;
  {
    auto p = PodWith({"a"});
    p.status.container_statuses = {Running("a")};
    cases.push_back({"running", p, "Running"});
  }
  {
    auto p = PodWith({"a"});
    p.status.phase = "Pending";
    p.status.container_statuses = {Waiting("a", "ContainerCreating")};
    cases.push_back({"creating", p, "ContainerCreating"});
  }
  {
    auto p = PodWith({"a"});
    p.status.container_statuses = {Waiting("a", "CrashLoopBackOff")};
    cases.push_back({"crashloop", p, "CrashLoopBackOff"});
  }
  {
    auto p = PodWith({"a"});
    p.status.phase = "Succeeded";
    p.status.container_statuses = {Terminated("a", 0, "Completed")};
    cases.push_back({"completed", p, "Completed"});
  }
  {
    auto p = PodWith({"a"});
    p.status.phase = "Failed";
    p.status.container_statuses = {Terminated("a", 137, "", 9)};
    cases.push_back({"signal", p, "Signal:9"});
  }
  {
    auto p = PodWith({"a"});
    p.status.container_statuses = {Terminated("a", 2, "")};
    cases.push_back({"exitcode", p, "ExitCode:2"});
  }
  {
    auto p = PodWith({"a"}, {"i1", "i2"});
    p.status.phase = "Pending";
    p.status.init_container_statuses = {Terminated("i1", 0, "Completed"), Running("i2", false)};
    p.status.container_statuses = {Waiting("a", "PodInitializing")};
    cases.push_back({"init progress", p, "Init:1/2"});
  }
  {
    auto p = PodWith({"a"}, {"i1"});
    p.status.phase = "Pending";
    p.status.init_container_statuses = {Waiting("i1", "CrashLoopBackOff")};
    cases.push_back({"init crashloop", p, "Init:CrashLoopBackOff"});
  }
  {
    auto p = PodWith({"a"}, {"i1"});
    p.status.phase = "Pending";
    p.status.init_container_statuses = {Terminated("i1", 1, "Error")};
    cases.push_back({"init error", p, "Init:Error"});
  }
  {
    auto p = PodWith({"a", "b"});
    p.status.container_statuses = {Terminated("a", 0, "Completed"), Running("b")};
    p.status.conditions = {{"Ready", "True", "", "", "", ""}};
    cases.push_back({"completed with running", p, "Running"});
    p.status.conditions = {{"Ready", "False", "", "", "", ""}};
    cases.push_back({"completed with running not ready", p, "NotReady"});
  }
  {
    auto p = PodWith({"a"});
    p.status.container_statuses = {Running("a")};
    p.metadata.deletion_timestamp = "2026-11-27T18:00:00Z";
    cases.push_back({"terminating", p, "Terminating"});
    p.status.reason = "NodeLost";
    cases.push_back({"node lost", p, "Unknown"});
  }
  {
    auto p = PodWith({"a"});
    p.status.phase = "Succeeded";
    p.status.container_statuses = {Terminated("a", 0, "Completed")};
    p.metadata.deletion_timestamp = "2026-11-27T18:00:00Z";
    cases.push_back({"deleting a finished pod", p, "Completed"});
  }
  for (const auto& c : cases) EXPECT_EQ(PodStatusReason(c.pod), c.want) << c.name;
}

TEST(PrintPod, ReadyAndRestarts) {
  auto p = PodWith({"a", "b"});
  p.metadata.creation_timestamp = "2026-11-27T17:00:00Z";
  p.status.container_statuses = {Running("a"), Running("b", false)};
  p.status.container_statuses[1].restart_count = 2;
  p.status.container_statuses[1].last_state.terminated =
      api::ContainerStateTerminated{1, 0, "Error", "", "", "2026-11-27T17:58:00Z", ""};
  auto row = PrintPod(p, *ParseRFC3339("2026-11-27T18:00:00Z"));
  EXPECT_EQ(row.ready, "1/2");
  EXPECT_EQ(row.restarts, "2 (2m ago)");
  EXPECT_EQ(row.age, "60m");
  EXPECT_EQ(row.ip, "<none>");
}

TEST(HumanDuration, AsApimachinery) {
  EXPECT_EQ(HumanDuration(5s), "5s");
  EXPECT_EQ(HumanDuration(119s), "119s");
  EXPECT_EQ(HumanDuration(150s), "2m30s");
  EXPECT_EQ(HumanDuration(10min), "10m");
  EXPECT_EQ(HumanDuration(3h + 5min), "3h5m");
  EXPECT_EQ(HumanDuration(30h), "30h");
  EXPECT_EQ(HumanDuration(51h), "2d3h");
  EXPECT_EQ(HumanDuration(24h * 30), "30d");
  EXPECT_EQ(HumanDuration(24h * 400), "400d");
  EXPECT_EQ(HumanDuration(24h * (365 * 2 + 10)), "2y10d");
  EXPECT_EQ(HumanDuration(-5s), "<invalid>");
  EXPECT_EQ(TimestampSince("", {}), "<unknown>");
}

TEST(Selector, Labels) {
  api::Pod p;
  p.metadata.labels = {{"app", "web"}, {"tier", "fe"}};
  auto m = [&](const std::string& s) {
    auto sel = Selector::ParseLabels(s);
    EXPECT_TRUE(sel.ok()) << s;
    return sel.ok() && sel->Matches(p);
  };
  EXPECT_TRUE(m(""));
  EXPECT_TRUE(m("app=web"));
  EXPECT_TRUE(m("app==web,tier=fe"));
  EXPECT_FALSE(m("app=db"));
  EXPECT_TRUE(m("app!=db"));
  EXPECT_TRUE(m("missing!=x"));
  EXPECT_TRUE(m("app"));
  EXPECT_FALSE(m("!app"));
  EXPECT_TRUE(m("app in (db, web)"));
  EXPECT_FALSE(m("app notin (db,web)"));
  EXPECT_FALSE(Selector::ParseLabels("a in b").ok());
  EXPECT_FALSE(Selector::ParseLabels(",").ok());
}

TEST(Selector, FieldsRejectUnknown) {
  EXPECT_FALSE(Selector::ParseFields("metadata.uid=x").ok());
  EXPECT_FALSE(Selector::ParseFields("nonsense").ok());
  api::Pod p;
  p.spec.node_name = "n1";
  auto s = Selector::ParseFields("spec.nodeName=n1,status.phase!=Failed");
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->Matches(p));
}

TEST(CriLine, Parse) {
  CriLine l;
  ASSERT_TRUE(ParseCriLine("2026-11-27T18:00:00.1Z stdout F hello world", &l));
  EXPECT_EQ(l.content, "hello world");
  EXPECT_FALSE(l.partial);
  ASSERT_TRUE(ParseCriLine("2026-11-27T18:00:00.1Z stderr P:x part", &l));
  EXPECT_TRUE(l.partial);
  ASSERT_TRUE(ParseCriLine("2026-11-27T18:00:00.1Z stdout F", &l));
  EXPECT_EQ(l.content, "");
  EXPECT_FALSE(ParseCriLine("garbage", &l));
  EXPECT_FALSE(ParseCriLine("ts stdin F x", &l));
  EXPECT_FALSE(ParseCriLine("ts stdout X x", &l));
}

TEST(LogOptions, Parse) {
  TimePoint now = *ParseRFC3339("2026-11-27T18:00:00Z");
  auto o = ParseLogOptions({{"follow", "true"}, {"tailLines", "10"}, {"sinceSeconds", "60"}}, now);
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->follow);
  EXPECT_EQ(*o->tail_lines, 10);
  EXPECT_EQ(*o->since, now - 60s);
  EXPECT_FALSE(ParseLogOptions({{"tailLines", "-1"}}, now).ok());
  EXPECT_FALSE(ParseLogOptions({{"follow", "maybe"}}, now).ok());
  EXPECT_FALSE(
      ParseLogOptions({{"sinceSeconds", "1"}, {"sinceTime", "2026-11-27T18:00:00Z"}}, now).ok());
  EXPECT_FALSE(ParseLogOptions({{"limitBytes", "0"}}, now).ok());
}

}  // namespace
}  // namespace nanolet::server
