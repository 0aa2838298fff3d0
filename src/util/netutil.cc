#include "util/netutil.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>

#include "util/fs.h"
#include "util/strings.h"

namespace nanolet {

std::vector<std::string> HostIPs() {
  std::string default_if;
  if (auto route = ReadFile("/proc/net/route", 1 << 20); route.ok()) {
    for (const auto& line : Split(*route, '\n')) {
      auto f = Split(line, '\t');
      if (f.size() > 2 && f[1] == "00000000" && f[0] != "Iface") {
        default_if = f[0];
        break;
      }
    }
  }
  std::vector<std::string> primary, others;
  struct ifaddrs* ifs = nullptr;
  if (::getifaddrs(&ifs) == 0) {
    for (auto* i = ifs; i; i = i->ifa_next) {
      if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || (i->ifa_flags & IFF_LOOPBACK)) continue;
      char buf[INET_ADDRSTRLEN];
      auto* sin = reinterpret_cast<sockaddr_in*>(i->ifa_addr);
      if (!::inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof buf)) continue;
      std::string name = i->ifa_name;
      // Bridges and veths of pod networks are not node addresses.
      if (StartsWith(name, "nanolet") || StartsWith(name, "cni") || StartsWith(name, "veth")) continue;
      (name == default_if ? primary : others).push_back(buf);
    }
    ::freeifaddrs(ifs);
  }
  primary.insert(primary.end(), others.begin(), others.end());
  if (primary.empty()) primary.push_back("127.0.0.1");
  return primary;
}

std::string Hostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  std::string h(buf);
  std::transform(h.begin(), h.end(), h.begin(), [](unsigned char c) { return std::tolower(c); });
  return h;
}

}  // namespace nanolet
