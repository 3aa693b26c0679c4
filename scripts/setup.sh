#!/usr/bin/env bash
# Prepare a machine to run Sipanah: OS packages, a Python that can load SpatiaLite, the
# virtualenv in .venv with the pinned packages, and compiled translations.
# Safe to run again: every step checks first and does nothing when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

OS_PACKAGES=(gdal-bin libgdal32 libgeos-c1v5 libproj25 libsqlite3-mod-spatialite python3-gdal python3-venv gettext)
# WeasyPrint (the PDF audit report) needs Pango and a font with Indonesian glyphs.
OS_PACKAGES+=(libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core)
OS_PACKAGES+=(poppler-utils)  # pdftoppm: thumbnails of PDF documents (assets/evidence/checks.py)
OS_PACKAGES+=(chromium chromium-driver)  # headless browser tests of the maps (tests/maps/test_map_browser.py)
# npm installs axe-core (package-lock.json) for the accessibility walk (tests/a11y/test_axe.py); Debian's npm
# only when the machine has no npm of its own (a Node.js from elsewhere would conflict with it).
command -v npm >/dev/null || OS_PACKAGES+=(npm)
OS_PACKAGES+=(python3-qgis)  # QGIS headless reads the OGC API through its OAPIF provider (tests/interop/test_ogc_qgis.py)
OS_PACKAGES+=(${EXTRA_OS_PACKAGES:-})

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

missing_packages() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  echo "${missing[@]:-}"
}

install_os_packages() {
  command -v dpkg-query >/dev/null || { say "Not a Debian/Ubuntu system: install GDAL, GEOS, PROJ, SpatiaLite and Python 3.11+ with sqlite extension loading yourself."; return; }
  local missing
  missing=$(missing_packages "$@")
  [ -z "$missing" ] && return
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo"; else
      say "Missing OS packages: $missing"
      say "Install them with: sudo apt-get install -y $missing"
      exit 1
    fi
  fi
  say "Installing OS packages: $missing"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
}

# A Python of 3.11+ whose sqlite3 can load extensions (SpatiaLite) and that sees the OS GDAL
# bindings (python3-gdal, same GDAL as GeoDjango loads). pyenv builds often lack
# enable_load_extension, so Debian's /usr/bin/python3 comes first.
find_python() {
  local candidates=("${PYTHON:-}" /usr/bin/python3 /usr/bin/python3.13 /usr/bin/python3.12 /usr/bin/python3.11 python3)
  for py in "${candidates[@]}"; do
    [ -n "$py" ] && command -v "$py" >/dev/null || continue
    if "$py" - <<'PY' 2>/dev/null; then echo "$py"; return; fi
import sqlite3, sys
assert sys.version_info >= (3, 11)
sqlite3.connect(":memory:").enable_load_extension(True)
from osgeo import ogr  # noqa: F401
PY
  done
  return 1
}

install_os_packages "${OS_PACKAGES[@]}"

PY=$(find_python) || {
  say "No Python 3.11+ with SQLite extension loading and the GDAL bindings was found."
  say "On Debian/Ubuntu: sudo apt-get install python3 python3-venv python3-gdal libsqlite3-mod-spatialite"
  say "Elsewhere: set PYTHON=/path/to/python3 (built with --enable-loadable-sqlite-extensions, with osgeo importable)."
  exit 1
}

stamp=".venv/.sipanah-lock"
want="$(sha256sum requirements.lock | cut -d' ' -f1) $("$PY" -c 'import sys; print(sys.version.split()[0])')"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x .venv/bin/python ]; then
  :
else
  if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sqlite3; sqlite3.connect(":memory:").enable_load_extension(True)' 2>/dev/null; then
    say "Creating .venv with $PY"
    rm -rf .venv
    "$PY" -m venv --system-site-packages .venv
  fi
  say "Installing pinned Python packages (requirements.lock)"
  .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.lock
  echo "$want" > "$stamp"
fi

# Translations: compile when a .po is newer than its .mo.
for po in locale/*/LC_MESSAGES/django.po; do
  [ -f "$po" ] || continue
  mo="${po%.po}.mo"
  if [ ! -f "$mo" ] || [ "$po" -nt "$mo" ]; then msgfmt --check -o "$mo" "$po"; fi
done

# Development tools from npm (package-lock.json, pinned): axe-core for tests/a11y. Node/npm come from the OS
# packages above (Debian's npm) unless the machine already has them.
if command -v npm >/dev/null; then
  lock_stamp="node_modules/.sipanah-lock"
  want_npm=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [ ! -f "$lock_stamp" ] || [ "$(cat "$lock_stamp")" != "$want_npm" ]; then
    say "Installing pinned npm packages (package-lock.json)"
    npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
    echo "$want_npm" > "$lock_stamp"
  fi
fi
