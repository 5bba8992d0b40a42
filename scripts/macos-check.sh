#!/usr/bin/env bash
# Type-checks every crate of the workspace, with its tests, for macOS on Apple silicon
# and on Intel (aarch64-apple-darwin, x86_64-apple-darwin), here on Linux, without
# Apple's SDK: `cargo check`, so the macOS code of Latchkey and of its dependencies
# (Tauri's and wry's AppKit/WebKit bindings, keyring's Keychain store, …) is compiled
# as far as type-checking goes, and nothing is linked. What it cannot show: that the
# app links, starts and draws on a Mac (the release workflow builds it there).
#
# The C sources that some build scripts compile (ring, libsqlite3-sys, mimalloc,
# objc2's exception helper) include the SDK's headers; scripts/macos/cc stands in for
# the C compiler and makes empty objects with Debian's clang (package clang), archived
# by llvm-ar (package llvm). docs/deploying.md, "macOS", says the same.
set -euo pipefail
cd "$(dirname "$0")/.."
targets=(aarch64-apple-darwin x86_64-apple-darwin)
for t in "${targets[@]}"; do
  rustup target list --installed | grep -qx "$t" || rustup target add "$t"
  # cc-rs reads CC_<target> and AR_<target>, with the target's dashes as underscores.
  export "CC_${t//-/_}=$PWD/scripts/macos/cc" "AR_${t//-/_}=llvm-ar"
done
command -v clang >/dev/null && command -v llvm-ar >/dev/null ||
  { echo "clang and llvm-ar are missing: run scripts/setup.sh"; exit 1; }
# tauri::generate_context! embeds ui/dist (scripts/setup.sh builds it).
[ -f ui/dist/index.html ] || { echo "ui/dist is missing: run scripts/setup.sh"; exit 1; }
export CARGO_PROFILE_DEV_DEBUG=0
cargo check --workspace --all-targets --locked --quiet "${targets[@]/#/--target=}"
echo "macOS: the workspace type-checks for ${targets[*]}"
