#!/usr/bin/env bash
# Makes the icon's PNG sizes from assets/lookout.svg (rsvg-convert, from librsvg2-bin,
# which packaging/setup.sh installs). The PNGs are kept in the repository: run this after
# changing the SVG and commit what it writes.
#
#   bash packaging/make-icons.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v rsvg-convert >/dev/null || { echo "make-icons: rsvg-convert not found (apt install librsvg2-bin)" >&2; exit 1; }
mkdir -p assets/icons
for size in 16 24 32 48 64 128 256 512; do
    rsvg-convert --width "$size" --height "$size" assets/lookout.svg -o "assets/icons/lookout-$size.png"
done
echo "make-icons: assets/icons/lookout-{16,24,32,48,64,128,256,512}.png"
