.PHONY: demo test lint generate bench bench-inprocess fuzz

demo:
	./scripts/demo.sh

test:
	./scripts/test.sh

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --locked -- -D warnings

generate:
	./scripts/generate.sh

# Each cargo-fuzz target for MCPGW_FUZZ_SECONDS (default 30) seconds.
fuzz:
	./scripts/fuzz.sh

# The benchmark of record: upstream, bare hop and gateway as processes, driven by wrk.
bench:
	./scripts/bench.sh

# The in-process benchmark (one process, threads per role): for profiling, and
# for what only it measures (memory per session, reload, sealing, JWT, TLS, cache).
bench-inprocess:
	cargo bench -p mcpgw-dataplane --bench gateway
