#!/usr/bin/env bash
# Creates var/demo.db with the demo business if it is not there, then serves it.
set -euo pipefail
cd "$(dirname "$0")/.."
patron=${1:-build/patron}
db=var/demo.db
password=patron-demo-2026
mkdir -p var
if [[ ! -f $db ]]; then
	"$patron" init --db "sqlite:$db" --owner-password "$password" --demo
fi
cat <<MSG

Patron demo
  console and API:  http://127.0.0.1:8080   (API under /api/v1; health at /healthz)
  owner login:      owner / $password
  try:              curl -s -c /tmp/patron.cookies -H 'Content-Type: application/json' \\
                      -d '{"username":"owner","password":"$password"}' http://127.0.0.1:8080/api/v1/auth/login
Stop with Ctrl-C.

MSG
exec "$patron" serve --db "sqlite:$db" --listen 127.0.0.1:8080
