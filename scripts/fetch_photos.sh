#!/usr/bin/env bash
# Fetch real photos shipped in Debian packages into ${NPP_CACHE:-~/.cache/npp}/photos/<package>/
# (NOTES: darknet's data photos for labelled tests and evaluation; mate-backgrounds' high-resolution
# nature photos and opencv-doc's example photos for training). Usage: bash scripts/fetch_photos.sh PACKAGE...
# Packages known here: darknet (usr/share/darknet/data), mate-backgrounds (usr/share/backgrounds/mate),
# opencv-doc (the 28 everyday photos listed below from its examples; the rest is drawings, renders,
# synthetic test patterns and greyscale calibration shots).
set -euo pipefail

cache="${NPP_CACHE:-$HOME/.cache/npp}"

subdir_of() {
  case "$1" in
    darknet) echo usr/share/darknet/data ;;
    mate-backgrounds) echo usr/share/backgrounds/mate ;;
    opencv-doc) echo usr/share/doc/opencv-doc/examples ;;
    *) echo "npp: no photo source known for package $1" >&2; return 1 ;;
  esac
}

OPENCV_PHOTOS=(
  data/aero1.jpg data/aero3.jpg data/aloeL.jpg data/apple.jpg data/baboon.jpg data/board.jpg
  data/building.jpg data/butterfly.jpg data/chicky_512.png data/ela_original.jpg data/fruits.jpg
  data/graf1.png data/home.jpg data/leuvenA.jpg data/licenseplate_motion.jpg data/messi5.jpg
  data/orange.jpg data/rubberwhale1.png data/smarties.png data/squirrel_cls.jpg data/stuff.jpg
  text/scenetext01.jpg text/scenetext02.jpg text/scenetext03.jpg text/scenetext04.jpg
  text/scenetext05.jpg text/scenetext06.jpg alphamat/input_images/plant.jpg
)

for pkg in "$@"; do
  dest="$cache/photos/$pkg"
  [ -f "$dest/.complete" ] && continue
  sub=$(subdir_of "$pkg")
  tmp=$(mktemp -d)
  echo "npp: fetching photos from Debian package $pkg" >&2
  if ! (cd "$tmp" && apt-get download -qq "$pkg" >/dev/null 2>&1); then
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    (cd "$tmp" && apt-get download -qq "$pkg" >/dev/null)
  fi
  dpkg -x "$tmp"/*.deb "$tmp/x"
  rm -rf "$dest.part"
  mkdir -p "$dest.part"
  if [ "$pkg" = opencv-doc ]; then
    for f in "${OPENCV_PHOTOS[@]}"; do cp "$tmp/x/$sub/$f" "$dest.part/"; done
  else
    # Only the photographs (JPEG): both packages also hold PNG artwork and glyph images.
    find "$tmp/x/$sub" -type f -iname '*.jpg' -exec cp {} "$dest.part/" \;
  fi
  touch "$dest.part/.complete"
  rm -rf "$dest"
  mv "$dest.part" "$dest"
  rm -rf "$tmp"
done
