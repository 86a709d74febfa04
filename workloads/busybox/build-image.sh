#!/usr/bin/env bash
# Builds the container image stoa/busybox:1 from the host's static busybox, without a registry:
# a root filesystem of /bin/busybox, one symlink per applet, /etc/passwd and /etc/group (so uid
# 65534 has a name), a world-writable /tmp, an empty /results mount point and /www/index.html for
# `httpd -h /www`, piped into `docker import`.
#
# Idempotent: the image carries the label stoa.recipe = sha256(busybox binary, this script); when
# an image with the same recipe exists, nothing is rebuilt. Prints the image id on stdout (and
# only that); progress goes to stderr.
#
# Environment: BUSYBOX (default: /usr/bin/busybox, else /bin/busybox), IMAGE (default stoa/busybox:1).
set -euo pipefail

IMAGE="${IMAGE:-stoa/busybox:1}"
if [[ -z "${BUSYBOX:-}" ]]; then
  for candidate in /usr/bin/busybox /bin/busybox; do
    if [[ -x "$candidate" ]]; then BUSYBOX="$candidate"; break; fi
  done
fi
if [[ -z "${BUSYBOX:-}" || ! -x "$BUSYBOX" ]]; then
  echo "build-image.sh: no busybox binary found (looked at /usr/bin/busybox, /bin/busybox)." >&2
  echo "  Install the static build: apt-get install -y busybox-static (or set BUSYBOX=/path)." >&2
  exit 1
fi
# The image has no libc: a dynamically linked busybox would not start inside it.
if command -v ldd >/dev/null 2>&1 && ldd "$BUSYBOX" 2>/dev/null | grep -q '=>'; then
  echo "build-image.sh: $BUSYBOX is dynamically linked; the image needs a static one." >&2
  echo "  Install it with: apt-get install -y busybox-static (or set BUSYBOX=/path)." >&2
  exit 1
fi
if ! command -v docker >/dev/null 2>&1; then
  echo "build-image.sh: the docker CLI is missing (apt-get install -y docker.io)." >&2
  exit 1
fi

script_path="${BASH_SOURCE[0]}"
recipe="$(cat "$BUSYBOX" "$script_path" | sha256sum | cut -c1-64)"
existing="$(docker image inspect -f '{{index .Config.Labels "stoa.recipe"}}' "$IMAGE" 2>/dev/null || true)"
if [[ "$existing" == "$recipe" ]]; then
  echo "build-image.sh: $IMAGE is up to date (recipe ${recipe:0:12})" >&2
  docker image inspect -f '{{.Id}}' "$IMAGE"
  exit 0
fi

rootfs="$(mktemp -d)"
trap 'rm -rf "$rootfs"' EXIT
mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,www,results,proc,sys,dev}
cp "$BUSYBOX" "$rootfs/bin/busybox"
chmod 0755 "$rootfs/bin/busybox"
while read -r applet; do
  [[ -n "$applet" && ! -e "$rootfs/$applet" ]] && ln -s /bin/busybox "$rootfs/$applet"
done < <("$BUSYBOX" --list-full)
chmod 1777 "$rootfs/tmp"

cat >"$rootfs/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat >"$rootfs/etc/group" <<'GROUP'
root:x:0:
nogroup:x:65534:
GROUP
cat >"$rootfs/www/index.html" <<'HTML'
<!doctype html>
<html>
  <head><meta charset="utf-8"><title>Stoa</title></head>
  <body><h1>Hello from a Stoa provider</h1><p>Served by busybox httpd inside stoa/busybox:1.</p></body>
</html>
HTML

echo "build-image.sh: importing $IMAGE from $BUSYBOX (recipe ${recipe:0:12})" >&2
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$rootfs" -cf - . |
  docker import \
    --change 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["/bin/sh"]' \
    --change "LABEL stoa.recipe=$recipe" \
    --message "stoa busybox image from $BUSYBOX" \
    - "$IMAGE" >/dev/null
docker image inspect -f '{{.Id}}' "$IMAGE"
