#pragma once
// Outbound NAT for the built-in bridge network, installed once per network instead of once per pod.
//
// The bridge plugin's ipMasq adds an iptables chain per pod on ADD and removes it on DEL: several
// iptables-nft execs each time, each slower as the ruleset grows, and a chain that outlives any pod whose
// DEL never ran. The same NAT as one chain for the whole subnet (as kubenet did with its
// non-masquerade CIDR):
//   POSTROUTING: -s SUBNET -j NANOLET-MASQ-<bridge>
//   NANOLET-MASQ-<bridge>: -d SUBNET -j RETURN; -d 224.0.0.0/4 -j RETURN; -j MASQUERADE
// Pods keep their NAT while nanolet is down or restarting; the rules are never removed by nanolet (tests
// remove their own with scripts/nat-cleanup.py).
#include <string>

#include "util/result.h"

namespace nanolet::network {

// The chain's name for `bridge` (at most 28 characters for a bridge name of at most 15).
std::string MasqueradeChain(const std::string& bridge);

// Installs or refreshes the chain and the POSTROUTING jump; idempotent. `iptables_restore` and `iptables`
// are binary paths or names looked up on PATH.
Result<void> EnsureMasquerade(const std::string& bridge, const std::string& subnet,
                              const std::string& iptables_restore = "iptables-restore",
                              const std::string& iptables = "iptables");

}  // namespace nanolet::network
