#!/usr/bin/env bash
# Vendor abcjs (the notation with a cursor on Compose) from the npm registry into static/vendor/, at install
# time: the app serves it itself (Streamlit's static serving, /app/static/...), so no page asks another host.
# Idempotent: does nothing when the pinned version is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
version="${1:-6.7.2}"
dest=static/vendor
[[ -f "$dest/abcjs-$version.stamp" && -f "$dest/abcjs-basic-min.js" ]] && exit 0
command -v npm >/dev/null || { echo "npm is needed once to vendor abcjs (Debian: apt-get install npm)" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "abcjs@$version" >/dev/null)
tar -xzf "$tmp/abcjs-$version.tgz" -C "$tmp"
mkdir -p "$dest"
cp "$tmp/package/dist/abcjs-basic-min.js" "$dest/abcjs-basic-min.js"
cp "$tmp/package/LICENSE.md" "$dest/abcjs-LICENSE.md"
rm -f "$dest"/abcjs-*.stamp
touch "$dest/abcjs-$version.stamp"
echo "abcjs $version vendored into $dest"
