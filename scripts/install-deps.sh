#!/usr/bin/env bash
# Installs what Patron needs to build and test on Debian 12. Idempotent, and quick when all is there.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(
  build-essential cmake pkg-config clang-format
  clang libclang-rt-dev
  libmicrohttpd-dev libjansson-dev libsqlite3-dev libpq-dev libsodium-dev libinih-dev libcmocka-dev
  liboath-dev libqrencode-dev
  sqlite3 postgresql python3 tzdata nodejs npm gzip chromium fonts-noto-cjk fiu-utils
)

missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# A machine that already has node and npm (e.g. from NodeSource) keeps them.
if command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=()
  for p in "${missing[@]}"; do [[ "$p" == nodejs || "$p" == npm ]] || filtered+=("$p"); done
  missing=("${filtered[@]}")
fi
if ((${#missing[@]})); then
  echo "install-deps: apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# PostgreSQL's server binaries live outside PATH on Debian; tests find them through pg_config
# or /usr/lib/postgresql/*/bin, so nothing more is needed here.

for dir in tools web; do
  if [[ -f $dir/package.json ]] && [[ ! -d $dir/node_modules || $dir/package-lock.json -nt $dir/node_modules ]]; then
    echo "install-deps: npm ci in $dir/"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    touch "$dir/node_modules"
  fi
done
