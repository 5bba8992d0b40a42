#!/usr/bin/env bash
# Builds what IT installs the server from (issue 22), from one static binary:
#   target/packages/latchkey-server_<version>_amd64.deb   the .deb (binary, systemd unit,
#                                                          /etc/latchkey/server.toml, …)
#   localhost/latchkey-server:<version>                    the container image (FROM scratch)
#
#   scripts/server-packages.sh [--profile release|dev] [--tag IMAGE] [--no-image] [--no-deb]
#
# The binary is built for x86_64-unknown-linux-musl with Debian's musl-gcc (for the C of
# SQLite, ring and mimalloc) and linked statically: it runs on any x86_64 Linux, the
# container needs nothing beside it, and the .deb depends on nothing. `--profile dev`
# (what CI tests, to save a release build's time) makes the same packages from an
# unoptimised binary. The .deb is checked (its files, `systemd-analyze verify` of its
# unit); the image is built with buildah, in Docker format (for HEALTHCHECK).
set -euo pipefail
cd "$(dirname "$0")/.."

profile=release
image=yes
deb=yes
tag=""
while (($#)); do
  case "$1" in
    --profile) profile=$2; shift 2 ;;
    --tag) tag=$2; shift 2 ;;
    --no-image) image=no; shift ;;
    --no-deb) deb=no; shift ;;
    *) echo "usage: $0 [--profile release|dev] [--tag IMAGE] [--no-image] [--no-deb]" >&2; exit 2 ;;
  esac
done

target=x86_64-unknown-linux-musl
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
tag=${tag:-localhost/latchkey-server:$version}
out=target/packages
mkdir -p "$out"

rustup target list --installed | grep -qx "$target" || rustup target add "$target"
command -v musl-gcc >/dev/null || { echo "musl-gcc is missing (Debian package musl-tools)"; exit 1; }
export CC_x86_64_unknown_linux_musl=musl-gcc
cargo build --locked --quiet --profile "$profile" -p latchkey-server --target "$target"
dir=$profile
[ "$profile" = dev ] && dir=debug
bin=${CARGO_TARGET_DIR:-target}/$target/$dir/latchkey-server
# Static, or it does not run FROM scratch.
if file "$bin" | grep -q "dynamically linked"; then
  echo "$bin is not static"; exit 1
fi
echo "binary: $bin ($(du -h "$bin" | cut -f1))"

if [ "$deb" = yes ]; then
  root=$(mktemp -d)
  trap 'rm -rf "$root"' EXIT
  install -D -m 0755 "$bin" "$root/usr/bin/latchkey-server"
  [ "$profile" = dev ] || strip "$root/usr/bin/latchkey-server"
  install -D -m 0644 deploy/latchkey-server.service "$root/lib/systemd/system/latchkey-server.service"
  install -D -m 0644 deploy/sysusers.conf "$root/usr/lib/sysusers.d/latchkey-server.conf"
  install -D -m 0644 deploy/server.toml "$root/etc/latchkey/server.toml"
  install -D -m 0640 deploy/server.env "$root/etc/latchkey/server.env"
  install -D -m 0644 docs/operations.md "$root/usr/share/doc/latchkey-server/operations.md"
  printf 'Latchkey server\nLicense: Apache-2.0\n' >"$root/usr/share/doc/latchkey-server/copyright"
  mkdir -p "$root/DEBIAN"
  size=$(du -sk "$root" | cut -f1)
  cat >"$root/DEBIAN/control" <<EOF
Package: latchkey-server
Version: $version
Architecture: amd64
Maintainer: Latchkey <it@latchkey.invalid>
Installed-Size: $size
Section: net
Priority: optional
Recommends: systemd
Description: Latchkey sign-in server
 The reference auth server of Latchkey, the desktop sign-in client for office
 software: sign-in, password reset, two-factor authentication, sessions and an
 OpenID Connect provider, over SQLite or PostgreSQL. One static binary, a
 hardened systemd unit (latchkey-server.service, user latchkey, state in
 /var/lib/latchkey) and /etc/latchkey/server.toml.
EOF
  printf '/etc/latchkey/server.toml\n/etc/latchkey/server.env\n' >"$root/DEBIAN/conffiles"
  cat >"$root/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
  if command -v systemd-sysusers >/dev/null 2>&1; then
    systemd-sysusers latchkey-server.conf
  elif ! getent passwd latchkey >/dev/null; then
    adduser --system --group --home /var/lib/latchkey --no-create-home latchkey
  fi
  chown root:latchkey /etc/latchkey/server.env
  chmod 0640 /etc/latchkey/server.env
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    systemctl enable latchkey-server.service >/dev/null
    echo "latchkey-server: edit /etc/latchkey/server.toml and server.env, then: systemctl start latchkey-server"
  fi
fi
EOF
  cat >"$root/DEBIAN/prerm" <<'EOF'
#!/bin/sh
set -e
if [ -d /run/systemd/system ] && [ "$1" = remove ]; then
  systemctl stop latchkey-server.service || true
  systemctl disable latchkey-server.service >/dev/null || true
fi
EOF
  cat >"$root/DEBIAN/postrm" <<'EOF'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload || true
fi
# The database in /var/lib/latchkey is kept, also on purge: remove it by hand.
EOF
  chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm" "$root/DEBIAN/postrm"
  package="$out/latchkey-server_${version}_amd64.deb"
  dpkg-deb --root-owner-group --build "$root" "$package" >/dev/null
  # The package holds what the unit needs, and the unit is valid where it lands.
  contents=$(dpkg-deb --contents "$package")
  for f in ./usr/bin/latchkey-server ./lib/systemd/system/latchkey-server.service \
    ./etc/latchkey/server.toml ./usr/lib/sysusers.d/latchkey-server.conf; do
    grep -q " $f\$" <<<"$contents" || { echo "$package lacks $f"; exit 1; }
  done
  check=$(mktemp -d)
  dpkg-deb --extract "$package" "$check"
  if command -v systemd-analyze >/dev/null; then
    # The unit as installed, its ExecStart pointed at the extracted binary.
    sed "s|/usr/bin/latchkey-server|$check/usr/bin/latchkey-server|" \
      "$check/lib/systemd/system/latchkey-server.service" >"$check/latchkey-server.service"
    systemd-analyze verify "$check/latchkey-server.service"
    systemd-analyze security --offline=true "$check/latchkey-server.service" 2>/dev/null |
      grep "Overall exposure" || true
  fi
  "$check/usr/bin/latchkey-server" --config "$check/etc/latchkey/server.toml" config check >/dev/null
  rm -rf "$check"
  echo "package: $package ($(du -h "$package" | cut -f1))"
fi

if [ "$image" = yes ]; then
  command -v buildah >/dev/null || { echo "buildah is missing (Debian package buildah)"; exit 1; }
  context=$(mktemp -d)
  cp "$bin" "$context/latchkey-server"
  [ "$profile" = dev ] || strip "$context/latchkey-server"
  mkdir "$context/data"
  cp deploy/Containerfile "$context/Containerfile"
  buildah bud --quiet --format docker --layers=false -t "$tag" -f "$context/Containerfile" "$context" >/dev/null
  rm -rf "$context"
  echo "image: $tag ($(buildah images --format '{{.Size}}' "$tag" | head -n 1))"
fi
