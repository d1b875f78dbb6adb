#!/usr/bin/env bash
# Installs what building, running and testing Lookout needs on Debian 12 (bookworm).
#
#   bash packaging/setup.sh
#
# Idempotent: packages already installed are skipped, and `apt-get update` runs only when
# something is missing. Recommends are not installed (they would pull in avahi, polkit, cups
# helpers…); the few that matter are listed explicitly. Needs root (or sudo) only when it has something to install.
# The Rust toolchain is not installed here: install rustup from https://rustup.rs first.
set -euo pipefail

# Building: a C compiler and libc headers for the `ring` and `cc` build scripts. The GUI
# libraries are loaded at run time (winit and wayland-sys use dlopen), so no -dev packages
# for them. FFmpeg (HLS video, ffmpeg-next) and ALSA (sound, cpal) are linked, so their
# -dev packages are needed; bindgen needs libclang (and its headers) to read FFmpeg's.
build_packages=(
    gcc
    libc6-dev
    pkg-config
    ca-certificates
    libavcodec-dev
    libavformat-dev
    libavutil-dev
    libswscale-dev
    libswresample-dev
    libclang-dev
    libasound2-dev
)

# Running the desktop viewer (eframe/glow on X11 or Wayland, software GL via Mesa).
runtime_packages=(
    libgl1
    libegl1
    libgl1-mesa-dri
    libx11-6
    libx11-xcb1
    libxcursor1
    libxrandr2
    libxi6
    libxkbcommon0
    libxkbcommon-x11-0
    libwayland-client0
    libwayland-cursor0
    libwayland-egl1
    fonts-dejavu-core
)

# Real-peer tests and benchmarks: X servers, VNC servers and viewer, websockify, a headed
# browser, screenshots (ImageMagick `import`), pointer control (xdotool), and libjpeg-turbo's
# tjbench, the reference the preview decode benchmark compares with; the `ffmpeg` program
# makes the real HLS streams the HLS tests play; g++ builds libFuzzer's C++ sources (the
# libfuzzer-sys crate) for packaging/fuzz.sh. gnome-keyring, run under dbus-run-session
# (dbus-daemon) and waited on with dbus-send (dbus-bin), is the Secret Service the keyring
# test keeps a key in.
test_packages=(
    xvfb
    xauth
    xfonts-base
    x11-utils
    x11-xserver-utils
    x11vnc
    tigervnc-standalone-server
    tigervnc-viewer
    websockify
    chromium
    fonts-liberation
    imagemagick
    xdotool
    procps
    libjpeg-turbo-progs
    ffmpeg
    g++
    dbus-daemon
    dbus-bin
    gnome-keyring
)

# Packaging (packaging/build-deb.sh, and packaging/check-deb.sh, which the tests run):
# dpkg-shlibdeps and strip to build the .deb, lintian to inspect it, the desktop-entry and
# AppStream validators, and rsvg-convert for packaging/make-icons.sh.
packaging_packages=(
    dpkg-dev
    binutils
    lintian
    desktop-file-utils
    appstream
    librsvg2-bin
)

required_rust="1.95"

log() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

command -v dpkg-query >/dev/null && command -v apt-get >/dev/null \
    || die "this script supports Debian 12 (apt-get and dpkg-query not found)"

is_installed() {
    [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" == installed ]]
}

missing=()
for package in "${build_packages[@]}" "${runtime_packages[@]}" "${test_packages[@]}" \
    "${packaging_packages[@]}"; do
    is_installed "$package" || missing+=("$package")
done

if ((${#missing[@]} == 0)); then
    log "all Debian packages already installed"
else
    log "installing: ${missing[*]}"
    sudo=()
    if ((EUID != 0)); then
        command -v sudo >/dev/null || die "run as root (or install sudo) to install: ${missing[*]}"
        sudo=(sudo --non-interactive)
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt_options=(-y -q -o Dpkg::Lock::Timeout=120 -o Dpkg::Options::=--force-confold)
    "${sudo[@]}" apt-get "${apt_options[@]}" update
    "${sudo[@]}" apt-get "${apt_options[@]}" install --no-install-recommends "${missing[@]}" </dev/null
    for package in "${missing[@]}"; do
        is_installed "$package" || die "$package did not install"
    done
    log "installed: ${missing[*]}"
fi

# The Rust toolchain (rustup puts cargo in ~/.cargo/bin, which may not be on PATH yet).
if ! command -v cargo >/dev/null && [[ -x "${CARGO_HOME:-$HOME/.cargo}/bin/cargo" ]]; then
    die "cargo is installed in ${CARGO_HOME:-$HOME/.cargo}/bin but not on PATH; run: . \"${CARGO_HOME:-$HOME/.cargo}/env\""
fi
command -v cargo >/dev/null \
    || die "cargo not found: install Rust $required_rust with rustup (https://rustup.rs), then rerun"
cargo_version="$(cargo --version)"
version="$(awk '{print $2}' <<<"$cargo_version")"
if [[ "$(printf '%s\n%s\n' "$required_rust" "$version" | sort -V | head -n1)" != "$required_rust" ]]; then
    die "Lookout needs Rust $required_rust or newer, found $cargo_version; run: rustup update stable"
fi
log "using $cargo_version"
