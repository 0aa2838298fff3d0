#!/usr/bin/env python3
"""Timing helper for the bench scripts: writes manifests and polls nanolet's /pods from one process (no
curl/jq per poll, so the measurement adds about a millisecond, not the cost of spawning processes).

  podwatch.py startup API DIR N [FIRST]  N times: write DIR/bI.yaml (I from FIRST, default 1), wait until bI
                                         Running, print ms; remove it and wait until it is gone.
  podwatch.py exit API DIR EXITS N       N times: a pod whose container exits after 300 ms; print the ms between
                                         the container's exit (its monitor's exit file, EXITS/<id>.json,
                                         else finishedAt) and /pods showing it terminated.
  podwatch.py many API DIR N             write N manifests at once (atomically, by rename), print the ms until
                                         all N are Running; then remove them and wait until all are gone.
"""
import datetime
import json
import os
import sys
import time
import urllib.request

IMG = "nanolet.local/busybox:1.35"
NODE = "e2e-node"


def pods(api):
    with urllib.request.urlopen(api + "/pods", timeout=10) as r:
        return json.load(r)["items"]


def by_name(items):
    return {p["metadata"]["name"]: p for p in items}


def write(dirname, name, command, restart="Always"):
    tmp = os.path.join(dirname, "." + name + ".tmp")
    with open(tmp, "w") as f:
        f.write(json.dumps({
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"restartPolicy": restart, "terminationGracePeriodSeconds": 0,
                     "containers": [{"name": "app", "image": IMG, "command": command}]}}))
    os.rename(tmp, os.path.join(dirname, name + ".yaml"))


def wait(api, pred, timeout=120, interval=0.001):
    deadline = time.monotonic() + timeout
    while True:
        items = by_name(pods(api))
        if pred(items):
            return items
        if time.monotonic() > deadline:
            sys.exit("timed out")
        time.sleep(interval)


def phase(items, name):
    p = items.get(name + "-" + NODE)
    return p and p.get("status", {}).get("phase")


def parse_time(s):
    # RFC 3339 with up to nanoseconds
    s = s.rstrip("Z")
    frac = 0.0
    if "." in s:
        s, f = s.split(".")
        frac = float("0." + f)
    t = datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    return t.timestamp() + frac


def startup(api, d, n, first=1):
    for i in range(first, first + n):
        name = "b%d" % i
        t0 = time.time()
        write(d, name, ["sleep", "3600"])
        wait(api, lambda it: phase(it, name) == "Running")
        print(int((time.time() - t0) * 1000), flush=True)
        os.unlink(os.path.join(d, name + ".yaml"))
        wait(api, lambda it: (name + "-" + NODE) not in it, interval=0.01)


def exit_latency(api, d, exits, n):
    for i in range(1, n + 1):
        name = "x%d" % i
        write(d, name, ["sh", "-c", "sleep 0.3"], restart="Never")

        def terminated(it):
            p = it.get(name + "-" + NODE)
            cs = p and p.get("status", {}).get("containerStatuses") or []
            return cs and "terminated" in cs[0].get("state", {})
        items = wait(api, terminated, interval=0.0005)
        seen = time.time()
        cs = items[name + "-" + NODE]["status"]["containerStatuses"][0]
        cid = cs["containerID"].split("://")[-1]
        finished = None
        try:
            with open(os.path.join(exits, cid + ".json")) as f:
                finished = parse_time(json.load(f)["finishedAt"])
        except (OSError, ValueError, KeyError):
            finished = parse_time(cs["state"]["terminated"]["finishedAt"])
        print(int((seen - finished) * 1000), flush=True)
        os.unlink(os.path.join(d, name + ".yaml"))
        wait(api, lambda it: (name + "-" + NODE) not in it, interval=0.01)


def many(api, d, n):
    names = ["m%d" % i for i in range(1, n + 1)]
    t0 = time.time()
    for name in names:
        write(d, name, ["sleep", "3600"])
    wait(api, lambda it: all(phase(it, x) == "Running" for x in names), timeout=600, interval=0.01)
    print(int((time.time() - t0) * 1000), flush=True)
    for name in names:
        os.unlink(os.path.join(d, name + ".yaml"))
    wait(api, lambda it: not any((x + "-" + NODE) in it for x in names), timeout=600, interval=0.05)


if __name__ == "__main__":
    mode, api, d = sys.argv[1], sys.argv[2], sys.argv[3]
    if mode == "startup":
        startup(api, d, int(sys.argv[4]), int(sys.argv[5]) if len(sys.argv) > 5 else 1)
    elif mode == "exit":
        exit_latency(api, d, sys.argv[4], int(sys.argv[5]))
    elif mode == "many":
        many(api, d, int(sys.argv[4]))
    else:
        sys.exit(__doc__)
