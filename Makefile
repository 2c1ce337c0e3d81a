.PHONY: demo test lint generate

demo:
	./scripts/demo.sh

test:
	./scripts/test.sh

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --locked -- -D warnings

generate:
	./scripts/generate.sh
