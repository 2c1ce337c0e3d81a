.PHONY: demo test lint generate bench

demo:
	./scripts/demo.sh

test:
	./scripts/test.sh

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --locked -- -D warnings

generate:
	./scripts/generate.sh

bench:
	cargo bench -p mcpgw-dataplane --bench gateway
