#!/usr/bin/env bash
# Runs every test: unit tests, the API suite on SQLite and on a throwaway PostgreSQL, the
# OpenAPI lint, then the unit and API tests again in the ASan + UBSan build. Ends with one
# summary line, "tests: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
asan=${2:-build-asan}
passed=0
failed=0
failures=()
log_dir=$(mktemp -d /tmp/patron-test-XXXXXX)
pg_dir=$(mktemp -d /tmp/patron-pg-XXXXXX)

cleanup() {
	tests/api/pg.sh stop "$pg_dir" >/dev/null 2>&1 || true
	rm -rf "$pg_dir"
}
trap cleanup EXIT

# Adds a step's "N passed, N failed" counts to the totals.
count() {
	local name=$1 rc=$2 out=$3 line p f
	line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
	if [[ -n $line ]]; then
		p=$(grep -oE '[0-9]+ passed' <<<"$line" | grep -oE '[0-9]+')
		f=$(grep -oE '[0-9]+ failed' <<<"$line" | grep -oE '[0-9]+')
	else
		p=0
		f=1
	fi
	if ((rc != 0 && f == 0)); then f=1; fi
	passed=$((passed + p))
	failed=$((failed + f))
	if ((f)); then failures+=("$name"); fi
	echo "== $name: $p passed, $f failed"
}

# Unit tests through ctest; cmocka's summaries give the counts.
unit() {
	local name=$1 dir=$2 out=$log_dir/$1.log
	(cd "$dir" && PATRON_TEST_PG_URL=${pg_url:-} ctest --output-on-failure -V) >"$out" 2>&1
	local rc=$?
	local p f
	p=$(sed -nE 's/.*\[  PASSED  \] ([0-9]+) test.*/\1/p' "$out" | awk '{s+=$1} END {print s+0}')
	f=$(sed -nE 's/.*\[  FAILED  \] ([0-9]+) test.*/\1/p' "$out" | awk '{s+=$1} END {print s+0}')
	if ((rc != 0)); then tail -n 60 "$out"; fi
	echo "unit: $p passed, $f failed" >>"$out"
	count "$name" "$rc" "$out"
}

api() {
	local name=$1 patron=$2 db=$3
	shift 3
	local out=$log_dir/$name.log
	PATRON_TEST_PG_URL=${pg_url:-} python3 tests/api/run.py --patron "$patron" --db "$db" "$@" >"$out" 2>&1
	local rc=$?
	grep -E '^(FAIL|    )' "$out" | head -n 200
	count "$name" "$rc" "$out"
}

echo "== starting a throwaway PostgreSQL"
pg_url=$(tests/api/pg.sh start "$pg_dir") || { echo "cannot start PostgreSQL"; exit 1; }

unit unit "$build"
api api-sqlite "$build/patron" sqlite
api api-postgres "$build/patron" postgres

out=$log_dir/openapi.log
scripts/lint-openapi.sh >"$out" 2>&1
rc=$?
if ((rc != 0)); then tail -n 40 "$out"; fi
count openapi "$rc" "$out"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
unit unit-asan "$asan"
api api-sqlite-asan "$asan/patron" sqlite --quick
api api-postgres-asan "$asan/patron" postgres --quick

echo "logs: $log_dir"
if ((failed)); then echo "failed steps: ${failures[*]}"; fi
echo "tests: $passed passed, $failed failed"
((failed == 0))
