#!/usr/bin/env bash
# build-image.sh <rootfs.tar> <code-server dir> <node binary> <image ref> <key> <code-server version>
# Builds the code-server image offline, shaped like the official codercom/code-server: user
# coder (uid 1000) with its home and passwordless sudo, a setuid-root fixuid (a stand-in,
# sh/fixuid-standin.c) run first by /usr/bin/entrypoint.sh, which then runs the $ENTRYPOINTD
# scripts and dumb-init code-server (same arguments), curl for the health check, code-server in
# /usr/lib/code-server with its own Node. Imports it into the engine with `docker import` (the
# docker client comes from PATH, DOCKER_HOST from the caller).
set -euo pipefail

rootfs_tar=${1:?usage: build-image.sh <rootfs.tar> <code-server dir> <node> <image ref> <key> <version>}
code_server=${2:?}
node_binary=${3:?}
image=${4:?}
key=${5:?}
version=${6:?}
staging=$(mktemp -d "${TMPDIR:-/tmp}/rehearsal-image.XXXXXX")
trap 'rm -rf "$staging"' EXIT

tar --numeric-owner -xf "$rootfs_tar" -C "$staging"
chroot "$staging" useradd --create-home --uid 1000 --user-group --shell /bin/bash coder
# As the official image: coder may sudo anything without a password.
echo "coder ALL=(ALL) NOPASSWD:ALL" >"$staging/etc/sudoers.d/nopasswd"
chmod 0440 "$staging/etc/sudoers.d/nopasswd"
# fixuid: setuid root, configured for coder, as the official image installs it.
gcc -O2 -Wall -o "$staging/usr/local/bin/fixuid" "$(dirname "$0")/fixuid-standin.c"
chown root:root "$staging/usr/local/bin/fixuid"
chmod 4755 "$staging/usr/local/bin/fixuid"
mkdir -p "$staging/etc/fixuid"
printf 'user: coder\ngroup: coder\n' >"$staging/etc/fixuid/config.yml"
mkdir -p "$staging/usr/lib"
cp -a "$code_server" "$staging/usr/lib/code-server"
install -m 0755 "$node_binary" "$staging/usr/lib/code-server/lib/node"
cat >"$staging/usr/bin/code-server" <<'SCRIPT'
#!/bin/sh
exec /usr/lib/code-server/lib/node /usr/lib/code-server/out/node/entry.js "$@"
SCRIPT
cat >"$staging/usr/bin/entrypoint.sh" <<'SCRIPT'
#!/bin/sh
set -eu
# As in the official image: fixuid first (its output is evaluated; where it cannot become root it
# fails with a message and the start goes on), then the executables in $ENTRYPOINTD, then
# code-server under dumb-init.
eval "$(fixuid -q)"
if [ -d "${ENTRYPOINTD:-}" ]; then
  find "$ENTRYPOINTD" -type f -executable -print -exec {} \;
fi
exec dumb-init /usr/bin/code-server "$@"
SCRIPT
chmod 0755 "$staging/usr/bin/code-server" "$staging/usr/bin/entrypoint.sh"
rm -rf "$staging"/var/lib/apt/lists/* "$staging"/var/cache/apt/*.bin "$staging"/var/cache/apt/archives/*.deb

tar --numeric-owner -C "$staging" -c . |
  docker import \
    --change 'USER 1000' \
    --change 'ENV USER=coder' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV ENTRYPOINTD=/home/coder/entrypoint.d' \
    --change 'WORKDIR /home/coder' \
    --change 'EXPOSE 8080' \
    --change 'ENTRYPOINT ["/usr/bin/entrypoint.sh", "--bind-addr", "0.0.0.0:8080", "."]' \
    --change "LABEL org.opencontainers.image.version=$version" \
    --change "LABEL rehearsal.key=$key" \
    - "$image" >/dev/null
