# Two commands on a fresh machine: `make run` and `make test`. Each sets up
# .venv (dependencies, the service and the client, editable; the native engine,
# built from native/ with cargo) on first use.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTHON_STAMP := $(VENV)/.python-installed
# The native engine (a Rust crate, built by maturin through pip, always optimised):
# rebuilt into the venv whenever its sources change.
NATIVE_SOURCES := native/Cargo.toml native/Cargo.lock native/build.rs native/pyproject.toml \
                  native/proto/discretion.binpb $(wildcard native/src/*.rs native/src/*/*.rs)
HELM_VERSION := v4.3.2
HELM_STAMP   := $(VENV)/.helm-$(HELM_VERSION)
# The clients in other languages, and the plugins buf generates their code with (`make proto`).
TS_CLIENT    := clients/typescript
TS_STAMP     := $(TS_CLIENT)/node_modules/.installed
PROTOC_GEN_GO_VERSION      := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.2
GO_PLUGINS_STAMP := $(VENV)/.protoc-gen-go-$(PROTOC_GEN_GO_VERSION)-grpc-$(PROTOC_GEN_GO_GRPC_VERSION)
ADDR   ?= 127.0.0.1:50051
RULES  ?= rules

.PHONY: setup run test lint deploy proto golden promtool chromium clean bench fuzz chaos hostile typescript proto-baseline

setup: $(STAMP)

$(PYTHON_STAMP): pyproject.toml clients/python/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]' -e ./clients/python
	touch $(PYTHON_STAMP)

$(STAMP): $(PYTHON_STAMP) $(NATIVE_SOURCES)
	$(BIN)/python -m pip install --quiet ./native
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/discretion serve --rules $(RULES) --address $(ADDR)

# One test process per core (TEST_WORKERS=0: all in this process, in file order).
TEST_WORKERS ?= $(shell nproc 2>/dev/null || echo 2)

test: $(STAMP) $(HELM_STAMP) $(GO_PLUGINS_STAMP) typescript promtool chromium
	cargo fmt --check --manifest-path native/Cargo.toml
	cargo clippy --quiet --release --all-targets --features python --manifest-path native/Cargo.toml -- -D warnings
	cargo test --quiet --release --manifest-path native/Cargo.toml
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -n $(TEST_WORKERS)

# The TypeScript client: its packages from npm (as package-lock.json pins them), then compiled.
$(TS_STAMP): $(TS_CLIENT)/package.json $(TS_CLIENT)/package-lock.json
	cd $(TS_CLIENT) && npm ci --no-audit --no-fund --loglevel=error
	touch $(TS_STAMP)

typescript: $(TS_STAMP)
	cd $(TS_CLIENT) && node_modules/.bin/tsc -p .

# protoc-gen-go and protoc-gen-go-grpc, from the Go module proxy into the venv.
$(GO_PLUGINS_STAMP): $(PYTHON_STAMP)
	GOBIN=$(abspath $(BIN)) go install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	GOBIN=$(abspath $(BIN)) go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
	touch $(GO_PLUGINS_STAMP)

# Helm renders deploy/helm/discretion in the tests: built from the Go module proxy into the venv,
# once per version (cold: about 3 minutes and 550 MB of modules on 2 cores; Go's caches keep it after).
$(HELM_STAMP): $(PYTHON_STAMP)
	GOBIN=$(abspath $(BIN)) go install -ldflags='-s -w' helm.sh/helm/v4/cmd/helm@$(HELM_VERSION)
	touch $(HELM_STAMP)

# Tools some tests need, from Debian: installed when missing and this is root
# on a Debian system; otherwise the tests that need them are skipped, and said
# so loudly. $(call debian_tool,COMMAND,PACKAGE,WHAT IS SKIPPED)
define debian_tool
	@command -v $(1) >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "make: installing $(1) (Debian package $(2))"; \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	        $(2) >/dev/null; } || echo "make: WARNING: $(1) could not be installed: $(3) will be SKIPPED"; \
	  else \
	    echo "make: WARNING: $(1) not found (Debian package $(2)): $(3) will be SKIPPED"; \
	  fi; }
endef

# promtool checks the metrics page and tests the alert rules.
promtool:
	$(call debian_tool,promtool,prometheus,its checks)

# Chromium renders the agreement matrix page in a test.
chromium:
	$(call debian_tool,chromium,chromium,the matrix page test)

lint: $(STAMP)
	$(BIN)/discretion lint $(RULES)

# Benchmarks print their figures; nothing here asserts a time. The gRPC one
# runs Discretion beside Cerbos, which it installs from npm into a temporary
# folder; its Python messages come with the `bench` extra.
BENCH_STAMP := $(VENV)/.bench-installed

$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python benchmarks/engine_bench.py
	$(BIN)/python benchmarks/grpc_bench.py
	$(BIN)/python benchmarks/roster_bench.py

# The long fuzzing pass: FUZZ_SECONDS per target (the last holds the native engine to
# the Python one); new inputs join the corpus.
# Then the property tests again with PROPERTY_SCALE times their budget, fresh
# randomness, and the stacking property over triples of agreements.
FUZZ_SECONDS ?= 600
PROPERTY_SCALE ?= 20
fuzz: $(STAMP)
	$(BIN)/python fuzz/fuzz_rules.py fuzz/corpus/rules -max_total_time=$(FUZZ_SECONDS) -timeout=10
	$(BIN)/python fuzz/fuzz_requests.py fuzz/corpus/requests -max_total_time=$(FUZZ_SECONDS) -timeout=10
	$(BIN)/python fuzz/fuzz_native.py fuzz/corpus/native -max_total_time=$(FUZZ_SECONDS) -timeout=10
	PROPERTY_SCALE=$(PROPERTY_SCALE) $(BIN)/python -m pytest -q -p no:timeout \
	  tests/test_semantics_property.py tests/test_stacking_property.py tests/test_fail_closed_property.py

# The chaos run: CHAOS_SECONDS of load from CHAOS_CLIENTS processes on loopback while
# a rules file breaks, a worker is killed and the server is stopped; prints what was lost.
CHAOS_SECONDS ?= 60
CHAOS_CLIENTS ?= 4
chaos: $(STAMP)
	$(BIN)/python benchmarks/chaos.py --seconds $(CHAOS_SECONDS) --clients $(CHAOS_CLIENTS)

# Write deploy/'s copies of rules/ and of the alerts again (kustomize and Helm read nothing outside their
# folders; a test fails while a copy differs).
deploy: $(STAMP)
	$(BIN)/python deploy/sync.py

# Regenerate the committed stubs after editing proto/ (a test fails if they are stale).
proto: $(STAMP) $(TS_STAMP) $(GO_PLUGINS_STAMP)
	$(BIN)/python proto/generate.py

# The wire contract as clients were built against it: `buf breaking` (a test) compares proto/ with this
# image. Write it again only for a change that is meant to break them (a new major version).
proto-baseline: $(STAMP)
	cd proto && ../$(BIN)/buf build --path discretion/v1 -o discretion-v1.binpb

# Rewrite the golden files of the compiled form (tests/golden/ir) after changing
# the compiler or rules/; review their diff (a test fails while they are stale).
golden: $(STAMP)
	$(BIN)/python tests/golden/generate.py

clean:
	rm -rf $(VENV) .pytest_cache native/target $(TS_CLIENT)/node_modules $(TS_CLIENT)/dist

# Each known attack on a running server (`discretion serve --workers 2` on
# loopback, normal traffic beside it): how each was answered, worker restarts,
# peak memory per worker. Exits 1 on a crash, a restart, a late answer or a
# worker over 256 MiB. `make test` runs its short pass.
hostile: $(STAMP)
	$(BIN)/python benchmarks/hostile.py
