// CNI results come from plugin binaries (any plugin in --cni-bin-dir, any spec version): parsing one
// must never crash; what parses names only addresses of the asked interface.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "runtime/network/cni_network.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  for (const char* ifname : {"eth0", ""}) {
    auto r = nanolet::network::ParseCniResult(text, ifname);
    if (!r.ok()) {
      (void)r.error().message();
      continue;
    }
    for (const auto& ip : r->ips) {
      if (ip.address.empty()) std::abort();  // an IP entry without an address must be rejected
      if (ip.prefix_length < 0 || ip.prefix_length > (ip.ipv6 ? 128 : 32)) std::abort();
    }
  }
  return 0;
}
