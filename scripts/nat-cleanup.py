#!/usr/bin/env python3
"""Removes the iptables nat rules and chains a test's network left: the NANOLET-MASQ-<bridge> chain and its
POSTROUTING jump, and the CNI plugins' per-pod chains (bridge ipMasq CNI-<hash>, portmap CNI-DN-<hash>) of pods
whose DEL never ran (nanolet killed, runc containers deleted by a test's cleanup). One atomic
iptables-restore --noflush, so rules of other tests are never touched.

Usage: nat-cleanup.py BRIDGE SUBNET_PREFIX     e.g. nat-cleanup.py nle2e42 10.231.42.
"""
import re
import subprocess
import sys


def main():
    bridge, prefix = sys.argv[1], sys.argv[2]
    try:
        saved = subprocess.run(["iptables-save", "-t", "nat"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return 0
    rules = [line for line in saved.splitlines() if line.startswith("-A ")]
    addr = re.compile(r"(?<![0-9.])" + re.escape(prefix) + r"[0-9]")
    targets = {"NANOLET-MASQ-" + bridge}
    for r in rules:
        if not addr.search(r):
            continue
        chain = r.split()[1]
        if chain.startswith("CNI-") and not chain.startswith("CNI-HOSTPORT-"):
            targets.add(chain)
        m = re.search(r" -j (CNI-\S+|NANOLET-\S+)$", r)
        if m and not m.group(1).startswith("CNI-HOSTPORT-"):
            targets.add(m.group(1))
    chains = {line[1:].split()[0] for line in saved.splitlines() if line.startswith(":")}
    targets &= chains
    if not targets:
        return 0
    out = ["*nat"]
    for r in rules:
        chain = r.split()[1]
        m = re.search(r" -j (\S+)$", r)
        if chain not in targets and m and m.group(1) in targets:
            out.append("-D" + r[2:])
    for t in sorted(targets):
        out += ["-F " + t, "-X " + t]
    out.append("COMMIT")
    subprocess.run(["iptables-restore", "-w", "--noflush"], input="\n".join(out) + "\n", text=True, check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
