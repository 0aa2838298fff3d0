// Pod namespaces and the CNI network with the real plugins (/usr/lib/cni) as root. Every test uses
// its own bridge (nlt<pid>), subnet (10.234.<pid%250>.0/24), network name and root directory, and
// never touches interfaces, bridges or namespaces it did not create. Skipped when not root or
// without the plugins.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "runtime/network/cni_network.h"
#include "runtime/network/masquerade.h"
#include "runtime/network/namespaces.h"
#include "unit/runtime/network/net_test_util.h"
#include "util/fs.h"
#include "util/strings.h"

namespace nanolet::network {
namespace {

using Clock = std::chrono::steady_clock;
using testing::CountOccurrences;
using testing::Sh;
using testing::TempDir;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// Polls `cond` until it holds or `timeout` passes (kernel work that completes asynchronously, such
// as the teardown of a network namespace's devices after its last reference is gone).
bool WaitFor(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (!cond()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// A socket created inside the network namespace at `netns` (sockets stay in the namespace they were
// made in).
UniqueFd SocketIn(const std::string& netns) {
  int fd = -1;
  std::thread t([&] {
    UniqueFd ns(::open(netns.c_str(), O_RDONLY | O_CLOEXEC));
    if (ns.valid() && ::setns(ns.get(), CLONE_NEWNET) == 0) {
      fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    }
  });
  t.join();
  return UniqueFd(fd);
}

sockaddr_in Addr(const std::string& ip, int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  ::inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  return a;
}

// Connects from the namespace `from` to ip:port in the namespace `to`; returns the peer address the
// server saw, or "" on failure.
std::string TcpConnect(const std::string& from, const std::string& to, const std::string& ip,
                       int port) {
  UniqueFd srv = SocketIn(to), cli = SocketIn(from);
  if (!srv.valid() || !cli.valid()) return "";
  int one = 1;
  ::setsockopt(srv.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in sa = Addr(ip, port);
  if (::bind(srv.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
      ::listen(srv.get(), 1) != 0) {
    return "";
  }
  ::connect(cli.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  pollfd p{srv.get(), POLLIN, 0};
  if (::poll(&p, 1, 5000) != 1) return "";
  sockaddr_in peer{};
  socklen_t len = sizeof peer;
  UniqueFd conn(::accept4(srv.get(), reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC));
  if (!conn.valid()) return "";
  char buf[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &peer.sin_addr, buf, sizeof buf);
  return buf;
}

ino_t Inode(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

class PodNetworkLive : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::geteuid() != 0 || ::access("/usr/lib/cni/bridge", X_OK) != 0) return;
    int pid = static_cast<int>(::getpid());
    bridge_ = "nlt" + std::to_string(pid);
    netname_ = "nltest-" + std::to_string(pid);
    subnet_prefix_ = "10.234." + std::to_string(pid % 250) + ".";
    root_ = new TempDir();
    HoldForwardingState();
  }
  static void TearDownTestSuite() {
    if (!root_) return;
    if (Sh("ip -o link show " + bridge_ + " 2>/dev/null").find(bridge_) != std::string::npos) {
      (void)Sh("ip link del " + bridge_);
    }
    (void)Sh("python3 " + std::string(NANOLET_SOURCE_DIR) + "/scripts/nat-cleanup.py " + bridge_ + " " +
             subnet_prefix_);
    ::umount2(NsDir().c_str(), MNT_DETACH);  // the self bind mount CreatePodNamespaces made
    ReleaseForwardingState();
    delete root_;
    root_ = nullptr;
  }
  void SetUp() override {
    if (!root_) GTEST_SKIP() << "needs root and the CNI plugins in /usr/lib/cni";
  }
  void TearDown() override {
    if (root_) ExpectNoLeaks();
  }

  static std::string NsDir() { return *root_ / "ns"; }
  static std::string Subnet() { return subnet_prefix_ + "0/24"; }

  CniOptions Options() {
    CniOptions o;
    o.conf_dir = "";  // built-in config
    o.root_dir = root_->path();
    o.default_network_name = netname_;
    o.default_bridge = bridge_;
    o.default_subnet = Subnet();
    return o;
  }
  std::unique_ptr<CniNetwork> Make(const CniOptions& o) {
    auto n = CniNetwork::Create(o);
    EXPECT_TRUE(n.ok()) << n.error().message();
    return n.ok() ? std::move(n).value() : nullptr;
  }
  PodNetworkRequest Req(const std::string& id, const PodNamespaces& ns) {
    return {.container_id = id,
            .pod_namespace = "default",
            .pod_name = "pod-" + id,
            .pod_uid = "uid-" + id,
            .netns_path = ns.net_path(),
            .ports = {}};
  }

  // What the tests may leave behind, each of which must be zero between tests.
  struct Leaks {
    int ns_mounts = 0, ns_files = 0, bridge_ports = 0, ipam_ips = 0, nat_rules = 0, cache_files = 0;
    std::string Describe() const {
      return "ns_mounts=" + std::to_string(ns_mounts) + " ns_files=" + std::to_string(ns_files) +
             " bridge_ports=" + std::to_string(bridge_ports) +
             " ipam_ips=" + std::to_string(ipam_ips) + " nat_rules=" + std::to_string(nat_rules) +
             " cache_files=" + std::to_string(cache_files);
    }
    bool None() const {
      return !ns_mounts && !ns_files && !bridge_ports && !ipam_ips && !nat_rules && !cache_files;
    }
  };
  static int BridgePorts() {
    std::string out = Sh("ip -o link show master " + bridge_ + " 2>/dev/null || true");
    return CountOccurrences(out, "master " + bridge_);
  }
  static std::vector<std::string> IpamIps() {
    std::vector<std::string> ips;
    auto names = ListDir(*root_ / ("cni/networks/" + netname_));
    if (!names.ok()) return ips;
    for (const auto& n : *names) {
      if (n != "lock" && !StartsWith(n, "last_reserved_ip")) ips.push_back(n);
    }
    return ips;
  }
  static Leaks Snapshot() {
    Leaks l;
    auto mi = ReadFile("/proc/self/mountinfo");
    for (const auto& line : Split(mi.ok() ? *mi : "", '\n')) {
      auto f = Split(line, ' ');
      if (f.size() > 4 && StartsWith(f[4], NsDir() + "/")) ++l.ns_mounts;
    }
    auto files = ListDir(NsDir());
    l.ns_files = files.ok() ? static_cast<int>(files->size()) : 0;
    l.bridge_ports = BridgePorts();
    l.ipam_ips = static_cast<int>(IpamIps().size());
    l.nat_rules = CountOccurrences(Sh("iptables -w -t nat -S"), netname_);
    auto cache = ListDir(*root_ / "cni/cache/results");
    l.cache_files = cache.ok() ? static_cast<int>(cache->size()) : 0;
    return l;
  }
  static void ExpectNoLeaks() {
    Leaks l;
    // Devices of a destroyed namespace go away asynchronously (the kernel's netns cleanup work).
    bool clean = WaitFor([&] { return (l = Snapshot()).None(); }, std::chrono::seconds(5));
    EXPECT_TRUE(clean) << "leaked: " << l.Describe();
  }
  // "inet 10.234.x.y/24" of eth0 in the namespace, via nsenter (our files are not under
  // /run/netns).
  static std::string Eth0Addr(const std::string& netns) {
    return Sh("nsenter --net=" + netns + " ip -4 -o addr show dev eth0");
  }

  // n cycles of create namespaces, ADD, DEL, remove namespaces; prints the average time of each
  // step. n cycles of create namespaces, ADD, DEL, remove namespaces; prints the mean and median of
  // each step.
  void Cycles(CniNetwork& net, int n, const std::string& label) {
    std::vector<double> create, add, del, remove;
    for (int i = 0; i < n; ++i) {
      std::string id = label + std::to_string(i);
      auto t0 = Clock::now();
      auto ns = CreatePodNamespaces(NsDir(), id, {.hostname = id});
      auto t1 = Clock::now();
      ASSERT_TRUE(ns.ok()) << ns.error().message();
      auto r = net.SetUp(Req(id, *ns));
      auto t2 = Clock::now();
      ASSERT_TRUE(r.ok()) << r.error().message();
      auto d = net.TearDown(Req(id, *ns));
      auto t3 = Clock::now();
      ASSERT_TRUE(d.ok()) << d.error().message();
      ASSERT_TRUE(ns->Remove().ok());
      auto t4 = Clock::now();
      ASSERT_FALSE(PathExists(ns->net_path()));
      create.push_back(Ms(t1 - t0));
      add.push_back(Ms(t2 - t1));
      del.push_back(Ms(t3 - t2));
      remove.push_back(Ms(t4 - t3));
    }
    auto stat = [](std::vector<double> v) {
      double sum = 0;
      for (double x : v) sum += x;
      std::sort(v.begin(), v.end());
      char buf[64];
      std::snprintf(buf, sizeof buf, "mean %.2f median %.2f ms", sum / v.size(), v[v.size() / 2]);
      return std::string(buf);
    };
    std::printf(
        "[ FIGURES  ] %s, %d cycles (loadavg %s): namespaces create %s; CNI ADD %s; CNI DEL %s; "
        "namespaces remove %s\n",
        label.c_str(), n, std::string(Trim(Sh("cut -d' ' -f1-3 /proc/loadavg"))).c_str(),
        stat(create).c_str(), stat(add).c_str(), stat(del).c_str(), stat(remove).c_str());
  }

  // A config list on the test bridge and subnet, optionally with ipMasq and a second plugin.
  static std::string ConfList(bool ip_masq, const std::string& second_plugin) {
    nlohmann::json ipam = {{"type", "host-local"},
                           {"ranges", {{{{"subnet", Subnet()}}}}},
                           {"dataDir", *root_ / "cni/networks"}};
    nlohmann::json plugins = {{{"type", "bridge"},
                               {"bridge", bridge_},
                               {"isGateway", true},
                               {"ipMasq", ip_masq},
                               {"ipam", ipam}}};
    if (!second_plugin.empty()) plugins.push_back({{"type", second_plugin}});
    return nlohmann::json{{"cniVersion", "1.0.0"}, {"name", netname_}, {"plugins", plugins}}.dump();
  }

  static inline TempDir* root_ = nullptr;
  // The bridge plugin (isGateway) turns on net.ipv4.ip_forward, a host-wide setting. The first of
  // the test processes that may run at once (ctest -j) records the original value; the last one
  // restores it. Each holds a shared lock on kFwdLock while it runs; whoever then gets it
  // exclusively is the last.
  static constexpr const char* kFwdLock = "/tmp/nanolet-net-test.lock";
  static constexpr const char* kFwdOrig = "/tmp/nanolet-net-test.ip_forward";
  static void HoldForwardingState() {
    fwd_lock_ = ::open(kFwdLock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fwd_lock_ < 0) return;
    ::flock(fwd_lock_, LOCK_EX);
    if (!PathExists(kFwdOrig)) (void)WriteFile(kFwdOrig, Sh("cat /proc/sys/net/ipv4/ip_forward"));
    ::flock(fwd_lock_, LOCK_SH);  // downgrade
  }
  static void ReleaseForwardingState() {
    if (fwd_lock_ < 0) return;
    if (::flock(fwd_lock_, LOCK_EX | LOCK_NB) == 0) {
      auto orig = ReadFile(kFwdOrig);
      if (orig.ok() && *orig == "0\n") (void)WriteFile("/proc/sys/net/ipv4/ip_forward", "0\n");
      ::unlink(kFwdOrig);
    }
    ::close(fwd_lock_);
    fwd_lock_ = -1;
  }

  static inline int fwd_lock_ = -1;
  static inline std::string bridge_, netname_, subnet_prefix_;
};

TEST_F(PodNetworkLive, NamespacesAreMountedWithHostnameAndLoopbackUp) {
  ino_t own_net = Inode("/proc/self/ns/net"), own_uts = Inode("/proc/self/ns/uts");
  auto ns = CreatePodNamespaces(NsDir(), "sb1", {.hostname = "web-0"});
  ASSERT_TRUE(ns.ok()) << ns.error().message();
  EXPECT_EQ(ns->net_path(), NsDir() + "/sb1-net");
  EXPECT_EQ(ns->ipc_path(), NsDir() + "/sb1-ipc");
  EXPECT_EQ(ns->uts_path(), NsDir() + "/sb1-uts");
  for (const auto* p : {&ns->net_path(), &ns->ipc_path(), &ns->uts_path()})
    EXPECT_TRUE(IsNamespaceMount(*p)) << *p;
  EXPECT_NE(Inode(ns->net_path()), Inode("/proc/self/ns/net"));
  EXPECT_NE(Inode(ns->ipc_path()), Inode("/proc/self/ns/ipc"));
  EXPECT_NE(Inode(ns->uts_path()), Inode("/proc/self/ns/uts"));
  // Only the new thread moved: this process's own namespaces are untouched.
  EXPECT_EQ(Inode("/proc/self/ns/net"), own_net);
  EXPECT_EQ(Inode("/proc/self/ns/uts"), own_uts);
  EXPECT_EQ(Sh("nsenter --uts=" + ns->uts_path() + " hostname"), "web-0\n");
  EXPECT_NE(Sh("hostname"), "web-0\n");
  std::string lo = Sh("nsenter --net=" + ns->net_path() + " ip -o link show lo");
  EXPECT_NE(lo.find("<LOOPBACK,UP,LOWER_UP>"), std::string::npos) << lo;
  EXPECT_EQ(Sh("nsenter --net=" + ns->net_path() + " ip -o link show | wc -l"), "1\n");  // just lo

  auto again = CreatePodNamespaces(NsDir(), "sb1");
  ASSERT_FALSE(again.ok());
  EXPECT_TRUE(again.error().is(ErrorCode::kAlreadyExists)) << again.error().message();
  EXPECT_TRUE(IsNamespaceMount(ns->net_path()));  // the failed attempt removed nothing of sb1

  ASSERT_TRUE(ns->Remove().ok());
  EXPECT_FALSE(PathExists(NsDir() + "/sb1-net"));
  EXPECT_TRUE(ns->Remove().ok());
  EXPECT_TRUE(RemovePodNamespaces(NsDir(), "sb1").ok());
  EXPECT_TRUE(RemovePodNamespaces(NsDir(), "never-created").ok());
}

TEST_F(PodNetworkLive, NamespacesAreRemovedByRaiiUnlessReleased) {
  { ASSERT_TRUE(CreatePodNamespaces(NsDir(), "raii").ok()); }
  EXPECT_FALSE(PathExists(NsDir() + "/raii-net"));
  {
    auto ns = CreatePodNamespaces(NsDir(), "kept", {.ipc = false, .uts = false});
    ASSERT_TRUE(ns.ok());
    EXPECT_TRUE(ns->ipc_path().empty());
    ns->Release();
  }
  EXPECT_TRUE(IsNamespaceMount(NsDir() + "/kept-net"));
  EXPECT_FALSE(PathExists(NsDir() + "/kept-ipc"));
  EXPECT_TRUE(RemovePodNamespaces(NsDir(), "kept").ok());
  EXPECT_FALSE(CreatePodNamespaces(NsDir(), "../x").ok());
}

TEST_F(PodNetworkLive, AddGivesEth0AnAddressAndPodsReachEachOther) {
  auto net = Make(Options());
  ASSERT_TRUE(net);
  auto a = CreatePodNamespaces(NsDir(), "pod-a");
  auto b = CreatePodNamespaces(NsDir(), "pod-b");
  ASSERT_TRUE(a.ok() && b.ok());
  auto ra = net->SetUp(Req("pod-a", *a));
  ASSERT_TRUE(ra.ok()) << ra.error().message();
  auto rb = net->SetUp(Req("pod-b", *b));
  ASSERT_TRUE(rb.ok()) << rb.error().message();
  ASSERT_EQ(ra->ips.size(), 1u);
  std::string ipa = ra->ips[0].address, ipb = rb->ips[0].address;
  EXPECT_TRUE(StartsWith(ipa, subnet_prefix_)) << ipa;
  EXPECT_TRUE(StartsWith(ipb, subnet_prefix_)) << ipb;
  EXPECT_NE(ipa, ipb);
  EXPECT_EQ(ra->ips[0].prefix_length, 24);
  EXPECT_EQ(ra->ips[0].gateway, subnet_prefix_ + "1");
  EXPECT_EQ(ra->interface, "eth0");
  EXPECT_FALSE(ra->mac.empty());
  EXPECT_NE(Eth0Addr(a->net_path()).find("inet " + ipa + "/24"), std::string::npos)
      << Eth0Addr(a->net_path());
  EXPECT_EQ(BridgePorts(), 2);
  auto ips = IpamIps();
  EXPECT_EQ(std::set<std::string>(ips.begin(), ips.end()), (std::set<std::string>{ipa, ipb}));
  // No iptables rule per pod: the network's one masquerade chain covers both.
  EXPECT_EQ(CountOccurrences(Sh("iptables -w -t nat -S POSTROUTING"), netname_), 0);
  EXPECT_EQ(CountOccurrences(Sh("iptables -w -t nat -S POSTROUTING"), "-j " + MasqueradeChain(bridge_)), 1);

  // a -> b and b -> a over the bridge; lo works inside.
  EXPECT_EQ(TcpConnect(a->net_path(), b->net_path(), ipb, 7777), ipa);
  EXPECT_EQ(TcpConnect(b->net_path(), a->net_path(), ipa, 7778), ipb);
  EXPECT_EQ(TcpConnect(a->net_path(), a->net_path(), "127.0.0.1", 7779), "127.0.0.1");

  auto st = net->Status("pod-a");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->ips[0].address, ipa);
  EXPECT_TRUE(net->Check(Req("pod-a", *a)).ok());

  ASSERT_TRUE(net->TearDown(Req("pod-a", *a)).ok());
  EXPECT_EQ(IpamIps(), std::vector<std::string>{ipb});
  EXPECT_EQ(Sh("nsenter --net=" + a->net_path() + " ip -o link show | wc -l"), "1\n");  // eth0 gone
  EXPECT_TRUE(net->TearDown(Req("pod-a", *a)).ok());  // idempotent
  ASSERT_TRUE(net->TearDown(Req("pod-b", *b)).ok());
  ASSERT_TRUE(a->Remove().ok());
  ASSERT_TRUE(b->Remove().ok());
}

TEST_F(PodNetworkLive, HostPortIsMappedAndUnmapped) {
  auto net = Make(Options());
  auto ns = CreatePodNamespaces(NsDir(), "hp");
  ASSERT_TRUE(ns.ok());
  auto req = Req("hp", *ns);
  req.ports.push_back({"TCP", 80, 31080 + static_cast<int>(::getpid() % 1000), ""});
  ASSERT_TRUE(net->SetUp(req).ok());
  std::string nat = Sh("iptables -w -t nat -S");
  EXPECT_NE(nat.find("--dport " + std::to_string(req.ports[0].host_port)), std::string::npos);
  PodNetworkRequest bare{.container_id = "hp"};  // after a restart: only the id is known
  ASSERT_TRUE(net->TearDown(bare).ok());
  EXPECT_EQ(Sh("iptables -w -t nat -S").find("--dport " + std::to_string(req.ports[0].host_port)),
            std::string::npos);
}

TEST_F(PodNetworkLive, RestartedInstanceTearsDownFromCache) {
  auto ns = CreatePodNamespaces(NsDir(), "restart");
  ASSERT_TRUE(ns.ok());
  {
    auto net = Make(Options());
    ASSERT_TRUE(net->SetUp(Req("restart", *ns)).ok());
  }
  auto net = Make(Options());
  auto st = net->Status("restart");
  ASSERT_TRUE(st.ok());
  EXPECT_TRUE(StartsWith(st->ips[0].address, subnet_prefix_));
  // The cached netns path is still mounted, so the bridge plugin can remove its masquerade rules
  // too.
  ASSERT_TRUE(net->TearDown(PodNetworkRequest{.container_id = "restart"}).ok());
  ASSERT_TRUE(ns->Remove().ok());
}

TEST_F(PodNetworkLive, DelAfterTheNamespaceIsGoneStillReleasesIpam) {
  // Without ipMasq: the bridge plugin can only remove masquerade rules while the namespace exists
  // (see namespaces.h on teardown order), and this test removes the namespace first on purpose.
  TempDir conf;
  (void)WriteFile(conf / "10.conflist", ConfList(false, ""));
  auto o = Options();
  o.conf_dir = conf.path();
  auto net = Make(o);
  ASSERT_EQ(net->config_source(), conf / "10.conflist");
  auto ns = CreatePodNamespaces(NsDir(), "gone");
  ASSERT_TRUE(ns.ok());
  ASSERT_TRUE(net->SetUp(Req("gone", *ns)).ok());
  EXPECT_EQ(IpamIps().size(), 1u);
  std::string path = ns->net_path();
  ASSERT_TRUE(ns->Remove().ok());
  ASSERT_TRUE(net->TearDown({.container_id = "gone", .netns_path = path}).ok());
  EXPECT_TRUE(IpamIps().empty());
}

TEST_F(PodNetworkLive, FailingPluginLeavesNothingBehind) {
  TempDir bin, conf;
  testing::WriteScript(bin / "nlfail",
                       "cat >/dev/null\n[ \"$CNI_COMMAND\" = ADD ] || exit 0\n"
                       "echo '{\"cniVersion\":\"1.0.0\",\"code\":999,\"msg\":\"nlfail refused\","
                       "\"details\":\"on purpose\"}'\nexit 1\n");
  (void)WriteFile(conf / "10.conflist", ConfList(true, "nlfail"));
  auto o = Options();
  o.conf_dir = conf.path();
  o.bin_dirs = {bin.path(), "/usr/lib/cni"};
  auto net = Make(o);
  auto ns = CreatePodNamespaces(NsDir(), "fail");
  ASSERT_TRUE(ns.ok());
  auto r = net->SetUp(Req("fail", *ns));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(),
            "cni ADD nlfail: exit status 1: nlfail refused: on purpose (CNI error 999)");
  // The caller drops the namespaces (RAII) and ExpectNoLeaks checks IPAM, veths, iptables and the
  // cache.
}

TEST_F(PodNetworkLive, ConcurrentPods) {
  auto net = Make(Options());
  constexpr int kPods = 4;
  std::vector<PodNamespaces> ns(kPods);
  std::vector<std::string> ips(kPods);
  std::vector<std::string> errors(kPods);
  for (int i = 0; i < kPods; ++i) {
    auto n = CreatePodNamespaces(NsDir(), "conc" + std::to_string(i));
    ASSERT_TRUE(n.ok());
    ns[i] = std::move(n).value();
  }
  std::vector<std::thread> threads;
  for (int i = 0; i < kPods; ++i) {
    threads.emplace_back([&, i] {
      auto r = net->SetUp(Req("conc" + std::to_string(i), ns[i]));
      if (r.ok())
        ips[i] = r->ips[0].address;
      else
        errors[i] = r.error().message();
    });
  }
  for (auto& t : threads) t.join();
  threads.clear();
  for (int i = 0; i < kPods; ++i) EXPECT_EQ(errors[i], "") << i;
  EXPECT_EQ(std::set<std::string>(ips.begin(), ips.end()).size(), static_cast<size_t>(kPods));
  for (int i = 0; i < kPods; ++i) {
    threads.emplace_back([&, i] {
      auto r = net->TearDown(Req("conc" + std::to_string(i), ns[i]));
      if (!r.ok()) errors[i] = r.error().message();
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kPods; ++i) EXPECT_EQ(errors[i], "") << i;
  for (auto& n : ns) EXPECT_TRUE(n.Remove().ok());
}

TEST_F(PodNetworkLive, FiftyCyclesLeaveNothingAndReportTimes) {
  auto net = Make(Options());
  // Warm-up: the first ADD creates the bridge.
  auto warm = CreatePodNamespaces(NsDir(), "warm");
  ASSERT_TRUE(warm.ok());
  ASSERT_TRUE(net->SetUp(Req("warm", *warm)).ok());
  ASSERT_TRUE(net->TearDown(Req("warm", *warm)).ok());
  ASSERT_TRUE(warm->Remove().ok());
  Cycles(*net, 50, "cycle");
  ExpectNoLeaks();
}

TEST_F(PodNetworkLive, LoopbackPluginCost) {
  auto o = Options();
  o.run_loopback_plugin = true;
  auto net = Make(o);
  Cycles(*net, 10, "with-loopback-plugin");
}

// For comparison: the bridge plugin's own ipMasq (a chain per pod) is most of the ADD and DEL time (each
// iptables-nft exec costs several ms, more as the ruleset grows); the built-in config avoids it.
TEST_F(PodNetworkLive, CostWithPerPodIpMasq) {
  TempDir conf;
  (void)WriteFile(conf / "10.conflist", ConfList(true, ""));
  auto o = Options();
  o.conf_dir = conf.path();
  auto net = Make(o);
  Cycles(*net, 10, "bridge-with-per-pod-ipMasq");
  ExpectNoLeaks();
}

// The built-in network masquerades the whole subnet with one chain installed at Create (idempotently),
// and adds no iptables rule per pod.
TEST_F(PodNetworkLive, BuiltinNetworkMasqueradesTheSubnetWithOneChain) {
  EXPECT_NE(BuiltinCniConfig(Options()).find("\"ipMasq\":false"), std::string::npos);
  auto net = Make(Options());
  auto again = Make(Options());
  const std::string chain = MasqueradeChain(bridge_);
  EXPECT_EQ(CountOccurrences(Sh("iptables-save -t nat"), "-j " + chain + "\n"), 1);
  std::string rules = Sh("iptables -w -t nat -S " + chain);
  EXPECT_NE(rules.find("-A " + chain + " -d " + Subnet() + " -j RETURN"), std::string::npos) << rules;
  EXPECT_NE(rules.find("-A " + chain + " -d 224.0.0.0/4 -j RETURN"), std::string::npos) << rules;
  EXPECT_NE(rules.find("-A " + chain + " -j MASQUERADE"), std::string::npos) << rules;
  auto ns = CreatePodNamespaces(NsDir(), "masq");
  ASSERT_TRUE(ns.ok());
  auto up = net->SetUp(Req("masq", *ns));
  ASSERT_TRUE(up.ok()) << up.error().message();
  EXPECT_EQ(CountOccurrences(Sh("iptables-save -t nat"), up->ips[0].address + "/32"), 0);
  ASSERT_TRUE(net->TearDown(Req("masq", *ns)).ok());
  ASSERT_TRUE(ns->Remove().ok());
  (void)Sh("python3 " + std::string(NANOLET_SOURCE_DIR) + "/scripts/nat-cleanup.py " + bridge_ + " " +
           subnet_prefix_);
  EXPECT_EQ(CountOccurrences(Sh("iptables-save -t nat"), chain), 0);
}

}  // namespace
}  // namespace nanolet::network
