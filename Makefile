.PHONY: demo test lint generate bench bench-inprocess fuzz soak

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

# The soak: 1,000 sessions for 5 minutes against real peers through one gateway,
# an upstream restarted halfway (MCPGW_SOAK_SESSIONS, MCPGW_SOAK_SECONDS to shorten it).
soak:
	./scripts/soak.sh
