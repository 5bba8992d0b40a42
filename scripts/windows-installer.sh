#!/usr/bin/env bash
# The Windows installer, built on Linux: latchkey_<version>_x64-setup.exe from the
# desktop app built for x86_64-pc-windows-gnu and src-tauri/windows/installer.nsi,
# by Debian's makensis (package nsis). Prints the installer's path.
#
#   scripts/windows-installer.sh           # the app as shipped (the `desktop` profile)
#   scripts/windows-installer.sh dev       # a quick one from the dev build (CI's check)
#
# Per user, no administrator rights; registers latchkey://; silent with IT's server:
#   latchkey_0.1.0_x64-setup.exe /S /SERVER=https://auth.corp.cn
# (docs/windows.md). Not Tauri's own NSIS bundle: its bundler fetches a plugin of its
# own from the network when it runs on Linux, and nothing but package registries is
# reachable here.
set -euo pipefail
cd "$(dirname "$0")/.."
target=x86_64-pc-windows-gnu
profile=${1:-desktop}
compressor="/SOLID lzma"
case "$profile" in
  dev) dir=debug compressor=zlib ;;
  *) dir=$profile ;;
esac
command -v makensis >/dev/null || { echo "makensis is missing: run scripts/setup.sh"; exit 1; }

cargo build --locked --quiet --target "$target" --profile "$profile" -p latchkey >&2
id=$(cargo pkgid -p latchkey)
version=${id##*@}
out=target/$target/$dir/bundle/nsis
mkdir -p "$out"
installer=$out/latchkey_${version}_x64-setup.exe
# makensis works from the script's folder: absolute paths.
makensis -V2 -DVERSION="$version" -DCOMPRESSOR="$compressor" -DEXE="$PWD/target/$target/$dir/latchkey.exe" \
  -DICON="$PWD/icons/icon.ico" -DOUTFILE="$PWD/$installer" src-tauri/windows/installer.nsi >&2
echo "$installer"
