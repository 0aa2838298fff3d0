// CniNetwork against fake plugins (shell scripts): config loading, the CNI calling convention, the
// cache, error reporting and timeouts. No root or real plugins needed.
#include "runtime/network/cni_network.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "runtime/network/fake_pod_network.h"
#include "unit/runtime/network/net_test_util.h"
#include "util/fs.h"
#include "util/strings.h"

namespace nanolet::network {
namespace {

using nlohmann::json;
using testing::CountOccurrences;
using testing::TempDir;
using testing::WriteScript;

// A fake plugin: appends "<COMMAND> <name> <ifname> netns=<netns>" to calls.log, saves its stdin
// and env, and on ADD prints a 1.0.0 result with `ip` on eth0.
void FakePlugin(const TempDir& bin, const std::string& name, const std::string& ip = "10.1.2.3") {
  std::string dir = bin.path();
  WriteScript(bin / name,
              "in=$(cat)\n"
              "echo \"$CNI_COMMAND " +
                  name + " $CNI_IFNAME netns=$CNI_NETNS\" >> " + dir +
                  "/calls.log\n"
                  "printf '%s' \"$in\" > " +
                  dir + "/stdin." + name +
                  ".$CNI_COMMAND\n"
                  "env | grep ^CNI_ | sort > " +
                  dir + "/env." + name +
                  ".$CNI_COMMAND\n"
                  "[ \"$CNI_COMMAND\" = ADD ] || exit 0\n"
                  "echo "
                  "'{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"eth0\",\"mac\":\"aa:bb:"
                  "cc:dd:ee:ff\","
                  "\"sandbox\":\"'$CNI_NETNS'\"}],\"ips\":[{\"interface\":0,\"address\":\"" +
                  ip +
                  "/24\","
                  "\"gateway\":\"10.1.2.1\"}]}'\n");
}

std::string Read(const std::string& path) {
  auto r = ReadFile(path);
  return r.ok() ? *r : "";
}

json ReadJson(const std::string& path) { return json::parse(Read(path), nullptr, false); }

class CniFake : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(root_.path().empty());
    (void)MkdirAll(conf_.path());
    FakePlugin(bin_, "fakea");
    FakePlugin(bin_, "fakeb");
    WriteConf("10-test.conflist",
              R"({"cniVersion":"1.0.0","name":"testnet","plugins":[{"type":"fakea","x":1},
                  {"type":"fakeb","capabilities":{"portMappings":true}}]})");
  }
  void WriteConf(const std::string& name, const std::string& text) {
    (void)WriteFile(conf_ / name, text);
  }
  CniOptions Options() {
    CniOptions o;
    o.bin_dirs = {bin_.path()};
    o.conf_dir = conf_.path();
    o.root_dir = root_.path();
    o.plugin_timeout = std::chrono::seconds(10);
    return o;
  }
  std::unique_ptr<CniNetwork> Make() {
    auto n = CniNetwork::Create(Options());
    EXPECT_TRUE(n.ok()) << n.error().message();
    return n.ok() ? std::move(n).value() : nullptr;
  }
  PodNetworkRequest Req(const std::string& id = "sandbox1") {
    PodNetworkRequest r;
    r.container_id = id;
    r.pod_namespace = "default";
    r.pod_name = "web";
    r.pod_uid = "uid-1";
    r.netns_path = "/run/fake-netns";
    return r;
  }
  std::string Calls() { return Read(bin_ / "calls.log"); }

  TempDir bin_, conf_, root_;
};

TEST_F(CniFake, AddRunsPluginsInOrderWithTheCniConvention) {
  auto net = Make();
  ASSERT_TRUE(net);
  EXPECT_EQ(net->Name(), "testnet");
  EXPECT_EQ(net->config_source(), conf_ / "10-test.conflist");
  auto req = Req();
  req.ports.push_back({"TCP", 80, 8080, ""});
  req.ports.push_back({"UDP", 53, 0, ""});  // no hostPort: not mapped
  auto r = net->SetUp(req);
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_EQ(r->ips.size(), 1u);
  EXPECT_EQ(r->ips[0].address, "10.1.2.3");
  EXPECT_EQ(r->ips[0].prefix_length, 24);
  EXPECT_EQ(r->ips[0].gateway, "10.1.2.1");
  EXPECT_EQ(r->mac, "aa:bb:cc:dd:ee:ff");
  EXPECT_EQ(Calls(),
            "ADD fakea eth0 netns=/run/fake-netns\nADD fakeb eth0 netns=/run/fake-netns\n");

  std::string env = Read(bin_ / "env.fakea.ADD");
  EXPECT_NE(env.find("CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web;"
                     "K8S_POD_INFRA_CONTAINER_ID=sandbox1;K8S_POD_UID=uid-1\n"),
            std::string::npos)
      << env;
  EXPECT_NE(env.find("CNI_CONTAINERID=sandbox1\n"), std::string::npos);
  EXPECT_NE(env.find("CNI_PATH=" + bin_.path() + "\n"), std::string::npos);

  json a = ReadJson(bin_ / "stdin.fakea.ADD");
  EXPECT_EQ(a["name"], "testnet");
  EXPECT_EQ(a["cniVersion"], "1.0.0");
  EXPECT_EQ(a["x"], 1);
  EXPECT_FALSE(a.contains("prevResult"));
  EXPECT_FALSE(a.contains("runtimeConfig"));  // fakea has no portMappings capability
  json b = ReadJson(bin_ / "stdin.fakeb.ADD");
  EXPECT_EQ(b["prevResult"]["ips"][0]["address"], "10.1.2.3/24");
  ASSERT_EQ(b["runtimeConfig"]["portMappings"].size(), 1u);
  EXPECT_EQ(b["runtimeConfig"]["portMappings"][0],
            json::parse(R"({"hostPort":8080,"containerPort":80,"protocol":"tcp"})"));

  auto st = net->Status("sandbox1");
  ASSERT_TRUE(st.ok()) << st.error().message();
  EXPECT_EQ(st->ips[0].address, "10.1.2.3");
}

TEST_F(CniFake, DelRunsInReverseWithCachedStateAfterRestartAndConfigChange) {
  {
    auto net = Make();
    auto req = Req();
    req.ports.push_back({"TCP", 80, 8080, "127.0.0.1"});
    ASSERT_TRUE(net->SetUp(req).ok());
  }
  // "Restart" with a different config in the directory: DEL must still use the config the ADD used.
  (void)::unlink((conf_ / "10-test.conflist").c_str());
  FakePlugin(bin_, "fakec");
  WriteConf("20-other.conf", R"({"cniVersion":"1.0.0","name":"othernet","type":"fakec"})");
  auto net = Make();
  EXPECT_EQ(net->Name(), "othernet");
  PodNetworkRequest bare;
  bare.container_id = "sandbox1";  // all a restarted nanolet may know
  ASSERT_TRUE(net->TearDown(bare).ok());
  EXPECT_EQ(Calls(),
            "ADD fakea eth0 netns=/run/fake-netns\nADD fakeb eth0 netns=/run/fake-netns\n"
            "DEL fakeb eth0 netns=\nDEL fakea eth0 netns=\n");  // the netns is not mounted: empty
  json b = ReadJson(bin_ / "stdin.fakeb.DEL");
  EXPECT_EQ(b["name"], "testnet");
  EXPECT_EQ(b["prevResult"]["ips"][0]["address"], "10.1.2.3/24");
  EXPECT_EQ(b["runtimeConfig"]["portMappings"][0]["hostIP"], "127.0.0.1");
  EXPECT_NE(Read(bin_ / "env.fakeb.DEL").find("K8S_POD_NAME=web"), std::string::npos);
  EXPECT_TRUE(ListDir(root_ / "cni/cache/results")->empty());
  EXPECT_FALSE(net->Status("sandbox1").ok());

  // Idempotent: a second DEL (no cache) runs the current config and succeeds.
  ASSERT_TRUE(net->TearDown(bare).ok());
  EXPECT_NE(Calls().find("DEL fakec eth0 netns=\n"), std::string::npos);
}

TEST_F(CniFake, SingleConfIsWrappedAndFirstFileWins) {
  WriteConf("05-single.conf", R"({"cniVersion":"0.4.0","name":"single","type":"fakea"})");
  WriteConf("99-last.conflist",
            R"({"cniVersion":"1.0.0","name":"last","plugins":[{"type":"fakeb"}]})");
  WriteConf("00-ignored.txt", "not a config");
  auto net = Make();
  EXPECT_EQ(net->Name(), "single");
  ASSERT_TRUE(net->SetUp(Req()).ok());
  EXPECT_EQ(Calls(), "ADD fakea eth0 netns=/run/fake-netns\n");
  EXPECT_EQ(ReadJson(bin_ / "stdin.fakea.ADD")["cniVersion"], "0.4.0");
}

TEST_F(CniFake, InvalidFilesAreSkippedButAllInvalidIsAnError) {
  WriteConf("01-broken.conflist", "{not json");
  auto net = Make();
  EXPECT_EQ(net->Name(), "testnet");

  (void)::unlink((conf_ / "10-test.conflist").c_str());
  auto bad = CniNetwork::Create(Options());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("01-broken.conflist"), std::string::npos)
      << bad.error().message();
}

TEST_F(CniFake, EmptyConfDirUsesBuiltinConfig) {
  (void)::unlink((conf_ / "10-test.conflist").c_str());
  auto o = Options();
  o.default_bridge = "nltestbr";
  o.default_subnet = "10.234.5.0/24";
  auto net = CniNetwork::Create(o);
  ASSERT_TRUE(net.ok());
  EXPECT_EQ((*net)->config_source(), "built-in");
  json c = json::parse((*net)->config_json());
  EXPECT_EQ(c["name"], "nanolet");
  EXPECT_EQ(c["cniVersion"], "1.0.0");
  EXPECT_EQ(c["plugins"][0]["type"], "bridge");
  EXPECT_EQ(c["plugins"][0]["bridge"], "nltestbr");
  EXPECT_EQ(c["plugins"][0]["ipam"]["ranges"][0][0]["subnet"], "10.234.5.0/24");
  EXPECT_EQ(c["plugins"][0]["ipam"]["dataDir"], root_ / "cni/networks");
  EXPECT_EQ(c["plugins"][1]["type"], "portmap");
  EXPECT_EQ(c["plugins"][1]["capabilities"]["portMappings"], true);
}

TEST_F(CniFake, MissingPluginNamesBinaryAndDirsAndRunsNothing) {
  WriteConf(
      "00-first.conflist",
      R"({"cniVersion":"1.0.0","name":"n","plugins":[{"type":"fakea"},{"type":"nosuchplugin"}]})");
  auto o = Options();
  o.bin_dirs = {bin_.path(), "/nonexistent/cni"};
  auto net = CniNetwork::Create(o);
  ASSERT_TRUE(net.ok());
  auto r = (*net)->SetUp(Req());
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().is(ErrorCode::kNotFound));
  EXPECT_EQ(r.error().message(),
            "cni ADD: plugin \"nosuchplugin\" not found in " + bin_.path() + ", /nonexistent/cni");
  EXPECT_EQ(Calls(), "");  // fakea never ran
  EXPECT_TRUE(ListDir(root_ / "cni/cache/results")->empty());
}

TEST_F(CniFake, PluginErrorIsReportedAndAddRolledBack) {
  WriteScript(
      bin_ / "failing",
      "cat >/dev/null\necho \"$CNI_COMMAND failing\" >> " + bin_.path() +
          "/calls.log\n"
          "[ \"$CNI_COMMAND\" = ADD ] || exit 0\n"
          "echo '{\"cniVersion\":\"1.0.0\",\"code\":11,\"msg\":\"failed to allocate for range 0\","
          "\"details\":\"no IP addresses available\"}'\nexit 1\n");
  WriteConf("00-first.conflist",
            R"({"cniVersion":"1.0.0","name":"n","plugins":[{"type":"fakea"},{"type":"failing"}]})");
  auto net = Make();
  auto r = net->SetUp(Req());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(
      r.error().message(),
      "cni ADD failing: exit status 1: failed to allocate for range 0: no IP addresses available "
      "(CNI error 11)");
  // Rolled back: DEL of both, in reverse, with what ADD did so far as prevResult.
  EXPECT_EQ(
      Calls(),
      "ADD fakea eth0 netns=/run/fake-netns\nADD failing\nDEL failing\nDEL fakea eth0 netns=\n");
  EXPECT_EQ(ReadJson(bin_ / "stdin.fakea.DEL")["prevResult"]["ips"][0]["address"], "10.1.2.3/24");
  EXPECT_TRUE(ListDir(root_ / "cni/cache/results")->empty());
}

TEST_F(CniFake, PluginWithoutErrorJsonReportsStderr) {
  WriteScript(
      bin_ / "crashing",
      "cat >/dev/null\n[ \"$CNI_COMMAND\" = ADD ] || exit 0\necho 'panic: boom' >&2\nexit 2\n");
  WriteConf("00-first.conflist",
            R"({"cniVersion":"1.0.0","name":"n","plugins":[{"type":"crashing"}]})");
  auto r = Make()->SetUp(Req());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "cni ADD crashing: exit status 2: panic: boom");
}

TEST_F(CniFake, HungPluginTimesOut) {
  WriteScript(bin_ / "hung", "cat >/dev/null\n[ \"$CNI_COMMAND\" = ADD ] || exit 0\nsleep 30\n");
  WriteConf("00-first.conflist",
            R"({"cniVersion":"1.0.0","name":"n","plugins":[{"type":"hung"}]})");
  auto o = Options();
  o.plugin_timeout = std::chrono::milliseconds(300);
  auto net = CniNetwork::Create(o);
  ASSERT_TRUE(net.ok());
  auto start = std::chrono::steady_clock::now();
  auto r = (*net)->SetUp(Req());
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().is(ErrorCode::kTimeout));
  EXPECT_EQ(r.error().message(), "cni ADD hung: timed out after 300ms");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST_F(CniFake, ResultWithoutAddressIsAnError) {
  WriteScript(bin_ / "noip",
              "cat >/dev/null\n[ \"$CNI_COMMAND\" = ADD ] || exit 0\n"
              "echo '{\"cniVersion\":\"1.0.0\",\"interfaces\":[],\"ips\":[]}'\n");
  WriteConf("00-first.conflist",
            R"({"cniVersion":"1.0.0","name":"n","plugins":[{"type":"noip"}]})");
  auto r = Make()->SetUp(Req());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "cni ADD: the result has no IP address for eth0");
  EXPECT_TRUE(ListDir(root_ / "cni/cache/results")->empty());
}

TEST_F(CniFake, InvalidRequestsAreRejected) {
  auto net = Make();
  auto req = Req("../evil");
  EXPECT_TRUE(net->SetUp(req).error().is(ErrorCode::kInvalid));
  EXPECT_TRUE(net->TearDown(req).error().is(ErrorCode::kInvalid));
  req = Req();
  req.netns_path.clear();
  EXPECT_TRUE(net->SetUp(req).error().is(ErrorCode::kInvalid));
  EXPECT_EQ(Calls(), "");
}

TEST_F(CniFake, LoopbackPluginRunsOnLoWhenEnabled) {
  FakePlugin(bin_, "loopback");
  auto o = Options();
  o.run_loopback_plugin = true;
  auto net = CniNetwork::Create(o);
  ASSERT_TRUE(net.ok());
  ASSERT_TRUE((*net)->SetUp(Req()).ok());
  ASSERT_TRUE((*net)->TearDown(Req()).ok());
  EXPECT_EQ(Calls(),
            "ADD loopback lo netns=/run/fake-netns\nADD fakea eth0 netns=/run/fake-netns\n"
            "ADD fakeb eth0 netns=/run/fake-netns\nDEL fakeb eth0 netns=\nDEL fakea eth0 netns=\n"
            "DEL loopback lo netns=\n");
}

TEST_F(CniFake, PortmapRunsOnlyWithHostPorts) {
  FakePlugin(bin_, "portmap");
  WriteConf("00-first.conflist", R"({"cniVersion":"1.0.0","name":"n","plugins":[{"type":"fakea"},
      {"type":"portmap","capabilities":{"portMappings":true}}]})");
  auto net = Make();
  ASSERT_TRUE(net->SetUp(Req("nohp")).ok());
  ASSERT_TRUE(net->TearDown(Req("nohp")).ok());
  EXPECT_EQ(Calls(), "ADD fakea eth0 netns=/run/fake-netns\nDEL fakea eth0 netns=\n");
  auto req = Req("hp");
  req.ports.push_back({"TCP", 80, 8080, ""});
  ASSERT_TRUE(net->SetUp(req).ok());
  ASSERT_TRUE(net->TearDown(Req("hp")).ok());  // the mappings come from the cache
  EXPECT_NE(Calls().find("ADD portmap eth0"), std::string::npos);
  EXPECT_NE(Calls().find("DEL portmap eth0"), std::string::npos);
}

TEST(CniResult, ParsesSpec100PickingThePodInterface) {
  auto r = ParseCniResult(R"({"cniVersion":"1.0.0",
      "interfaces":[{"name":"br0","mac":"11:11:11:11:11:11"},{"name":"veth1"},
                    {"name":"eth0","mac":"22:22:22:22:22:22","sandbox":"/run/netns/x"}],
      "ips":[{"interface":0,"address":"10.0.0.1/16"},
             {"interface":2,"address":"10.88.0.7/16","gateway":"10.88.0.1"},
             {"interface":2,"address":"fd00::7/64","gateway":"fd00::1"}]})",
                          "eth0");
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_EQ(r->ips.size(), 2u);
  EXPECT_EQ(r->ips[0].address, "10.88.0.7");
  EXPECT_EQ(r->ips[0].prefix_length, 16);
  EXPECT_FALSE(r->ips[0].ipv6);
  EXPECT_EQ(r->ips[1].address, "fd00::7");
  EXPECT_TRUE(r->ips[1].ipv6);
  EXPECT_EQ(r->mac, "22:22:22:22:22:22");
}

TEST(CniResult, ParsesSpec020AndResultsWithoutInterfaces) {
  auto r = ParseCniResult(
      R"({"cniVersion":"0.2.0","ip4":{"ip":"10.1.0.5/24","gateway":"10.1.0.1"}})", "eth0");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->ips.size(), 1u);
  EXPECT_EQ(r->ips[0].address, "10.1.0.5");
  auto r2 = ParseCniResult(R"({"cniVersion":"0.3.1","ips":[{"address":"10.2.0.5/24"}]})", "eth0");
  ASSERT_TRUE(r2.ok());
  ASSERT_EQ(r2->ips.size(), 1u);
  EXPECT_EQ(r2->ips[0].address, "10.2.0.5");
  EXPECT_FALSE(ParseCniResult("[1,2]", "eth0").ok());
  EXPECT_FALSE(ParseCniResult("garbage", "eth0").ok());
  EXPECT_TRUE(ParseCniResult(R"({"ips":"wrong type"})", "eth0").ok());  // no IPs, no crash
}

TEST(FakePodNetwork, HandsOutAddressesAndFailsOnRequest) {
  FakePodNetwork net;
  PodNetworkRequest req;
  req.container_id = "a";
  auto r = net.SetUp(req);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->ips[0].address, "10.88.0.2");
  EXPECT_EQ(net.attached(), 1u);
  net.FailNextSetUp(Error("boom"));
  req.container_id = "b";
  EXPECT_FALSE(net.SetUp(req).ok());
  EXPECT_TRUE(net.TearDown(PodNetworkRequest{.container_id = "a"}).ok());
  EXPECT_EQ(net.attached(), 0u);
  EXPECT_EQ(CountOccurrences(Join(net.calls(), ","), "SetUp"), 2);
}

}  // namespace
}  // namespace nanolet::network
