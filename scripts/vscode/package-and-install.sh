#!/usr/bin/env bash
# Packages the extension as a VSIX with @vscode/vsce 3.9 (the last major that runs on Node 20),
# installs it into a fresh code-server and checks through the UI that it shows up and
# activates (see test/vscode/vsixCheck.ts for exactly what is checked).
#
#   bash scripts/vscode/package-and-install.sh [--keep-vsix DIR] [--artifacts DIR]
#
# Needs scripts/vscode/install.sh to have run (vsce comes from its tools folder).
# Builds dist/ in production mode for the package, then rebuilds the development bundle.
# Exit code: 0 all checks passed, 1 a check failed, 2 the harness failed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=paths.sh
source "$here/paths.sh"

keep_dir=
artifacts=
while [ $# -gt 0 ]; do
  case $1 in
    --keep-vsix) keep_dir=$2; shift 2 ;;
    --artifacts) artifacts=$2; shift 2 ;;
    *) echo "usage: $0 [--keep-vsix DIR] [--artifacts DIR]" >&2; exit 2 ;;
  esac
done

vsce=$CTD_TOOLS_DIR/node_modules/.bin/vsce
[ -x "$vsce" ] || { echo "package-and-install: $vsce missing: run bash scripts/vscode/install.sh" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/ctd-vsix-pack.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$repo"

started=$SECONDS
node esbuild.js --production
trap 'rm -rf "$work"; node esbuild.js >/dev/null' EXIT

name=$(node -p 'const p = require("./package.json"); `${p.name}-${p.version}.vsix`')
vsix=$work/$name
args=(package --no-dependencies -o "$vsix")
# vsce rewrites README links to the repository; without a "repository" field it refuses to
# package. The rewritten links only matter for a published package, not for this check.
if [ "$(node -p 'Boolean(require("./package.json").repository)')" != true ]; then
  echo "package-and-install: package.json has no \"repository\": README links point to invalid.example in this VSIX" >&2
  args+=(--allow-missing-repository --baseContentUrl https://invalid.example/conntrack-doctor/ --baseImagesUrl https://invalid.example/conntrack-doctor/)
fi
"$vsce" "${args[@]}" </dev/null
echo "package-and-install: packaged $name in $((SECONDS - started)) s"
if [ -n "$keep_dir" ]; then
  mkdir -p "$keep_dir"
  cp "$vsix" "$keep_dir/"
  echo "package-and-install: kept $keep_dir/$name"
fi

check_args=("$vsix")
[ -n "$artifacts" ] && check_args+=(--artifacts "$artifacts")
set +e
node --import tsx test/vscode/vsixCheck.ts "${check_args[@]}"
rc=$?
set -e
echo "package-and-install: done in $((SECONDS - started)) s (exit $rc)"
exit $rc
