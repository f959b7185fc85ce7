# userhub — the commands a person and CI run. Everything goes through cargo,
# so one target dir is built once and shared by every step.

CARGO ?= cargo

.PHONY: run test lint fmt doc ci fuzz e2e bench bench-quick

## Serve on 127.0.0.1:8080 with the embedded SQLite default (data/userhub.db).
run:
	$(CARGO) run --release -p userhub-api --bin userhub -- serve

## The whole suite: unit, property, integration and doc tests. The
## PostgreSQL tests are #[ignore]d ("needs TEST_DATABASE_URL"): with
## TEST_DATABASE_URL set they run too (--include-ignored); without it they
## are listed as ignored and the run ends saying they did not run. Under
## CI=true a missing TEST_DATABASE_URL is an error. See README.
test:
ifneq ($(strip $(TEST_DATABASE_URL)),)
	$(CARGO) test --workspace --no-fail-fast -- --include-ignored
else ifeq ($(CI),true)
	@echo "make test: CI=true but TEST_DATABASE_URL is not set: the PostgreSQL tests must run in CI" >&2
	@exit 1
else
	@echo "$(CARGO) test --workspace --no-fail-fast"; \
	status=0; $(CARGO) test --workspace --no-fail-fast || status=$$?; \
	echo; \
	echo "make test: the PostgreSQL tests did NOT run (listed as ignored above): TEST_DATABASE_URL is not set."; \
	echo "make test: to run them too: TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres make test"; \
	exit $$status
endif

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

doc:
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc -p userhub-domain --no-deps

## The /docs page in a real browser (Debian's headless chromium, installed
## if missing); the screenshot goes to target/e2e/docs.png.
e2e:
	bash e2e/run.sh

ci:
	bash .ci/run

## Every fuzz target (fuzz/, cargo fuzz on the stable toolchain with
## RUSTC_BOOTSTRAP=1) for FUZZ_SECONDS each; installs cargo-fuzz if missing.
## One target: `make fuzz FUZZ_TARGETS=locale`. See README, "Fuzzing".
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash fuzz/run $(FUZZ_TARGETS)

## The benchmark (issue 13; README, "Benchmarks"): builds release, measures
## userhub on SQLite and on PostgreSQL (127.0.0.1:5432 as user postgres; its
## databases are created and dropped by the script) against references taken
## in the same run, and writes docs/benchmarks.md and docs/benchmarks/*.svg.
## Installs Debian's wrk if missing. Sizes: BENCH_LARGE (PostgreSQL),
## BENCH_LARGE_SQLITE, BENCH_SMALL. bench-quick: every scenario briefly, small
## sizes, report to target/bench/report/ (for working on the bench itself).
bench:
	bash bench/run.sh full

bench-quick:
	bash bench/run.sh quick
