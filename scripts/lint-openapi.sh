#!/usr/bin/env bash
# Lints docs/openapi.yaml with the Redocly CLI pinned in tools/package-lock.json, using
# tools/redocly.yaml (recommended rules, examples checked against their schemas) and
# tools/.redocly.lint-ignore.yaml. Ends with one line: "openapi: 1 passed, 0 failed" or
# "openapi: 0 passed, 1 failed"; exits non-zero when the linter reports an error.
set -euo pipefail
cd "$(dirname "$0")/.."

spec=docs/openapi.yaml
cli=tools/node_modules/@redocly/cli/bin/cli.js

fail() {
	echo "lint-openapi: $*" >&2
	echo "openapi: 0 passed, 1 failed"
	exit 1
}

command -v node >/dev/null || fail "node is not installed (scripts/install-deps.sh installs it)"
[[ -f "$spec" ]] || fail "$spec is missing"
if [[ ! -f "$cli" ]]; then
	echo "lint-openapi: npm ci in tools/"
	(cd tools && npm ci --no-audit --no-fund --loglevel=error) || fail "npm ci in tools/ failed"
fi

# Nothing leaves the machine: no usage reports, no check for a newer version.
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true NO_COLOR=1

rc=0
out=$(node "$cli" lint --config tools/redocly.yaml --format=stylish "$spec" 2>&1) || rc=$?
# Quiet when clean; the whole report when the linter found anything.
if ((rc != 0)) || grep -qE '\b(error|warning)\b' <<<"$out"; then
	printf '%s\n' "$out"
fi
if ((rc != 0)); then
	echo "openapi: 0 passed, 1 failed"
	exit 1
fi
echo "openapi: 1 passed, 0 failed"
