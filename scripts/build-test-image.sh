#!/usr/bin/env bash
# Builds the project's test image from Debian's busybox-static into an OCI image layout tar (oci-archive),
# tagged nanolet.local/busybox:1.35 (index.json annotations io.containerd.image.name and
# org.opencontainers.image.ref.name). No network: tar, gzip, sha256sum and jq only.
#
#   scripts/build-test-image.sh OUT.tar
#
# Deterministic (fixed mtimes, owners and order: the same busybox gives the same digests) and idempotent: when
# OUT.tar exists and is newer than this script, nothing is done.
set -euo pipefail

out=${1:?usage: build-test-image.sh OUT.tar}
busybox=${BUSYBOX:-/bin/busybox}
name=nanolet.local/busybox
tag=1.35
epoch=0

if [[ -f "$out" && "$out" -nt "${BASH_SOURCE[0]}" ]]; then
  exit 0
fi
[[ -x "$busybox" ]] || { echo "build-test-image: $busybox not found (apt-get install busybox-static)" >&2; exit 1; }
for t in tar gzip sha256sum jq; do
  command -v "$t" >/dev/null || { echo "build-test-image: $t not found" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
layout=$work/layout
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,var/www,root,home,proc,sys,dev} "$layout/blobs/sha256"

install -m 0755 "$busybox" "$root/bin/busybox"
# Absolute links, as busybox --install -s makes them: resolved inside the container, never on the host.
"$busybox" --list-full | while read -r applet; do
  [[ "$applet" == bin/busybox ]] && continue
  mkdir -p "$root/$(dirname "$applet")"
  ln -sf /bin/busybox "$root/$applet"
done
chmod 1777 "$root/tmp"
chmod 0700 "$root/root"
cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/home:/bin/false
EOF
cat >"$root/etc/group" <<'EOF'
root:x:0:
nobody:x:65534:
EOF
echo 'hello from nanolet' >"$root/var/www/index.html"
chmod 0644 "$root/etc/passwd" "$root/etc/group" "$root/var/www/index.html"

# The layer: sorted, numeric root ownership, mtime 0, gzip without a name or timestamp.
tar --create --file="$work/layer.tar" --directory="$root" --sort=name --format=gnu \
  --owner=0 --group=0 --numeric-owner --mtime="@$epoch" .
diff_id=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
gzip -n -9 <"$work/layer.tar" >"$work/layer.tar.gz"
layer_digest=$(sha256sum "$work/layer.tar.gz" | cut -d' ' -f1)
layer_size=$(stat -c %s "$work/layer.tar.gz")
mv "$work/layer.tar.gz" "$layout/blobs/sha256/$layer_digest"

# put FILE: moves a JSON file into the blob store, prints "<hex> <size>".
put() {
  local d s
  d=$(sha256sum "$1" | cut -d' ' -f1)
  s=$(stat -c %s "$1")
  mv "$1" "$layout/blobs/sha256/$d"
  echo "$d $s"
}

jq -cn --arg diff "sha256:$diff_id" '{
  created: "1970-01-01T00:00:00Z",
  architecture: "amd64",
  os: "linux",
  config: {
    Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
    Cmd: ["sh"],
    WorkingDir: "/",
    Labels: {"org.opencontainers.image.title": "nanolet test busybox"}
  },
  rootfs: {type: "layers", diff_ids: [$diff]},
  history: [{created: "1970-01-01T00:00:00Z", created_by: "scripts/build-test-image.sh"}]
}' | tr -d '\n' >"$work/config.json"
read -r config_digest config_size < <(put "$work/config.json")

jq -cn --arg cd "sha256:$config_digest" --argjson cs "$config_size" \
  --arg ld "sha256:$layer_digest" --argjson ls "$layer_size" '{
  schemaVersion: 2,
  mediaType: "application/vnd.oci.image.manifest.v1+json",
  config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $cd, size: $cs},
  layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: $ld, size: $ls}]
}' | tr -d '\n' >"$work/manifest.json"
read -r manifest_digest manifest_size < <(put "$work/manifest.json")

jq -cn --arg md "sha256:$manifest_digest" --argjson ms "$manifest_size" --arg name "$name:$tag" \
  --arg tag "$tag" '{
  schemaVersion: 2,
  mediaType: "application/vnd.oci.image.index.v1+json",
  manifests: [{
    mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $md, size: $ms,
    platform: {architecture: "amd64", os: "linux"},
    annotations: {"io.containerd.image.name": $name, "org.opencontainers.image.ref.name": $tag}
  }]
}' | tr -d '\n' >"$layout/index.json"
printf '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"

mkdir -p "$(dirname "$out")"
tar --create --file="$out.tmp.$$" --directory="$layout" --sort=name --format=gnu \
  --owner=0 --group=0 --numeric-owner --mtime="@$epoch" oci-layout index.json blobs
mv -f "$out.tmp.$$" "$out"
