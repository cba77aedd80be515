# Recipes for crunch; each is a thin wrapper over a script in tools/ (which work without just).

# Compile the bundled example world's dev environment into out/dev.
demo env="dev":
    tools/demo {{env}}

# Install the oracles and run every test.
test *args:
    tools/test {{args}}

# Benchmarks (results go to BENCHMARKS.md by hand, with the command).
bench:
    tools/oracles
    cargo bench --locked

# Format check and clippy, warnings as errors.
lint:
    cargo fmt --check
    cargo clippy --locked --workspace --all-targets -- -D warnings

# Install the differential-test oracles into .cache/oracles.
oracles:
    tools/oracles

# The real Big Bang against the helm + kustomize reference (needs TOOLS, MIRROR, HELM).
bigbang *args:
    tools/bigbang {{args}}

# Real-world conformance sweep: every chart and kustomization under DIR, crunch against
# the oracles (one line per case, then totals; see tools/sweep --help and CONFORMANCE.md).
sweep dir *args:
    tools/oracles
    cargo build --release --locked --quiet
    tools/sweep {{dir}} {{args}}
