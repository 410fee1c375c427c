# Sourced by the README's commands (scripts/setup.sh, scripts/vscode/install.sh,
# scripts/demo.sh): what they need before they install anything. Each check stops at once with
# what is missing and how to get it, instead of failing half-way through an install.

ctd_preflight_fail() {
  printf '%s\n' "$@" >&2
  exit 1
}

# Installs Debian packages and creates network namespaces with their own sshd.
ctd_require_root() {
  [ "$(id -u)" -eq 0 ] && return 0
  ctd_preflight_fail \
    "conntrack-doctor: this needs root: it installs Debian/Ubuntu packages and creates network" \
    "  namespaces running their own sshd. Run it as root (e.g. \`sudo npm test\`, \`sudo npm run demo\`)."
}

# The project's own Node (not the private Node 24 code-server gets).
CTD_NODE_MIN=20.19.0
ctd_require_node() {
  local found
  found=$(node -p 'process.versions.node' 2>/dev/null) || found=
  if [ -n "$found" ] && node -e '
    const [a, b] = [process.argv[1], process.argv[2]].map((v) => v.split(".").map(Number));
    process.exit(a[0] !== b[0] ? (a[0] > b[0] ? 0 : 1) : a[1] !== b[1] ? (a[1] > b[1] ? 0 : 1) : a[2] >= b[2] ? 0 : 1);' "$found" "$CTD_NODE_MIN"; then
    return 0
  fi
  ctd_preflight_fail \
    "conntrack-doctor: Node.js >= $CTD_NODE_MIN is required; found ${found:+v$found}${found:-no node on PATH}." \
    "  Debian 12's and Ubuntu 24.04's own nodejs packages are 18.x. Install Node 20 or 22 from" \
    "  https://nodejs.org, NodeSource (https://github.com/nodesource/distributions) or nvm, then run this again."
}

ctd_require_apt() {
  command -v apt-get >/dev/null 2>&1 && return 0
  ctd_preflight_fail \
    "conntrack-doctor: missing packages (${*}) and no apt-get: the setup installs with apt on Debian/Ubuntu." \
    "  Install them with this system's package manager, then run this again."
}

# Only when something must be downloaded from it: a warm machine works offline.
ctd_require_npm_registry() {
  local registry
  registry=$(npm config get registry 2>/dev/null) || registry='the npm registry'
  if npm ping --fetch-retries=0 --fetch-timeout=20000 >/dev/null 2>&1; then return 0; fi
  ctd_preflight_fail \
    "conntrack-doctor: cannot reach the npm registry ($registry), and $1 must be downloaded from it." \
    "  Check the network or proxy (npm config set proxy / https-proxy), or use a mirror" \
    "  (npm config set registry URL, in ~/.npmrc: the nested installs read it), then run this again."
}

# apt-get update/install with a message that says what could not be installed and why.
ctd_apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get update -qq; then
    ctd_preflight_fail \
      "conntrack-doctor: apt-get update failed (above): the Debian/Ubuntu package mirrors cannot be reached." \
      "  Check the network or the apt proxy (/etc/apt/apt.conf.d), or install by hand: $*"
  fi
  if ! apt-get install -y -qq --no-install-recommends "$@" >/dev/null; then
    ctd_preflight_fail "conntrack-doctor: apt-get install $* failed (above)."
  fi
}
