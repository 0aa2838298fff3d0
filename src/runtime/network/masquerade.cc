#include "runtime/network/masquerade.h"

#include <chrono>
#include <vector>

#include "util/subprocess.h"

namespace nanolet::network {

std::string MasqueradeChain(const std::string& bridge) { return "NANOLET-MASQ-" + bridge; }

Result<void> EnsureMasquerade(const std::string& bridge, const std::string& subnet,
                              const std::string& iptables_restore, const std::string& iptables) {
  const std::string chain = MasqueradeChain(bridge);
  const std::string ctx = "masquerade for " + subnet;
  constexpr auto kTimeout = std::chrono::seconds(30);
  // One restore declares (creating, or flushing when it exists) and fills the chain atomically.
  std::string rules = "*nat\n:" + chain + " - [0:0]\n" +
                      "-A " + chain + " -d " + subnet + " -j RETURN\n" +
                      "-A " + chain + " -d 224.0.0.0/4 -j RETURN\n" +
                      "-A " + chain + " -j MASQUERADE\nCOMMIT\n";
  auto restore = Run({iptables_restore, "-w", "--noflush"}, {.stdin_data = rules, .timeout = kTimeout});
  if (!restore.ok()) return std::move(restore).error().Wrap(ctx);
  if (!restore->success()) return Error(ctx + ": iptables-restore: " + restore->Describe());
  std::vector<std::string> jump = {"POSTROUTING", "-s", subnet, "-m", "comment", "--comment",
                                   "nanolet masquerade for " + bridge, "-j", chain};
  auto with = [&](const std::string& op) {
    std::vector<std::string> argv = {iptables, "-w", "-t", "nat", op};
    argv.insert(argv.end(), jump.begin(), jump.end());
    return argv;
  };
  auto check = Run(with("-C"), {.timeout = kTimeout});
  if (check.ok() && check->success()) return Ok();
  auto add = Run(with("-A"), {.timeout = kTimeout});
  if (!add.ok()) return std::move(add).error().Wrap(ctx);
  if (!add->success()) return Error(ctx + ": iptables: " + add->Describe());
  return Ok();
}

}  // namespace nanolet::network
