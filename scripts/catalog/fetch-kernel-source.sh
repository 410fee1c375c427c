#!/usr/bin/env bash
# Fetches the kernel source the key catalogue is generated from: Debian's linux-source-6.12
# (a Debian package, so it comes through apt like everything else here), and unpacks only what
# the generator reads (Documentation/ and the *.c files) into ${1:-/tmp/ctd-kernel-src}.
# Nothing is installed: the .deb is downloaded with `apt-get download` and unpacked by hand.
set -euo pipefail
dest=${1:-/tmp/ctd-kernel-src}
pkg=linux-source-6.12
mkdir -p "$dest"
cd "$dest"
if [[ -d $pkg/Documentation/admin-guide/sysctl ]]; then
  echo "fetch-kernel-source: $dest/$pkg already unpacked"
  exit 0
fi
if ! ls ${pkg}_*.deb >/dev/null 2>&1; then
  apt-get download "$pkg" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true
fi
deb=$(ls ${pkg}_*.deb | tail -1)
echo "fetch-kernel-source: unpacking $deb"
dpkg-deb --fsys-tarfile "$deb" | tar -x ./usr/src/$pkg.tar.xz
tar -xJf usr/src/$pkg.tar.xz --wildcards "$pkg/Documentation/*" "$pkg/Makefile" '*.c'
rm -f usr/src/$pkg.tar.xz
echo "fetch-kernel-source: $dest/$pkg ($(sed -n 's/^VERSION = //p;s/^PATCHLEVEL = //p;s/^SUBLEVEL = //p' $pkg/Makefile | paste -sd.))"
