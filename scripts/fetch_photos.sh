#!/usr/bin/env bash
# Fetch real photos shipped in Debian packages into ${NPP_CACHE:-~/.cache/npp}/photos/<package>/
# (NOTES: darknet's data photos for labelled tests and evaluation; mate-backgrounds' high-resolution
# nature photos for training). Usage: bash scripts/fetch_photos.sh PACKAGE...
# Packages known here: darknet (usr/share/darknet/data), mate-backgrounds (usr/share/backgrounds/mate).
set -euo pipefail

cache="${NPP_CACHE:-$HOME/.cache/npp}"

subdir_of() {
  case "$1" in
    darknet) echo usr/share/darknet/data ;;
    mate-backgrounds) echo usr/share/backgrounds/mate ;;
    *) echo "npp: no photo source known for package $1" >&2; return 1 ;;
  esac
}

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
  # Only the photographs (JPEG): both packages also hold PNG artwork and glyph images.
  find "$tmp/x/$sub" -type f -iname '*.jpg' -exec cp {} "$dest.part/" \;
  touch "$dest.part/.complete"
  rm -rf "$dest"
  mv "$dest.part" "$dest"
  rm -rf "$tmp"
done
