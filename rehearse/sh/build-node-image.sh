#!/usr/bin/env bash
# build-node-image.sh <rootfs.tar> <node binary> <image ref> <key> <node version>
# Builds a Node image offline, shaped like the official node:<version>-<suite>-slim: the suite's
# minimal root filesystem, node in /usr/local/bin (and its nodejs alias), user node (uid 1000,
# group node 1000, home /home/node), NODE_VERSION in the environment, docker-entrypoint.sh as
# the entrypoint (a first argument that is an option or a file, not a command, runs under node)
# and `node` as the command. The official image also carries npm, yarn and corepack; this one
# does not (what runs in it is one self-contained file). Imports it into the engine with
# `docker import` (the docker client from PATH, DOCKER_HOST from the caller).
set -euo pipefail

rootfs_tar=${1:?usage: build-node-image.sh <rootfs.tar> <node binary> <image ref> <key> <node version>}
node_binary=${2:?}
image=${3:?}
key=${4:?}
version=${5:?}
staging=$(mktemp -d "${TMPDIR:-/tmp}/rehearsal-node-image.XXXXXX")
trap 'rm -rf "$staging"' EXIT

tar --numeric-owner -xf "$rootfs_tar" -C "$staging"
chroot "$staging" groupadd --gid 1000 node
chroot "$staging" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
install -m 0755 "$node_binary" "$staging/usr/local/bin/node"
ln -s node "$staging/usr/local/bin/nodejs"
cat >"$staging/usr/local/bin/docker-entrypoint.sh" <<'SCRIPT'
#!/bin/sh
set -e
# As the official image's entrypoint: an option (-e, --version) or something that is not a command
# on PATH, or a file that is not executable (a script to run), is given to node.
first=${1:-}
if [ "${first#-}" != "$first" ] || [ -z "$(command -v "$first")" ] || { [ -f "$first" ] && [ ! -x "$first" ]; }; then
  set -- node "$@"
fi
exec "$@"
SCRIPT
chmod 0755 "$staging/usr/local/bin/docker-entrypoint.sh"
rm -rf "$staging"/var/lib/apt/lists/* "$staging"/var/cache/apt/*.bin "$staging"/var/cache/apt/archives/*.deb

tar --numeric-owner -C "$staging" -c . |
  docker import \
    --change "ENV NODE_VERSION=$version" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENTRYPOINT ["docker-entrypoint.sh"]' \
    --change 'CMD ["node"]' \
    --change "LABEL rehearsal.key=$key" \
    - "$image" >/dev/null
