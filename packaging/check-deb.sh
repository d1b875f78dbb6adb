#!/usr/bin/env bash
# Builds the Debian package from a binary already built, inspects it, installs it on this
# machine and checks what it installed (packaging/test.sh runs it after the tests, with the
# debug binary they built; issue 20):
#
#   bash packaging/check-deb.sh [BINARY]     (default target/debug/lookout)
#
# - the package holds the binary, desktop entry, metainfo, icons, manual pages and
#   completions, and depends on the libraries the window loads at run time;
# - lintian reports no error and no warning;
# - desktop-file-validate and appstreamcli validate pass on the files it installed;
# - `dpkg -i` installs it; the installed `lookout --version` and `lookout snapshot` of a
#   `lookout serve` simulator work; then the package is purged again.
#
# Needs root for dpkg -i. A lookout package installed before is left alone: the install
# check is then skipped, or fails under CI.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

binary=${1:-target/debug/lookout}
APP_ID=dev.lookout.Lookout
fail() { echo "check-deb: $*" >&2; exit 1; }
for tool in lintian desktop-file-validate appstreamcli dpkg-deb; do
    command -v "$tool" >/dev/null || fail "$tool not found (bash packaging/setup.sh)"
done
work=$(mktemp -d)
serve_pid=""
cleanup() {
    if [[ -n "$serve_pid" ]]; then
        kill "$serve_pid" 2>/dev/null || true
        wait "$serve_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

bash packaging/build-deb.sh --binary "$binary" --out "$work/out"
deb=$(echo "$work"/out/lookout_*.deb)
[[ -f "$deb" ]] || fail "no package was built"

echo "check-deb: contents"
contents=$(dpkg-deb -c "$deb" | awk '{print $6}')
for path in ./usr/bin/lookout \
    "./usr/share/applications/$APP_ID.desktop" \
    "./usr/share/metainfo/$APP_ID.metainfo.xml" \
    "./usr/share/icons/hicolor/scalable/apps/$APP_ID.svg" \
    "./usr/share/icons/hicolor/48x48/apps/$APP_ID.png" \
    "./usr/share/icons/hicolor/256x256/apps/$APP_ID.png" \
    ./usr/share/man/man1/lookout.1.gz \
    ./usr/share/man/man1/lookout-watch.1.gz \
    ./usr/share/bash-completion/completions/lookout \
    ./usr/share/zsh/vendor-completions/_lookout \
    ./usr/share/fish/vendor_completions.d/lookout.fish \
    ./usr/share/doc/lookout/copyright; do
    grep -qxF "$path" <<<"$contents" || fail "the package lacks $path"
done
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libc6 libavcodec59 libegl1 libgl1 libgl1-mesa-dri libxkbcommon0 libxkbcommon-x11-0 \
    libx11-6 libwayland-client0 libwayland-egl1; do
    # A whole name in the comma-separated list, with or without a version.
    grep -qE "(^|, )$lib( \(|,|$)" <<<"$depends" || fail "the package does not depend on $lib: $depends"
done

echo "check-deb: lintian"
lintian --fail-on error,warning "$deb" 2>&1 | grep -v "running with root privileges" || true
lintian --fail-on error,warning "$deb" >/dev/null 2>&1 || fail "lintian reports errors or warnings (above)"

if dpkg-query -W -f='${Status}' lookout 2>/dev/null | grep -q "ok installed"; then
    [[ "${CI:-}" == true ]] && fail "a lookout package is already installed: the install check would replace it"
    echo "check-deb: a lookout package is already installed; the install check is skipped"
    exit 0
fi
if [[ $(id -u) != 0 ]]; then
    [[ "${CI:-}" == true ]] && fail "installing the package needs root"
    echo "check-deb: not root; the install check is skipped"
    exit 0
fi
if owner=$(dpkg -S /usr/bin/lookout 2>/dev/null) || [[ -e /usr/bin/lookout ]]; then
    [[ "${CI:-}" == true ]] && fail "/usr/bin/lookout exists (${owner:-not from a package})"
    echo "check-deb: /usr/bin/lookout exists already; the install check is skipped"
    exit 0
fi

echo "check-deb: dpkg -i"
purge() { dpkg --purge lookout >/dev/null 2>&1 || true; cleanup; }
trap purge EXIT
dpkg -i "$deb" >/dev/null || fail "dpkg -i failed"
desktop-file-validate "/usr/share/applications/$APP_ID.desktop" || fail "desktop-file-validate"
appstreamcli validate --no-net "/usr/share/metainfo/$APP_ID.metainfo.xml" \
    || fail "appstreamcli validate"
man -w lookout-watch >/dev/null 2>&1 || ! command -v man >/dev/null \
    || fail "man does not find lookout-watch(1)"

version=$(/usr/bin/lookout --version)
want="lookout $(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)"
[[ "$version" == "$want" ]] || fail "the installed lookout --version says '$version', not '$want'"

# The installed binary against the simulator it serves itself.
/usr/bin/lookout serve --addr 127.0.0.1:0 > "$work/serve.out" 2>&1 &
serve_pid=$!
base=""
for _ in $(seq 100); do
    base=$(sed -n 's/^  base URL : \(http:\/\/127\.0\.0\.1:[0-9]*\)$/\1/p' "$work/serve.out")
    [[ -n "$base" ]] && break
    kill -0 "$serve_pid" 2>/dev/null || fail "lookout serve exited: $(cat "$work/serve.out")"
    sleep 0.1
done
[[ -n "$base" ]] || fail "lookout serve printed no base URL"
OPTEXITY_BASE_URL="$base" OPTEXITY_API_KEY=sim-optexity-key \
    /usr/bin/lookout snapshot optexity:demo -o "$work/demo.png" --timeout 60 \
    || fail "the installed lookout snapshot failed"
[[ $(head -c 8 "$work/demo.png" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] \
    || fail "the snapshot is not a PNG"
echo "check-deb: installed, validated and run: $(basename "$deb") ($(du -h "$deb" | cut -f1))"
