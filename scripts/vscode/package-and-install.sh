#!/usr/bin/env bash
# Packages the extension as a VSIX with @vscode/vsce 3.9 (the last major that runs on Node 20),
# installs it into a fresh code-server and checks through the UI that it shows up and
# activates (see test/vscode/vsixCheck.ts for exactly what is checked).
#
#   bash scripts/vscode/package-and-install.sh [--keep-vsix DIR] [--artifacts DIR]
#
# Needs scripts/vscode/install.sh to have run (code-server and the browser come from its cache;
# vsce is a devDependency).
# Packaging is scripts/vscode/package.sh: dist/ in production mode for the package, then the
# development bundle again.
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

work=$(mktemp -d "${TMPDIR:-/tmp}/ctd-vsix-pack.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$repo"

started=$SECONDS
# package.sh: production build, vsce package, development bundle rebuilt afterwards.
set +e
vsix=$(bash "$here/package.sh" "$work")
rc=$?
set -e
[ "$rc" -eq 0 ] || { echo "package-and-install: packaging failed (exit $rc)" >&2; [ "$rc" -eq 2 ] && exit 2; exit 1; }
name=$(basename "$vsix")
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
