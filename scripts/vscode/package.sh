#!/usr/bin/env bash
# Packages the extension as a VSIX with @vscode/vsce 3.9 (the last major that runs on Node 20).
#
#   bash scripts/vscode/package.sh OUT_DIR
#
# Builds dist/ in production mode for the package (vsce package --no-dependencies: the bundle
# carries its dependencies; the allow-list .vscodeignore decides the files), then rebuilds the
# development bundle, also when packaging fails. Prints the VSIX's path on stdout (the only
# line there) and its size on stderr, with vsce's own output.
# vsce is a devDependency (node_modules/.bin/vsce): needs `npm ci` (scripts/setup.sh) first.
# Exit code: 0 packaged, 1 the build or vsce failed, 2 usage or a missing tool.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

if [ $# -ne 1 ] || [ "${1:0:1}" = - ]; then
  echo "usage: $0 OUT_DIR" >&2
  exit 2
fi
mkdir -p "$1"
out=$(cd "$1" && pwd)

vsce=$repo/node_modules/.bin/vsce
[ -x "$vsce" ] || { echo "package: $vsce missing: run npm ci (scripts/setup.sh) first" >&2; exit 2; }

cd "$repo"
started=$SECONDS
trap 'node esbuild.js >/dev/null || echo "package: rebuilding the development bundle failed" >&2' EXIT
node esbuild.js --production >&2 || exit 1

name=$(node -p 'const p = require("./package.json"); `${p.name}-${p.version}.vsix`')
vsix=$out/$name
args=(package --no-dependencies -o "$vsix")
# vsce rewrites README links to the repository; without a "repository" field it refuses to
# package. The rewritten links only matter for a published package, not for local installs.
if [ "$(node -p 'Boolean(require("./package.json").repository)')" != true ]; then
  echo "package: package.json has no \"repository\": README links point to invalid.example in this VSIX" >&2
  args+=(--allow-missing-repository --baseContentUrl https://invalid.example/conntrack-doctor/ --baseImagesUrl https://invalid.example/conntrack-doctor/)
fi
"$vsce" "${args[@]}" </dev/null >&2 || exit 1
[ -s "$vsix" ] || { echo "package: vsce did not write $vsix" >&2; exit 1; }
echo "package: $vsix ($(( ($(stat -c %s "$vsix") + 1023) / 1024 )) KB) in $((SECONDS - started)) s" >&2
echo "$vsix"
