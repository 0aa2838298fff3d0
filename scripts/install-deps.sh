#!/usr/bin/env bash
# Installs every Debian package nanolet needs to build, run and test. Idempotent and quiet when nothing is missing.
set -euo pipefail

PKGS=(
  # toolchain
  build-essential cmake clang clang-14 libclang-rt-14-dev clang-format musl-tools pkg-config
  # libraries
  nlohmann-json3-dev libyaml-cpp-dev libcurl4-openssl-dev libssl-dev libarchive-dev libspdlog-dev libfmt-dev
  libcli11-dev libuv1-dev libcpp-httplib-dev libboost-dev libgtest-dev libgmock-dev libbenchmark-dev
  libnghttp2-dev  # grpc probes' HTTP/2
  # runtime parts
  runc containernetworking-plugins iproute2 iptables util-linux
  # test and bench peers
  busybox-static docker-registry skopeo wrk kubernetes-client curl jq python3
  python3-grpcio  # the grpc.health.v1 server of the grpc probe tests (Debian's /usr/bin/python3)
)

missing=()
for p in "${PKGS[@]}"; do
  # kubectl may come with the machine image rather than Debian's kubernetes-client.
  if [[ $p == kubernetes-client ]] && command -v kubectl >/dev/null 2>&1; then continue; fi
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing packages: ${missing[*]}; run as root (or: sudo $0)" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# docker-registry's package starts a system service on port 5000; tests run their own instance on a free port.
if command -v systemctl >/dev/null 2>&1; then systemctl disable --now docker-registry >/dev/null 2>&1 || true; fi
