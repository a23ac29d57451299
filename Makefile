# The two quick-start commands and what they are made of. Every target installs what it
# needs (the venv with moto, cargo-lambda, SAM CLI and cfn-lint) through scripts/venv.sh.

VENV ?= .venv
export SAM_CLI_TELEMETRY = 0

.PHONY: demo test build build-check deploy-check release release-check rules venv checkov-venv fmt-check lint workspace-build cargo-test member template-check checkov asl-check policy-check fuzz reliability-report fault-tuning bench bench-reconcile

## Run the product locally end to end on moto: replay events/ through the real functions.
demo:
	scripts/demo.sh

## Every check CI runs: formatting, clippy, all tests (unit, moto, built binary), template,
## state machine definitions, least privilege, and the deploy build.
# The two Python environments install (mostly downloads) beside the workspace's build, which
# is clippy's check as well (workspace-build).
test: fmt-check
	$(MAKE) -j3 venv checkov-venv workspace-build
	$(MAKE) cargo-test template-check checkov asl-check policy-check release-check fuzz reliability-report

## sam build: every function as a release arm64 bootstrap, through cargo-lambda and zig.
## One cargo-lambda build of all the binaries first, so their LTO links run in parallel and
## sam's per-function builds (same tool, same flags) find them up to date.
# The command-line program is left out: its features (SSO credentials) are a person's, not
# a function's, and a build of both together would give them to the functions too.
FUNCTION_BUILD = cargo lambda build --release --arm64 --workspace --exclude ecs-warden-cli --bins --locked
build: venv
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(FUNCTION_BUILD)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" sam build

venv:
	scripts/venv.sh

fmt-check:
	cargo fmt --all -- --check

# The fuzz crate is not linted on its own (that would check the SDK once more in its own
# target directory): its property, fuzz/properties/parsers.rs, is part of the library's
# tests, and its entry point is three lines.
lint:
	cargo clippy --workspace --all-targets -- -D warnings

# One build for everything: `--all-targets` resolves the features `cargo test` does, so the
# function binaries the slow tests run are built with the tests' SDK, not a second one.
#
# The same build is clippy's check: clippy's driver compiles the workspace's own crates, as
# `cargo clippy` has it do (RUSTC_WORKSPACE_WRAPPER, and its arguments in CLIPPY_ARGS), so
# its lints run on exactly what `make lint` checks, every warning an error, while the AWS
# SDK is compiled once rather than checked once more for clippy alone (3 minutes on a
# 2-core machine). cargo-test builds with the same two variables, or it would compile the
# workspace's crates again.
CLIPPY_DRIVER = $(shell command -v clippy-driver)
workspace-build cargo-test: export RUSTC_WORKSPACE_WRAPPER = $(CLIPPY_DRIVER)
workspace-build cargo-test: export CLIPPY_ARGS = -D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__
workspace-build:
	@test -n "$(CLIPPY_DRIVER)" || { echo "clippy-driver not found: rustup component add clippy" >&2; exit 1; }
	cargo build --workspace --all-targets

# The unit and library tests, and the integration tests in two processes side by side
# (scripts/integration_tests.sh), the first taking the modules in IT_FIRST: about half of
# the suite's time each. The harness leaves each function's AWS calls in target/aws-calls
# for policy-check, and the bad-input tests their tallies in target/reliability.
IT_FIRST = access_doctor:: built_binary:: concurrency:: contract:: deadlines:: ecs_role_guard:: faults:: notifications:: organization:: reconcile:: role_drift_guard::
cargo-test: export WARDEN_SLOW_TESTS = 1
cargo-test: export WARDEN_CALLS_DIR = $(CURDIR)/target/aws-calls
cargo-test: export WARDEN_RELIABILITY_DIR = $(CURDIR)/target/reliability
cargo-test: venv workspace-build
	rm -rf target/aws-calls target/reliability
	cargo test --workspace --lib --bin ecs-warden --test library
	cargo test --workspace --doc
	scripts/integration_tests.sh $(IT_FIRST)

## A short libFuzzer run over every parser (fuzz/fuzz_targets/parsers.rs), from the corpus
## in fuzz/corpus/parsers (the sample events); cargo fuzz on stable, without a sanitizer.
ROUNDS ?= 3
FUZZ_SECONDS ?= 60
fuzz:
	command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --version 0.13.2
	mkdir -p target/reliability target/fuzz-corpus
	# New inputs go to target/fuzz-corpus (libFuzzer writes to the first directory), so a
	# run reads the kept corpus without growing it.
	cd fuzz && cargo fuzz run -s none parsers ../target/fuzz-corpus corpus/parsers -- -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
		2>&1 | tee ../target/reliability/fuzz.log | grep -E "^(Done|stat::|==|SUMMARY)" || true
	@grep -q "^Done" target/reliability/fuzz.log || { tail -40 target/reliability/fuzz.log; exit 1; }

## One line that sums up the reliability checks this run made.
reliability-report:
	scripts/reliability_report.py target/reliability

## sam build must give every function of the template its arm64 bootstrap.
build-check: build
	$(VENV)/bin/python scripts/check_build.py

# What `make test` (so CI) checks of the deploy build: the same sources, target, tools and
# template built by sam build into an arm64 bootstrap per function, without the release
# profile's optimization. How the shipped binaries are optimized (`opt-level = "s"`, fat
# LTO over one codegen unit: `make build`, their sizes in docs/deploy.md, their cold
# starts in `make bench`) changes how the code runs, not whether it builds and packages,
# and it was 12 of CI's 30 minutes on a 2-core machine: the six LTO links, and every
# dependency optimized for arm64.
deploy-check: export CARGO_PROFILE_RELEASE_LTO = off
deploy-check: export CARGO_PROFILE_RELEASE_CODEGEN_UNITS = 16
deploy-check: export CARGO_PROFILE_RELEASE_OPT_LEVEL = 0
deploy-check: build
	$(VENV)/bin/python scripts/check_build.py

VERSION = $(shell python3 -c 'import tomllib; print(tomllib.load(open("Cargo.toml", "rb"))["workspace"]["package"]["version"])')

## A release in dist/<version>/ (the version is Cargo.toml's workspace.package.version):
## the functions' arm64 zips and a template that deploys them with no build
## (sam deploy --template-file dist/<version>/template.yaml --resolve-s3), member.yaml, the
## command-line program for Linux x86_64 and aarch64, SHA256SUMS; then checked. cargo lambda
## builds the program too (with zig, for either architecture), each into a directory of its
## own: it names every binary `bootstrap`.
release: venv
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(FUNCTION_BUILD) --output-format zip
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" cargo lambda build --release --arm64 -p ecs-warden-cli --locked --lambda-dir target/programs/aarch64
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" cargo lambda build --release --x86-64 -p ecs-warden-cli --locked --lambda-dir target/programs/x86_64
	$(VENV)/bin/python scripts/release.py assemble --programs
	$(VENV)/bin/python scripts/release.py check dist/$(VERSION)

# What CI checks of a release: the deploy check's arm64 build (above: the same sources and
# tools, unoptimized) zipped and assembled as make release assembles it, without the
# command-line programs (their cross builds are make release's alone), then the same
# check: the template names only files of the release, sam validate --lint accepts it,
# every zip holds an arm64 bootstrap, SHA256SUMS holds.
release-check: export CARGO_PROFILE_RELEASE_LTO = off
release-check: export CARGO_PROFILE_RELEASE_CODEGEN_UNITS = 16
release-check: export CARGO_PROFILE_RELEASE_OPT_LEVEL = 0
release-check: deploy-check
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(FUNCTION_BUILD) --output-format zip
	$(VENV)/bin/python scripts/release.py assemble
	$(VENV)/bin/python scripts/release.py check dist/$(VERSION)

## parliament on every inline policy, ecs-warden's own least-privilege rules, and each
## function's calls in the tests against what its policy grants.
policy-check: venv cargo-test
	$(VENV)/bin/python scripts/check_policies.py --calls target/aws-calls

## shared/src/handlers/rules.json, the template's rules as ecs-warden replay routes by them.
rules: venv
	$(VENV)/bin/python scripts/rule_table.py

## member.yaml, the spoke of a hub deployment, generated from template.yaml.
member: venv
	$(VENV)/bin/python scripts/member_template.py

template-check: venv
	$(VENV)/bin/cfn-lint template.yaml member.yaml
	$(VENV)/bin/python scripts/member_template.py --check
	$(VENV)/bin/python scripts/rule_table.py --check
	$(VENV)/bin/python scripts/release.py --check-version
	AWS_DEFAULT_REGION=us-east-1 $(VENV)/bin/sam validate --lint --region us-east-1

checkov-venv:
	scripts/venv.sh .venv-checkov scripts/checkov-requirements.txt

## checkov's security checks on the template; the skips and their reasons are in
## scripts/checkov.yaml.
checkov: checkov-venv
	.venv-checkov/bin/checkov -f template.yaml -f member.yaml --config-file scripts/checkov.yaml

# cfn-lint does not read a DefinitionUri's ASL: a real validator (npm asl-validator, pinned
# in scripts/asl/package-lock.json) does.
asl-check:
	npm ci --prefix scripts/asl --no-audit --no-fund --loglevel=error
	for asl in statemachine/*.asl.json; do scripts/asl/node_modules/.bin/asl-validator --json-path $$asl || exit 1; done

## The retry policies compared under the fault tests' 20 % of faulted requests: the
## retry figures in docs/reliability.md.
fault-tuning: venv
	$(VENV)/bin/python scripts/fault_tuning.py $(ROUNDS)

## The benchmark the README's performance table quotes: release binaries under a local
## Lambda Runtime API against moto, beside a Python boto3 handler.
bench: venv
	$(VENV)/bin/python scripts/bench.py

## The reconcile benchmark docs/performance.md quotes: 3 regions x 20 clusters x 10 services on moto.
bench-reconcile: venv
	cargo test --release -p warden-tests --test it reconcile::bench -- --ignored --nocapture
