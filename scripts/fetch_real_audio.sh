#!/usr/bin/env bash
# Download the Debian packages that hold the real music and voices of the real-audio benchmark and
# training set, and extract each into DEST/<package>/ in its own layout (no root, nothing installed).
# Idempotent: a package already extracted at the same version is left alone.
#   bash scripts/fetch_real_audio.sh [DEST]      (default: data/real)
# Then: s2m corpus import debian-audio DEST --out DIR --set benchmark|train
set -euo pipefail
cd "$(dirname "$0")/.."
DEST="${1:-data/real}"
LIST="corpus/importers/debian_audio/packages.txt"
DEBS="$DEST/.debs"
mkdir -p "$DEBS"

for tool in apt-get dpkg-deb unzip; do
  command -v "$tool" >/dev/null || { echo "fetch_real_audio: $tool is needed" >&2; exit 1; }
done

while read -r package zip members; do
  [[ -z "$package" || "$package" == \#* ]] && continue
  version="$(apt-cache show --no-all-versions "$package" 2>/dev/null | sed -n 's/^Version: //p' | head -1)"
  if [ -z "$version" ]; then
    echo "fetch_real_audio: apt knows no package $package (run apt-get update)" >&2
    exit 1
  fi
  tree="$DEST/$package"
  if grep -qx "Version: $version" "$tree/.deb-control" 2>/dev/null; then
    echo "fetch_real_audio: $package $version already extracted"
    continue
  fi
  deb="$(ls "$DEBS/${package}_"*.deb 2>/dev/null | head -1 || true)"
  if [ -z "$deb" ] || [ "$(dpkg-deb -f "$deb" Version)" != "$version" ]; then
    rm -f "$DEBS/${package}_"*.deb
    (cd "$DEBS" && apt-get download -q "$package" 2>&1 | grep -v "couldn't be accessed by user '_apt'" || true)
    deb="$(ls "$DEBS/${package}_"*.deb 2>/dev/null | head -1 || true)"
    [ -n "$deb" ] || { echo "fetch_real_audio: could not download $package" >&2; exit 1; }
  fi
  echo "fetch_real_audio: extracting $package $version"
  rm -rf "$tree"
  mkdir -p "$tree"
  dpkg-deb -x "$deb" "$tree"
  if [ -n "${zip:-}" ]; then
    # Only the named members of the zip are needed; the rest (and the zip itself) would waste gigabytes.
    read -r -a globs <<< "$members"
    unzip -q -o "$tree/$zip" "${globs[@]}" -d "$(dirname "$tree/$zip")"
    rm -f "$tree/$zip"
  fi
  dpkg-deb -f "$deb" Package Version > "$tree/.deb-control"
done < "$LIST"
echo "fetch_real_audio: done; packages in $DEST ($(du -sh "$DEST" | cut -f1), downloads in $DEBS)"
