#!/usr/bin/env bash
# Installs what media-ingest needs and is missing: npm packages, then the media tools from Debian's apt.
# Says what it does on stderr; does nothing when all is there. Used by bin/media-ingest and scripts/test.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
say() { printf 'media-ingest setup: %s\n' "$*" >&2; }

# Node 20.19+ to run npm; the project then runs on its own Node 24 (the npm package `node`, installed below).
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' || {
  say "Node.js 20.19 or newer is required (found $(node --version 2>/dev/null || echo none))."; exit 1; }

# npm packages: install when missing (the project's Node included) or when package-lock.json changed since the last install.
if [ ! -f "$ROOT/node_modules/.package-lock.json" ] || [ "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ] || [ ! -x "$ROOT/node_modules/.bin/node" ]; then
  say "installing npm packages (npm ci, exactly as package-lock.json says)…"
  (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi

# Debian packages, by the command (or file) that shows each is present.
declare -A NEED=(
  [ffmpeg]=ffmpeg [ffprobe]=ffmpeg [yt-dlp]=yt-dlp [aria2c]=aria2
  [pocketsphinx_continuous]=pocketsphinx [flite]=flite [bwrap]=bubblewrap
  [/usr/sbin/nginx]=nginx [python3]=python3
)
missing=()
for cmd in "${!NEED[@]}"; do command -v "$cmd" >/dev/null 2>&1 || missing+=("${NEED[$cmd]}"); done
[ -d /usr/share/pocketsphinx/model/en-us/en-us ] || missing+=(pocketsphinx-en-us)
if [ ${#missing[@]} -gt 0 ]; then
  pkgs=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
  if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    say "missing Debian packages: $pkgs"
    say "install them as root:  apt-get update && apt-get install -y --no-install-recommends $pkgs"
    exit 1
  fi
  if ! command -v apt-get >/dev/null; then say "missing: $pkgs — this is not a Debian/Ubuntu system; install them with your package manager."; exit 1; fi
  say "installing Debian packages: $pkgs(apt-get; a minute or two)…"
  $SUDO apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $pkgs >&2
fi
