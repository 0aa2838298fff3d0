#pragma once
#include <string>
#include <vector>

namespace nanolet {

// The node's IPv4 addresses, the default-route interface's first (upstream's node IP detection without a
// DNS lookup); 127.0.0.1 when there is nothing else.
std::vector<std::string> HostIPs();
// gethostname(), lower-cased (as upstream nodeutil.GetHostname).
std::string Hostname();

}  // namespace nanolet
