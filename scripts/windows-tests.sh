#!/usr/bin/env bash
# The Windows build, made and tested on Linux (scripts/test.sh runs it; README
# "Windows"): every crate of the workspace is built for x86_64-pc-windows-gnu with
# Debian's mingw-w64 (the desktop app, the server and the tools included), then the
# tests of the client core, the password policy and the wire types are built for
# Windows and run under Wine, in a Wine prefix of this script's own, made anew each run;
# last, the installer (scripts/windows-installer.sh) is built from the dev build,
# installed silently with IT's server, checked and uninstalled in that prefix:
#
#   scripts/windows-tests.sh                 # everything
#   scripts/windows-tests.sh keychain        # a test-name filter, as for cargo test (no installer)
#
# The client's integration tests start their server in-process (latchkey-testkit), so
# under Wine the server runs inside the Windows test binary too, on 127.0.0.1, over
# SQLite in the Windows temporary folder, and over the Linux PostgreSQL when
# LATCHKEY_TEST_POSTGRES_URL names one (scripts/test.sh starts it). The keychain tests
# use Wine's Credential Manager (the `Cred*` API), never keyring's mock
# (LATCHKEY_TEST_REQUIRE_KEYRING=1), and read it back through another process,
# credlist.exe.
#
# The proxy tests (crates/client/tests/proxy.rs) go through a Linux tinyproxy on
# loopback that Windows knows only from the prefix's registry: Internet Settings
# ProxyEnable/ProxyServer/ProxyOverride, set while that one test binary runs.
#
# IT's managed settings: the client's tests write the policy keys
# (HKLM/HKCU\SOFTWARE\Policies\Latchkey) through the registry API and read them back
# through the app's code.
#
# Debian 12's Wine (8.0) lacks bcryptprimitives.dll, whose ProcessPrng Rust's standard
# library needs before main: the prefix gets a small one of our own
# (scripts/windows/bcryptprimitives.c). Needs mingw-w64, wine and the Rust target
# x86_64-pc-windows-gnu, and nsis for the installer (scripts/setup.sh installs them); a
# missing one fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
target=x86_64-pc-windows-gnu
work=$root/target/wine
# No debug info for Windows: the binaries link faster and take a fifth of the disk.
export CARGO_PROFILE_DEV_DEBUG=0

for tool in x86_64-w64-mingw32-gcc wine wineboot wineserver winepath makensis tinyproxy; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: run scripts/setup.sh"; exit 1; }
done
rustup target list --installed | grep -qx "$target" ||
  { echo "the Rust target $target is missing: run scripts/setup.sh"; exit 1; }

# The helpers, test-only: the ProcessPrng DLL and the Credential Manager reader.
mkdir -p "$work/bin"
x86_64-w64-mingw32-gcc -shared -O2 -s -o "$work/bin/bcryptprimitives.dll" \
  scripts/windows/bcryptprimitives.c -ladvapi32
x86_64-w64-mingw32-gcc -municode -O2 -s -o "$work/bin/credlist.exe" \
  scripts/windows/credlist.c -ladvapi32

# Every crate, for Windows: libraries and programs (the desktop app embeds ui/dist).
cargo build --locked --quiet --target "$target" --workspace

# The tests to run under Wine, each with the folder of its package (cargo test runs a
# test binary there).
tests=()
while IFS=$'\t' read -r exe dir; do
  tests+=("$exe"$'\t'"$dir")
done < <(
  cargo test --locked --quiet --target "$target" --no-run --message-format=json \
    -p latchkey-client -p latchkey-policy -p latchkey-proto |
    grep '"test":true' |
    sed -n 's/.*"manifest_path":"\([^"]*\)\/Cargo.toml".*"executable":"\([^"]*\)".*/\2\t\1/p'
)
((${#tests[@]} >= 5)) || { echo "expected at least 5 test binaries, found ${#tests[@]}"; exit 1; }

# A fresh prefix: no Mono or Gecko (nothing here needs .NET or a browser engine), no
# display (the tests have no window).
export WINEPREFIX=$work/prefix WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
unset DISPLAY WAYLAND_DISPLAY
rm -rf "$WINEPREFIX"
wineboot --init >/dev/null 2>&1
cp "$work/bin/bcryptprimitives.dll" "$WINEPREFIX/drive_c/windows/system32/"
trap 'wineserver -k 2>/dev/null || true' EXIT

export LATCHKEY_TEST_REQUIRE_KEYRING=1
LATCHKEY_TEST_CREDLIST=$(winepath -w "$work/bin/credlist.exe")
export LATCHKEY_TEST_CREDLIST

# The Windows system proxy, for the proxy tests only: a tinyproxy on a free port of
# 127.0.0.1 (Linux), named in the prefix's Internet Settings; `<-loopback>` is Windows'
# own way to send this computer's addresses through the proxy too (the test's server
# is on 127.0.0.1). No proxy variable reaches the test: the registry is under test.
internet='HKCU\Software\Microsoft\Windows\CurrentVersion\Internet Settings'
with_system_proxy() {
  local port pid log=$work/proxy/tinyproxy.log code=0
  mkdir -p "$work/proxy"
  rm -f "$log"
  port=$((20000 + RANDOM % 20000))
  while (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
  printf 'Port %s\nListen 127.0.0.1\nTimeout 30\nLogFile "%s"\nLogLevel Info\nAllow 127.0.0.1\n' \
    "$port" "$log" >"$work/proxy/tinyproxy.conf"
  tinyproxy -d -c "$work/proxy/tinyproxy.conf" >/dev/null 2>&1 &
  pid=$!
  local tries=0
  until (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    ((++tries < 100)) || { echo "tinyproxy did not start on port $port"; return 1; }
    sleep 0.1
  done
  wine reg add "$internet" /v ProxyEnable /t REG_DWORD /d 1 /f >/dev/null
  wine reg add "$internet" /v ProxyServer /t REG_SZ /d "127.0.0.1:$port" /f >/dev/null
  wine reg add "$internet" /v ProxyOverride /t REG_SZ /d '<-loopback>' /f >/dev/null
  LATCHKEY_TEST_SYSTEM_PROXY_LOG=$(winepath -w "$log") env -u HTTP_PROXY -u http_proxy \
    -u HTTPS_PROXY -u https_proxy -u ALL_PROXY -u all_proxy -u NO_PROXY -u no_proxy \
    "$@" || code=$?
  wine reg add "$internet" /v ProxyEnable /t REG_DWORD /d 0 /f >/dev/null
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  return "$code"
}

status=0
for t in "${tests[@]}"; do
  exe=${t%%$'\t'*}
  dir=${t#*$'\t'}
  echo "under Wine: ${exe#"$root"/}"
  case $(basename "$exe") in
    proxy-*) (cd "$dir" && with_system_proxy wine "$exe" "$@") || status=1 ;;
    *) (cd "$dir" && wine "$exe" "$@") || status=1 ;;
  esac
done
(($#)) && exit "$status" # a filter names tests, not the installer

# The installer (scripts/windows-installer.sh), from the dev build: installed silently
# with IT's server into this prefix, per user, then uninstalled.
installer=$(scripts/windows-installer.sh dev)
echo "under Wine: $installer"
passed=0
failed=0
check() {
  local what=$1
  shift
  if "$@" >/dev/null 2>&1; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "installer: FAILED: $what"
  fi
}
win_dir() { winepath -u "$(wine cmd /c echo "%$1%" | tr -d '\r')"; }
app=$(win_dir LOCALAPPDATA)/Programs/Latchkey
menu=$(win_dir APPDATA)/Microsoft/Windows/Start\ Menu/Programs
version=$(cargo pkgid -p latchkey)
version=${version##*@}
scheme='HKCU\Software\Classes\latchkey\shell\open\command'
entry='HKCU\Software\Microsoft\Windows\CurrentVersion\Uninstall\Latchkey'
install() { wine "$installer" /S "$@"; }
names_server() { tr -d '\r' <"$app/latchkey.toml" | grep -qxF "server = \"$1\""; }
opens_links() { wine reg query "$scheme" | grep -qF "$app_win\latchkey.exe\" \"%1\""; }
listed() { wine reg query "$entry" /v DisplayVersion | grep -qF "$version"; }
check "a silent install with /SERVER= succeeds" install /SERVER=https://auth.corp.cn/sso
app_win=$(winepath -w "$app")
check "the app is in %LOCALAPPDATA%\\Programs\\Latchkey" test -f "$app/latchkey.exe"
check "latchkey.toml names IT's server" names_server https://auth.corp.cn/sso
check "latchkey:// opens the app" opens_links
check "Installed apps lists this version, per user" listed
check "the Start menu has it" test -f "$menu/Latchkey.lnk"
bad_status=0
install '/SERVER="https://a b"' || bad_status=$?
check "an address that would break latchkey.toml is refused (exit status 2)" test "$bad_status" -eq 2
check "and latchkey.toml is left as it was" names_server https://auth.corp.cn/sso
check "a silent reinstall without /SERVER= succeeds" install
check "and keeps IT's server" names_server https://auth.corp.cn/sso
wine "$app/uninstall.exe" /S || true
wineserver -w # the uninstaller runs from a copy of itself
check "the uninstaller removes the app" test ! -e "$app"
check "and the scheme" bash -c "! wine reg query '$scheme'"
echo "installer: $passed passed, $failed failed"
((failed == 0)) || status=1
exit "$status"
