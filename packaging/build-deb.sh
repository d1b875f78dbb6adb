#!/usr/bin/env bash
# Builds the Debian package: lookout_VERSION_amd64.deb in target/debian/ (or --out DIR).
#
#   bash packaging/build-deb.sh                    # cargo build --release, then package it
#   bash packaging/build-deb.sh --binary PATH      # package a binary already built
#
# The package holds the binary, the desktop entry, the icon at the hicolor sizes and as
# SVG, the AppStream metainfo, the manual pages and the bash, zsh and fish completions
# (both made by the binary itself: `lookout man`, `lookout completions`). Its dependencies
# are the libraries the binary links (dpkg-shlibdeps) and those the window loads at run
# time, which no linker sees: EGL/GL and Mesa's software renderer, xkbcommon, the X11 and
# Wayland client libraries. Needs dpkg-dev (dpkg-shlibdeps) and binutils (strip).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

APP_ID=dev.lookout.Lookout
binary=""
out=target/debian
while (($#)); do
    case "$1" in
        --binary) binary="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        *) echo "build-deb: unknown argument $1 (--binary PATH, --out DIR)" >&2; exit 2 ;;
    esac
done
if [[ -z "$binary" ]]; then
    cargo build --release --locked
    binary=target/release/lookout
fi
[[ -x "$binary" ]] || { echo "build-deb: $binary is not an executable" >&2; exit 1; }
for tool in dpkg-shlibdeps dpkg-deb strip gzip; do
    command -v "$tool" >/dev/null || { echo "build-deb: $tool not found (bash packaging/setup.sh)" >&2; exit 1; }
done

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
arch=$(dpkg --print-architecture)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root="$work/root"
share="$root/usr/share"

install -D -m 0755 "$binary" "$root/usr/bin/lookout"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$root/usr/bin/lookout"
install -D -m 0644 "assets/$APP_ID.desktop" "$share/applications/$APP_ID.desktop"
install -D -m 0644 "assets/$APP_ID.metainfo.xml" "$share/metainfo/$APP_ID.metainfo.xml"
install -D -m 0644 assets/lookout.svg "$share/icons/hicolor/scalable/apps/$APP_ID.svg"
for png in assets/icons/lookout-*.png; do
    size=${png##*-}
    size=${size%.png}
    install -D -m 0644 "$png" "$share/icons/hicolor/${size}x${size}/apps/$APP_ID.png"
done

# Manual pages and completions, from the binary's own clap definitions.
"$root/usr/bin/lookout" man --out "$share/man/man1"
gzip -9n "$share"/man/man1/*.1
install -d "$share/bash-completion/completions" "$share/zsh/vendor-completions" \
    "$share/fish/vendor_completions.d"
"$root/usr/bin/lookout" completions bash > "$share/bash-completion/completions/lookout"
"$root/usr/bin/lookout" completions zsh > "$share/zsh/vendor-completions/_lookout"
"$root/usr/bin/lookout" completions fish > "$share/fish/vendor_completions.d/lookout.fish"

# Documentation: the copyright file (machine-readable) and the changelog Debian wants.
doc="$share/doc/lookout"
install -d "$doc"
cat > "$doc/copyright" <<COPYRIGHT
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: lookout
Source: https://github.com/lookout-viewer/lookout

Files: *
Copyright: 2026 The Lookout authors
License: MIT or Apache-2.0

License: MIT
 Permission is hereby granted, free of charge, to any person obtaining a copy of this
 software and associated documentation files (the "Software"), to deal in the Software
 without restriction, including without limitation the rights to use, copy, modify,
 merge, publish, distribute, sublicense, and/or sell copies of the Software, and to permit
 persons to whom the Software is furnished to do so, subject to the following conditions:
 .
 The above copyright notice and this permission notice shall be included in all copies or
 substantial portions of the Software.
 .
 THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED,
 INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR
 PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE
 FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR
 OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER
 DEALINGS IN THE SOFTWARE.

License: Apache-2.0
 On Debian systems, the full text of the Apache License, Version 2.0 can be found in
 /usr/share/common-licenses/Apache-2.0.
COPYRIGHT
date_rfc=$(date -R -d "@${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}")
cat > "$work/changelog" <<CHANGELOG
lookout ($version) unstable; urgency=medium

  * Release $version.

 -- The Lookout authors <lookout@lookout.dev>  $date_rfc
CHANGELOG
gzip -9nc "$work/changelog" > "$doc/changelog.gz"
chmod 0644 "$doc/changelog.gz" "$doc/copyright"

# Dependencies: what the binary links, plus what the window loads at run time.
mkdir -p "$work/debian"
printf 'Source: lookout\n\nPackage: lookout\nArchitecture: any\n' > "$work/debian/control"
shlibdeps=$(cd "$work" && dpkg-shlibdeps -O -e"root/usr/bin/lookout" 2>"$work/shlibdeps.err") \
    || { echo "build-deb: dpkg-shlibdeps failed:" >&2; cat "$work/shlibdeps.err" >&2; exit 1; }
linked=$(sed -n 's/^shlibs:Depends=//p' <<<"$shlibdeps")
[[ -n "$linked" ]] || { echo "build-deb: dpkg-shlibdeps found no libraries" >&2; exit 1; }
loaded="libegl1, libgl1, libgl1-mesa-dri, libxkbcommon0, libxkbcommon-x11-0, libx11-6, libx11-xcb1, libxcursor1, libxrandr2, libxi6, libwayland-client0, libwayland-cursor0, libwayland-egl1"

mkdir -p "$root/DEBIAN"
installed_kib=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<CONTROL
Package: lookout
Version: $version
Architecture: $arch
Maintainer: The Lookout authors <lookout@lookout.dev>
Installed-Size: $installed_kib
Depends: $linked, $loaded
Recommends: ffmpeg
Section: net
Priority: optional
Homepage: https://github.com/lookout-viewer/lookout
Description: watch, steer, record and replay AI agents' tasks
 Lookout watches the browser and desktop tasks that AI agents run on agent
 platforms (Optexity, AgentStation, Chaser, Waldiez Runner) and any VNC server:
 their live picture, their log and the questions they ask, side by side. A
 console shows many tasks at once with the one that needs an answer first; the
 operator can take control to solve a captcha, answer from the window or the
 command line, and replay every recorded session offline.
CONTROL
(cd "$root" && find usr -type f -print0 | sort -z | xargs -0 md5sum) > "$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"
find "$root" -type d -exec chmod 0755 {} +

mkdir -p "$out"
deb="$out/lookout_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "build-deb: $deb"
