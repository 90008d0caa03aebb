# The two commands of the README: `make demo` and `make test`. Both install what is missing.
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc)
# OFF builds patron without the web console, and without Node.js.
PATRON_WEB ?= ON

.PHONY: all deps build demo test asan unit web format clean crash bench

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPATRON_WEB=$(PATRON_WEB) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DPATRON_SANITIZE=ON \
	       -DPATRON_WEB=$(PATRON_WEB) >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)

demo: build
	@scripts/demo.sh $(BUILD)/patron

test: build asan
	@scripts/test.sh $(BUILD) $(ASAN_BUILD)

unit: build
	@cd $(BUILD) && ctest --output-on-failure

# The console alone (npm ci when needed, npm run build): web/dist, which both builds embed.
web: deps
	@cmake -DWEB=$(CURDIR)/web -DNPM=npm -DSTAMP=$(CURDIR)/web/dist/.patron-build-stamp \
	       -P cmake/build_web.cmake

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) web/dist

# Crash rounds beyond the 20 that `make test` runs: make crash ROUNDS=100
ROUNDS ?= 100
crash: build
	@PATRON_CRASH_ROUNDS=$(ROUNDS) python3 tests/api/run.py --patron $(BUILD)/patron --db sqlite -k crash
	@PATRON_CRASH_ROUNDS=$(ROUNDS) python3 tests/api/run.py --patron $(BUILD)/patron --db postgres -k crash

# The libFuzzer harnesses of fuzz/ (fuzz/README.md): built with clang, ASan and UBSan in
# build-fuzz/, each run FUZZ_SECONDS after replaying fuzz/regressions/. New inputs stay in
# build-fuzz/corpus/, crashes in build-fuzz/artifacts/. One harness: make fuzz FUZZERS=fuzz_http
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 300
FUZZERS ?=
.PHONY: fuzz
fuzz: deps
	@scripts/fuzz.sh --build $(FUZZ_BUILD) --seconds $(FUZZ_SECONDS) --web $(PATRON_WEB) $(FUZZERS)

# The benchmark (bench/README.md): 1,000,000 members, SQLite and PostgreSQL, the baselines,
# a 10-minute memory soak; the report goes to bench/results/. BENCH_ARGS=--smoke for seconds.
BENCH_ARGS ?=
bench: build
	@python3 bench/run.py --build $(BUILD) $(BENCH_ARGS)
