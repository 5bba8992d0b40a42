#!/usr/bin/env bash
# Type-checks, here on Linux, the targets that only the release workflow builds
# (.github/workflows/release.yml), so that a change which breaks one of them fails CI
# and not the release:
#   - macOS on Apple silicon and on Intel (aarch64-apple-darwin, x86_64-apple-darwin):
#     every crate of the workspace with its tests, without Apple's SDK — the macOS code
#     of Latchkey and of its dependencies (Tauri's and wry's AppKit/WebKit bindings,
#     keyring's Keychain store, …);
#   - Windows as the release builds it, with Microsoft's toolchain
#     (x86_64-pc-windows-msvc): every crate, without tests (scripts/windows-tests.sh
#     builds and runs those for x86_64-pc-windows-gnu).
# `cargo check`: type-checked, nothing linked. What it cannot show: that the app links,
# starts and draws on a Mac or a PC.
#
# The C sources that some build scripts compile (ring, libsqlite3-sys, mimalloc,
# objc2's exception helper) include the SDK's headers, which only a Mac or Visual Studio
# has: scripts/cross-check-cc stands in for the C compiler and makes empty objects with
# Debian's clang (package clang), archived by llvm-ar (package llvm). docs/deploying.md,
# "macOS", says the same.
set -euo pipefail
cd "$(dirname "$0")/.."
apple=(aarch64-apple-darwin x86_64-apple-darwin)
windows=x86_64-pc-windows-msvc
for t in "${apple[@]}" "$windows"; do
  rustup target list --installed | grep -qx "$t" || rustup target add "$t"
  # cc-rs reads CC_<target> and AR_<target>, with the target's dashes as underscores.
  export "CC_${t//-/_}=$PWD/scripts/cross-check-cc" "AR_${t//-/_}=llvm-ar"
done
command -v clang >/dev/null && command -v llvm-ar >/dev/null ||
  { echo "clang and llvm-ar are missing: run scripts/setup.sh"; exit 1; }
# tauri::generate_context! embeds ui/dist (scripts/setup.sh builds it).
[ -f ui/dist/index.html ] || { echo "ui/dist is missing: run scripts/setup.sh"; exit 1; }
export CARGO_PROFILE_DEV_DEBUG=0
# No incremental state for these targets: it would double their size on disk, and CI
# checks each once.
export CARGO_INCREMENTAL=0
cargo check --workspace --all-targets --locked --quiet "${apple[@]/#/--target=}"
echo "macOS: the workspace and its tests type-check for ${apple[*]}"
cargo check --workspace --locked --quiet --target="$windows"
echo "Windows (MSVC): the workspace type-checks for $windows"
