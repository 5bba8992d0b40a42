#!/usr/bin/env bash
# Runs its arguments with a real Secret Service: a private D-Bus session bus with
# gnome-keyring-daemon's secrets component, its login keyring unlocked. Used by
# scripts/test.sh so that the client's keychain tests talk to the same kind of store
# the desktop uses on Linux.
#
#   scripts/with-keyring.sh cargo test -p latchkey-client
#
# gnome-keyring-daemon --unlock reads the keyring password from stdin; it must get a
# line (an empty stdin leaves the keyring locked and every write fails).
set -euo pipefail

if [ "${1:-}" != "--inside" ]; then
  for tool in dbus-run-session dbus-send gnome-keyring-daemon; do
    command -v "$tool" >/dev/null || {
      echo "$tool is missing: apt-get install gnome-keyring dbus-x11 libsecret-tools" >&2
      exit 1
    }
  done
  exec dbus-run-session -- "$0" --inside "$@"
fi
shift

# A keyring folder of this run only, so that no earlier run's state matters.
XDG_DATA_HOME=$(mktemp -d)
export XDG_DATA_HOME
trap 'rm -rf "$XDG_DATA_HOME"' EXIT
eval "$(printf 'latchkey-test\n' | gnome-keyring-daemon --unlock --components=secrets)"
export GNOME_KEYRING_CONTROL
# Wait until the daemon owns its name on the bus. Asking the service itself instead
# would make D-Bus start a second, locked daemon by activation if this one is late.
for _ in $(seq 1 100); do
  if dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
      org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null |
      grep -q "boolean true"; then
    break
  fi
  sleep 0.1
done
"$@"
