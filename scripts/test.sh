#!/usr/bin/env bash
# Runs every test: unit tests, the API suite on SQLite and on a throwaway PostgreSQL, the
# OpenAPI lint, the web console's unit tests (Vitest) and end-to-end test (Chromium against
# the console built into patron), the fuzz harnesses for a minute each, the benchmark's smoke,
# then the unit and API tests again in the ASan + UBSan build. Ends with one summary line, "tests: N passed, N failed".
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

# The console's unit tests: Vitest's "Tests  N failed | N passed" becomes the usual counts.
web_unit() {
	local out=$log_dir/web-unit.log
	if [[ ! -d web/node_modules ]]; then
		echo "web/node_modules is missing: run scripts/install-deps.sh (or npm ci in web/)" >"$out"
		cat "$out"
		count web-unit 1 "$out"
		return
	fi
	(cd web && NO_COLOR=1 CI=1 timeout 300 npx vitest run) >"$out" 2>&1
	local rc=$?
	local line p f
	line=$(grep -E '^ *Tests +' "$out" | tail -n 1)
	p=$(grep -oE '[0-9]+ passed' <<<"$line" | grep -oE '[0-9]+' || true)
	f=$(grep -oE '[0-9]+ failed' <<<"$line" | grep -oE '[0-9]+' || true)
	if ((rc != 0)); then grep -E '(FAIL|×|→|AssertionError|Error:)' "$out" | head -n 60; fi
	echo "web-unit: ${p:-0} passed, ${f:-0} failed" >>"$out"
	count web-unit "$rc" "$out"
}

# The console end to end: a fresh database, patron serve, headless Chromium. Needs a patron
# built with the console (PATRON_WEB=ON, the default) and Debian's chromium package.
web_e2e() {
	local out=$log_dir/web-e2e.log
	if grep -qE '^PATRON_WEB:BOOL=(OFF|NO|FALSE|0)$' "$build/CMakeCache.txt" 2>/dev/null; then
		echo "== web-e2e: skipped ($build was configured with PATRON_WEB=OFF: no console to test)"
		return
	fi
	if [[ ! -x /usr/bin/chromium ]]; then
		echo "web-e2e needs Chromium at /usr/bin/chromium: run scripts/install-deps.sh (apt-get install chromium)" >"$out"
		cat "$out"
		count web-e2e 1 "$out"
		return
	fi
	timeout 240 node web/tests/e2e/run.mjs --patron "$build/patron" >"$out" 2>&1
	local rc=$?
	grep -E '^(FAIL|     |e2e: took)' "$out" | head -n 60
	count web-e2e "$rc" "$out"
}

# The libFuzzer harnesses of fuzz/ (clang, ASan + UBSan): the regression inputs, then 60 s
# each from the committed corpus; scripts/fuzz.sh builds them in build-fuzz (or $FUZZ_BUILD)
# with the console as the main build has it. One count per harness.
fuzz() {
	local out=$log_dir/fuzz.log web=ON
	if grep -qE '^PATRON_WEB:BOOL=(OFF|NO|FALSE|0)$' "$build/CMakeCache.txt" 2>/dev/null; then
		web=OFF
	fi
	scripts/fuzz.sh --build "${FUZZ_BUILD:-build-fuzz}" --seconds 60 --fresh --web "$web" >"$out" 2>&1
	local rc=$?
	grep -aE '^(FAIL|fuzz_|  |==fuzz==|SUMMARY)' "$out" | head -n 60
	count fuzz "$rc" "$out"
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

web_unit
web_e2e
fuzz

# The benchmark's seconds-long smoke (bench/README.md): every tool runs against a tiny dataset.
out=$log_dir/bench.log
python3 bench/run.py --build "$build" --smoke >"$out" 2>&1
rc=$?
grep -E '^(FAIL|report)' "$out"
count bench-smoke "$rc" "$out"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
unit unit-asan "$asan"
api api-sqlite-asan "$asan/patron" sqlite --quick
api api-postgres-asan "$asan/patron" postgres --quick

echo "logs: $log_dir"
if ((failed)); then echo "failed steps: ${failures[*]}"; fi
echo "tests: $passed passed, $failed failed"
((failed == 0))
