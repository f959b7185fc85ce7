# userhub — the commands a person and CI run. Everything goes through cargo,
# so one target dir is built once and shared by every step.

CARGO ?= cargo

.PHONY: run test lint fmt doc ci

## Serve on 127.0.0.1:8080 with the embedded SQLite default (data/userhub.db).
run:
	$(CARGO) run --release -p userhub-api --bin userhub -- serve

## The whole suite: unit, property, integration and doc tests. PostgreSQL
## tests run when TEST_DATABASE_URL is set (see README).
test:
	$(CARGO) test --workspace --no-fail-fast

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

doc:
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc -p userhub-domain --no-deps

ci:
	bash .ci/run
