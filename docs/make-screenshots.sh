#!/usr/bin/env bash
# Screenshots for the README: starts the GUI the way ./run.sh does, in a real X server (Xvfb), and
# captures the screen with ImageMagick. Run after a build: docs/make-screenshots.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/build/release/bin
out=$root/docs/screenshots
mkdir -p "$out"
workspace=$(mktemp -d)
trap 'rm -rf "$workspace"' EXIT

shoot() { # shoot NAME [tunebench args...]
  local name=$1; shift
  xvfb-run -a -s "-screen 0 1280x800x24" bash -c '
    "$0" --workspace "$1" "${@:3}" & app=$!
    sleep 4
    # The main window alone: its geometry, cut out of the root window.
    geo=$(xwininfo -root -children | awk "/[(]\"tunebench\"/ {print \$1; exit}" |
          xargs -r xwininfo -id | awk "/Absolute upper-left X/{x=\$NF} /Absolute upper-left Y/{y=\$NF}
            /Width:/{w=\$NF} /Height:/{h=\$NF} END{if (w) print w \"x\" h \"+\" x \"+\" y}")
    import -window root ${geo:+-crop "$geo"} +repage "$2"
    kill $app; wait $app 2>/dev/null || true' \
    "$bin/tunebench" "$workspace/default" "$out/$name.png" "$@"
  echo "docs/screenshots/$name.png"
}

# Fresh settings, so the window opens as on a first start.
export XDG_CONFIG_HOME=$workspace/config
shoot main-window
