#!/usr/bin/env bash
# Install the system packages the app needs: FluidSynth's library (audio) and abcMIDI (ABC -> MIDI).
# Idempotent: does nothing when they are present. Debian/Ubuntu use apt-get; macOS uses Homebrew.
set -euo pipefail

if [[ "$(uname -s)" == "Darwin" ]]; then
  missing=()
  command -v abc2midi >/dev/null || missing+=(abcmidi)
  command -v npm >/dev/null || missing+=(node)  # vendors abcjs at install time
  command -v initdb >/dev/null || missing+=(postgresql@16)  # survey store tests
  { [[ -e "$(brew --prefix 2>/dev/null)/lib/libfluidsynth.dylib" ]] || ls /opt/homebrew/lib/libfluidsynth* /usr/local/lib/libfluidsynth* >/dev/null 2>&1; } || missing+=(fluid-synth)
  if ((${#missing[@]})); then
    command -v brew >/dev/null || { echo "Install Homebrew, then: brew install ${missing[*]}" >&2; exit 1; }
    brew install "${missing[@]}"
  fi
  exit 0
fi

packages=(libfluidsynth3 abcmidi chromium)  # chromium: the browser tests (Playwright drives it)
command -v npm >/dev/null || packages+=(npm)  # vendors abcjs (the score with a cursor) at install time
packages+=(postgresql)  # the survey store tests run against a private PostgreSQL cluster
packages+=(nginx)  # the reverse proxy in front of several app replicas (scripts/replicas.py, its test)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
((${#missing[@]})) || exit 0
if ! command -v apt-get >/dev/null; then
  echo "Please install FluidSynth's library and abcMIDI with your package manager: ${missing[*]}" >&2
  exit 1
fi
sudo=""
[[ "$(id -u)" == 0 ]] || sudo="sudo"
echo "Installing system packages: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
