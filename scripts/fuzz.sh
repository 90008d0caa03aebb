#!/usr/bin/env bash
# Builds the libFuzzer harnesses of fuzz/ with clang (ASan + UBSan) and runs each: first the
# inputs of fuzz/regressions/<harness>/ once, then fuzzing for a set time from the committed
# corpus fuzz/corpus/<harness>/. Ends with "fuzz: N passed, N failed", one count per harness.
#
#   scripts/fuzz.sh [--build DIR] [--seconds N] [--fresh] [--web ON|OFF] [HARNESS ...]
#
# --build   the build directory (default build-fuzz)
# --seconds fuzzing time per harness (default $FUZZ_SECONDS, else 300)
# --fresh   start from the committed corpus alone, in a scratch directory (what `make test`
#           does); without it new inputs accumulate in DIR/corpus/<harness>/
# --web     PATRON_WEB for the build (default ON: the console's files are served and fuzzed)
# A crash, a leak or a broken invariant leaves the input in DIR/artifacts/ and the log in
# DIR/logs/; fuzz/README.md says how to turn it into a regression.
set -uo pipefail
cd "$(dirname "$0")/.."

build=build-fuzz
seconds=${FUZZ_SECONDS:-300}
fresh=0
web=ON
harnesses=()
while (($#)); do
	case $1 in
	--build) build=$2; shift 2 ;;
	--seconds) seconds=$2; shift 2 ;;
	--fresh) fresh=1; shift ;;
	--web) web=$2; shift 2 ;;
	-h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
	*) harnesses+=("$1"); shift ;;
	esac
done
((${#harnesses[@]})) || harnesses=(fuzz_json fuzz_pricing fuzz_http)

passed=0
failed=0
if ! command -v clang >/dev/null; then
	echo "FAIL fuzz: clang is missing: run scripts/install-deps.sh (apt-get install clang libclang-rt-dev)"
	echo "fuzz: 0 passed, ${#harnesses[@]} failed"
	exit 1
fi

echo "fuzz: building the harnesses in $build (clang, ASan + UBSan + libFuzzer)"
mkdir -p "$build"
if ! { cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
	-DPATRON_FUZZ=ON -DPATRON_WEB="$web" >"$build/fuzz-configure.log" 2>&1 &&
	cmake --build "$build" -j "$(nproc)" --target "${harnesses[@]}" >"$build/fuzz-build.log" 2>&1; }; then
	echo "FAIL fuzz: the build failed:"
	tail -n 40 "$build/fuzz-configure.log" "$build/fuzz-build.log"
	echo "fuzz: 0 passed, ${#harnesses[@]} failed"
	exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/patron-fuzz-XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$build/artifacts" "$build/logs" "$work/tmp"
# Leaks fail a run too; UBSan stops at the first report (the build does not recover either).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# The harnesses' databases go here, and are gone with it even after a crash.
export TMPDIR=$work/tmp
common=(-timeout=10 -rss_limit_mb=2048)

for h in "${harnesses[@]}"; do
	bin=$build/$h
	log=$build/logs/$h.log
	: >"$log"
	started=$SECONDS
	dict=()
	[[ -f fuzz/$h.dict ]] && dict=(-dict="fuzz/$h.dict")

	# Every input that once failed, once each.
	regressions=()
	if [[ -d fuzz/regressions/$h ]]; then
		while IFS= read -r -d '' f; do regressions+=("$f"); done \
			< <(find "fuzz/regressions/$h" -type f -print0 | sort -z)
	fi
	if ((${#regressions[@]})) &&
		! timeout 600 "$bin" "${common[@]}" "${regressions[@]}" >>"$log" 2>&1; then
		echo "FAIL $h: a regression input fails again (log: $log)"
		grep -aE '^(==fuzz==|Running:|SUMMARY|.*ERROR:)' "$log" | tail -n 20
		failed=$((failed + 1))
		continue
	fi

	if ((fresh)); then
		corpus=$work/corpus-$h
	else
		corpus=$build/corpus/$h
	fi
	mkdir -p "$corpus"
	timeout $((seconds + 300)) "$bin" "${common[@]}" "${dict[@]}" -max_total_time="$seconds" \
		-print_final_stats=1 -artifact_prefix="$build/artifacts/$h-" \
		"$corpus" "fuzz/corpus/$h" >>"$log" 2>&1
	rc=$?
	runs=$(grep -aoE 'stat::number_of_executed_units: [0-9]+' "$log" | grep -oE '[0-9]+$' | tail -n 1)
	cov=$(grep -aoE '(DONE|pulse) +cov: [0-9]+' "$log" | grep -oE '[0-9]+$' | tail -n 1)
	if ((rc == 0)); then
		echo "$h: passed (${#regressions[@]} regression inputs, ${runs:-?} runs, coverage ${cov:-?}, $((SECONDS - started)) s)"
		passed=$((passed + 1))
	else
		artifact=$(grep -aoE "Test unit written to .*" "$log" | tail -n 1 | sed 's/Test unit written to //')
		echo "FAIL $h: exit $rc after $((SECONDS - started)) s (log: $log)"
		grep -aE '^(==fuzz==|SUMMARY|==[0-9]+==ERROR|.*runtime error:)' "$log" | head -n 10
		if [[ -n $artifact ]]; then
			echo "  input: $artifact; replay: $bin $artifact"
		fi
		failed=$((failed + 1))
	fi
done

echo "fuzz: $passed passed, $failed failed"
((failed == 0))
