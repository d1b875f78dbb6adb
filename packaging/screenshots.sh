#!/usr/bin/env bash
# Makes the README's screenshots from the program itself, under Xvfb, against a simulated
# fleet (`lookout serve --tasks 16 --seed 3`), into docs/screenshots/:
#
#   task-view.png    one task: its picture (Optexity's demo) beside its log (Waldiez)
#   prompt.png       a task waiting for an answer (a password, hidden as it is typed)
#   console-16.png   the console watching sixteen tasks, those that need you first
#   settings.png     the console's settings window (Ctrl+,) over four tasks
#
#   bash packaging/screenshots.sh        (LOOKOUT_BIN=PATH to use a binary already built)
#
# Needs Xvfb, xdotool and ImageMagick's import (packaging/setup.sh installs them). Everything it
# starts runs in a temporary HOME and is stopped when it ends; it writes nothing else.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bin=${LOOKOUT_BIN:-target/release/lookout}
if [[ -z "${LOOKOUT_BIN:-}" ]]; then
    cargo build --release --locked
fi
[[ -x "$bin" ]] || { echo "screenshots: $bin is not an executable" >&2; exit 1; }
bin=$(realpath "$bin")
out=docs/screenshots
mkdir -p "$out"

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# A display of our own, its number chosen by Xvfb.
Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp -noreset 3>"$work/display" \
    >"$work/xvfb.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [[ -s "$work/display" ]] && break; sleep 0.1; done
[[ -s "$work/display" ]] || { echo "screenshots: Xvfb did not start" >&2; exit 1; }
export DISPLAY=":$(head -1 "$work/display")"
export HOME="$work/home" XDG_CONFIG_HOME="$work/home/config" XDG_DATA_HOME="$work/home/data"
export XDG_RUNTIME_DIR="$work/run"
mkdir -p "$HOME" && mkdir -m 700 "$XDG_RUNTIME_DIR"
unset WAYLAND_DISPLAY LOOKOUT_PROFILE

"$bin" serve --addr 127.0.0.1:0 --tasks 16 --seed 3 >"$work/serve.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q '^lookout watch ' "$work/serve.out" && break; sleep 0.1; done
grep -q '^lookout watch ' "$work/serve.out" || { echo "screenshots: lookout serve did not start" >&2; exit 1; }
eval "$(grep '^export ' "$work/serve.out")"
read -r -a fleet <<<"$(sed -n 's/^lookout watch //p' "$work/serve.out")"

# Runs lookout with ARGS for SECS seconds, then shoots the screen into NAME.png.
# shoot NAME SECONDS ARGS…: runs lookout ARGS, waits, runs $before_shot (if set) and
# captures the screen.
before_shot=
shoot() {
    local name=$1 secs=$2
    shift 2
    "$bin" "$@" >"$work/$name.log" 2>&1 &
    local pid=$!
    pids+=("$pid")
    sleep "$secs"
    kill -0 "$pid" 2>/dev/null || { echo "screenshots: lookout $* exited:" >&2; cat "$work/$name.log" >&2; exit 1; }
    if [[ -n "$before_shot" ]]; then
        $before_shot
        sleep 2
    fi
    /usr/bin/import -window root "$out/$name.png"
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    echo "screenshots: $out/$name.png"
}

shoot task-view 10 view optexity:demo --log waldiez:demo
shoot prompt 8 view optexity:human --log waldiez:human
shoot console-16 30 watch "${fleet[@]}"

# The settings window: the window focused (there is no window manager), then Ctrl+,.
open_settings() {
    local window
    window=$(xdotool search --name 'Lookout' | head -1)
    xdotool windowfocus "$window"
    sleep 0.5
    xdotool key ctrl+comma
}
before_shot=open_settings
shoot settings 15 watch "${fleet[@]:0:4}"
