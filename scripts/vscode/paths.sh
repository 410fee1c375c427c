# Where scripts/vscode/install.sh puts things; sourced by the install and run scripts.
# harness/vscode/paths.ts reads the same paths from here, so the two can never disagree.
# Every value can be overridden from the environment.
#
# Only what cannot be an npm dependency of the project lives in this cache: code-server (it
# needs Node 24 and is built against it) and Node 24 itself, plus, where the distribution has
# no usable Chromium package (Ubuntu ships it as a snap), Playwright's Chromium. The test tools
# (@vscode/test-electron, @vscode/vsce, playwright-core) are devDependencies in package.json.
: "${CTD_VSCODE_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/conntrack-doctor}"
: "${CTD_NODE24_VERSION:=24.21.0}"
: "${CTD_CODE_SERVER_VERSION:=4.139.1}"
: "${CTD_NODE24_DIR:=$CTD_VSCODE_CACHE/node-$CTD_NODE24_VERSION}"
: "${CTD_CODE_SERVER_DIR:=$CTD_VSCODE_CACHE/code-server-$CTD_CODE_SERVER_VERSION}"
: "${CTD_PLAYWRIGHT_BROWSERS:=$CTD_VSCODE_CACHE/ms-playwright}"
# The browser: Debian's chromium, unless install.sh had to fetch Playwright's (it records the
# executable's path in $CTD_PLAYWRIGHT_BROWSERS/chromium-path).
if [ -z "${CTD_CHROMIUM:-}" ]; then
  if [ -s "$CTD_PLAYWRIGHT_BROWSERS/chromium-path" ] && [ ! -x /usr/bin/chromium ]; then
    CTD_CHROMIUM=$(cat "$CTD_PLAYWRIGHT_BROWSERS/chromium-path")
  else
    CTD_CHROMIUM=/usr/bin/chromium
  fi
fi
export CTD_VSCODE_CACHE CTD_NODE24_VERSION CTD_CODE_SERVER_VERSION CTD_NODE24_DIR CTD_CODE_SERVER_DIR CTD_PLAYWRIGHT_BROWSERS CTD_CHROMIUM
